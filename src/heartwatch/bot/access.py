"""Which chats may query the bot: TELEGRAM_ALLOWED_CHAT_IDS, else TELEGRAM_CHAT_ID."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AllowedChats:
    """Chat ids (`-1001234`) and public usernames (`@ops_channel`) that may query."""

    ids: frozenset[int]
    usernames: frozenset[str]
    setting: str | None  # as configured, for /start to say what to add to

    @classmethod
    def parse(cls, allowed: str | None, alerts_chat: str | None) -> AllowedChats:
        setting = allowed if allowed is not None else alerts_chat
        ids: set[int] = set()
        usernames: set[str] = set()
        for entry in (setting or "").replace(" ", ",").split(","):
            # The alerts chat may name a topic too (`-100123:7`); the chat is what counts.
            entry = entry.strip().split(":", 1)[0]
            if entry.startswith("@") and len(entry) > 1:
                usernames.add(entry[1:].lower())
            elif entry.lstrip("-").isdigit():
                ids.add(int(entry))
        return cls(frozenset(ids), frozenset(usernames), setting or None)

    def allows(self, chat_id: int, username: str | None) -> bool:
        if chat_id in self.ids:
            return True
        return username is not None and username.lower() in self.usernames

    def migrated(self, old_id: int, new_id: int) -> AllowedChats:
        """A group that became a supergroup has a new id: the old one's permission
        carries over (Telegram tells the bot of the move)."""
        if old_id not in self.ids:
            return self
        return AllowedChats(self.ids | {new_id}, self.usernames, self.setting)
