"""A fake Telegram Bot API on 127.0.0.1 that speaks the real wire format.

    async with FakeTelegram() as telegram:          # or the `fake_telegram` fixture
        notifier = TelegramNotifier(telegram.api_url)
        ... send with bot_token=telegram.token ...
        assert telegram.sent[0].plain_text == "payments is DOWN\\n..."

What it does like the real one:

- `POST` or `GET` `/bot<token>/<method>`, parameters in the query string, a JSON body,
  or a form (urlencoded or multipart); method names are case-insensitive.
- Answers `{"ok": true, "result": ...}` or `{"ok": false, "error_code": N,
  "description": "..."}` (plus `parameters.retry_after` on 429) with the same HTTP status;
  a malformed token is 404, an unknown one 401.
- `sendMessage` checks `chat_id` and `text`, parses `parse_mode="HTML"` as strictly as
  Telegram (unsupported or unclosed tags are a 400 "can't parse entities"), refuses a text
  over 4096 UTF-16 units after parsing, and records what a user would see
  (`plain_text`) and the entities (bold, text_link, ...).
- `getUpdates` with `offset` (confirms earlier updates; negative counts from the end),
  `limit` and `timeout` (a long poll that returns as soon as an update arrives), and 409
  Conflict when a second poller takes over. Tests inject incoming updates with
  `user_message()` or `add_update()`.
- `getMe`, `deleteWebhook`, `getWebhookInfo`, `setMyCommands`.
- Inline buttons: `press_button()` injects the `callback_query` of a user pressing one of
  a sent message's buttons; `answerCallbackQuery` (recorded in `callback_answers`) and
  `editMessageText` (recorded in `edits`, the message's text replaced) answer it.
  `wait_for(condition)` waits for any such effect.

Failures to inject: `fail_next(n, status=429, retry_after=5)`, `fail_next(n, status=500)`
(502/504 answer nginx's HTML page, as the real front end does), `delay_next(n, seconds)`,
and `per_chat_limit=(20, 60.0)` for Telegram's own flood control.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Final

import pytest
from aiohttp import web

from tests.fakes.net import LocalServer

DEFAULT_TOKEN: Final = "123456789:AAHfakeTokenForHeartwatchTests_abcdefg"
MAX_TEXT_UNITS: Final = 4096
_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]{10,}")
_TAG = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[A-Za-z-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))*)\s*/?>"
)
_ATTR = re.compile(r"([A-Za-z-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]+|#x[0-9A-Fa-f]+);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "blockquote": "blockquote",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "tg-emoji": "custom_emoji",
}
_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
}
_NGINX = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)


class ApiError(Exception):
    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


@dataclass(frozen=True)
class Call:
    """One request as the fake saw it, whatever it answered."""

    method: str
    token: str
    params: dict[str, Any]
    content_type: str
    status: int
    at: float  # time.monotonic()


@dataclass(frozen=True)
class SentMessage:
    message_id: int
    chat_id: int | str
    text: str  # as sent, markup included
    plain_text: str  # what the user sees
    entities: list[dict[str, Any]]
    parse_mode: str | None
    message_thread_id: int | None
    disable_web_page_preview: bool | None
    params: dict[str, Any]
    at: float  # time.monotonic()

    def entities_of(self, kind: str) -> list[str]:
        """The visible text of each entity of that type ("bold", "text_link", ...)."""
        units = self.plain_text.encode("utf-16-le")
        return [
            units[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
            for e in self.entities
            if e["type"] == kind
        ]


@dataclass
class _Fault:
    remaining: int
    method: str | None
    status: int | None = None
    retry_after: int | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None
    delay: float = 0.0


@dataclass
class _Poll:
    generation: int
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class FakeTelegram(LocalServer):
    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        username: str = "heartwatch_test_bot",
        chats: set[int | str] | None = None,
        per_chat_limit: tuple[int, float] | None = None,
    ) -> None:
        self.token = token
        self.tokens = {token}
        self.username = username
        # Chats the bot may write to; None: any.
        self.chats = chats
        # (messages, seconds): more to one chat within the window is a 429.
        self.per_chat_limit = per_chat_limit
        self.calls: list[Call] = []
        self.sent: list[SentMessage] = []
        self.commands: list[dict[str, Any]] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.edits: list[SentMessage] = []
        self.api_url = ""
        self._faults: list[_Fault] = []
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 100_000
        self._next_message_id = 1
        self._poll: _Poll | None = None
        self._sent_event = asyncio.Event()
        self._called = asyncio.Event()
        self._poll_generation = 0
        self._closing = False
        self._sent_times: dict[str, deque[float]] = defaultdict(deque)

    # ---- lifecycle -------------------------------------------------------------------

    async def start(self) -> FakeTelegram:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self.api_url = await self._serve(app)
        return self

    async def close(self) -> None:
        self._closing = True
        self._wake_pollers()
        await super().close()

    # ---- what tests inject -----------------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = 500,
        retry_after: int | None = None,
        description: str | None = None,
        parameters: dict[str, Any] | None = None,
        method: str | None = None,
    ) -> None:
        """The next `n` calls (of `method`, or of any method) answer `status`. A 429
        carries `parameters.retry_after`; 502 and 504 are nginx's HTML page."""
        if status == 429 and retry_after is None:
            retry_after = 1
        self._faults.append(
            _Fault(n, _lower(method), status, retry_after, description, parameters=parameters)
        )

    def rate_limit_next(self, n: int = 1, *, retry_after: int, method: str | None = None) -> None:
        self.fail_next(n, status=429, retry_after=retry_after, method=method)

    def delay_next(self, n: int = 1, *, seconds: float, method: str | None = None) -> None:
        """The next `n` calls answer normally, but only after `seconds`."""
        self._faults.append(_Fault(n, _lower(method), delay=seconds))

    def add_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an incoming update (its `update_id` is assigned) for getUpdates."""
        update = {"update_id": self._next_update_id, **update}
        self._next_update_id += 1
        self._updates.append(update)
        self._wake_pollers()
        return update

    def user_message(
        self,
        text: str,
        *,
        chat_id: int = 424242,
        user_id: int = 424242,
        username: str = "alice",
        chat_type: str = "private",
    ) -> dict[str, Any]:
        """A user writes `text` to the bot (a /command gets its bot_command entity)."""
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat.update(first_name=username.title(), username=username)
        else:
            chat["title"] = "Ops"
        message: dict[str, Any] = {
            "message_id": self._take_message_id(),
            "from": {
                "id": user_id,
                "is_bot": False,
                "first_name": username.title(),
                "username": username,
                "language_code": "en",
            },
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        command = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
        if command:
            message["entities"] = [
                {"offset": 0, "length": len(command.group(0)), "type": "bot_command"}
            ]
        return self.add_update({"message": message})

    def press_button(
        self,
        message: SentMessage,
        callback_data: str,
        *,
        user_id: int = 424242,
        username: str = "alice",
        sent_at: int | None = None,
    ) -> dict[str, Any]:
        """A user presses the button with `callback_data` under `message` (sent at
        `sent_at`, a Unix time; default now)."""
        buttons = [
            b
            for row in (message.params.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row
        ]
        if not any(b.get("callback_data") == callback_data for b in buttons):
            raise AssertionError(f"no button {callback_data!r} under that message")
        chat_id = message.chat_id
        chat: dict[str, Any] = {"id": chat_id, "type": "private" if int(chat_id) > 0 else "group"}
        user = {
            "id": user_id,
            "is_bot": False,
            "first_name": username.title(),
            "username": username,
        }
        return self.add_update(
            {
                "callback_query": {
                    "id": str(self._take_message_id()),
                    "from": user,
                    "chat_instance": "1",
                    "data": callback_data,
                    "message": {
                        "message_id": message.message_id,
                        "from": {
                            "id": int(self.token.split(":")[0]),
                            "is_bot": True,
                            "first_name": "Heartwatch Test",
                            "username": self.username,
                        },
                        "chat": chat,
                        "date": sent_at if sent_at is not None else int(time.time()),
                        "text": message.plain_text,
                        **({"entities": message.entities} if message.entities else {}),
                    },
                }
            }
        )

    # ---- what tests read -------------------------------------------------------------

    def messages_to(self, chat_id: int | str) -> list[SentMessage]:
        return [m for m in self.sent if str(m.chat_id) == str(chat_id)]

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method.lower()]

    async def wait_for_sent(self, count: int, within: float = 5.0) -> list[SentMessage]:
        """Wait until at least `count` messages were sent; all of them."""
        async with asyncio.timeout(within):
            while len(self.sent) < count:
                self._sent_event.clear()
                await self._sent_event.wait()
        return list(self.sent)

    async def wait_for(self, condition: Callable[[], bool], within: float = 5.0) -> None:
        """Wait until `condition()` holds (checked after every call the fake answers)."""
        async with asyncio.timeout(within):
            while not condition():
                self._called.clear()
                await self._called.wait()

    # ---- the API ---------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"].lower()
        params = await _params(request)
        status = 200
        try:
            if not _TOKEN.fullmatch(token):
                raise ApiError(404, "Not Found")
            if token not in self.tokens:
                raise ApiError(401, "Unauthorized")
            fault = self._take_fault(method)
            if fault is not None and fault.delay:
                await asyncio.sleep(fault.delay)
            if fault is not None and fault.status is not None:
                status = fault.status
                return _fault_response(fault)
            result = await self._call(method, params)
            return _ok(result)
        except ApiError as exc:
            status = exc.status
            return _error(exc.status, exc.description, exc.parameters)
        finally:
            self.calls.append(
                Call(method, token, params, request.content_type, status, time.monotonic())
            )
            self._called.set()

    async def _call(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getme":
            return {
                "id": int(self.token.split(":")[0]),
                "is_bot": True,
                "first_name": "Heartwatch Test",
                "username": self.username,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if method == "sendmessage":
            return self._send_message(params)
        if method == "getupdates":
            return await self._get_updates(params)
        if method == "deletewebhook":
            if _bool(params.get("drop_pending_updates")):
                self._updates.clear()
            return True
        if method == "getwebhookinfo":
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        if method == "answercallbackquery":
            if not params.get("callback_query_id"):
                raise ApiError(400, "Bad Request: query is too old and response timeout expired")
            self.callback_answers.append(params)
            return True
        if method == "editmessagetext":
            return self._edit_message(params)
        if method == "setmycommands":
            commands = _json_param(params.get("commands"))
            if not isinstance(commands, list):
                raise ApiError(400, "Bad Request: commands must be an array")
            self.commands = commands
            return True
        raise ApiError(404, "Not Found")

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _chat_id(params.get("chat_id"))
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if self.chats is not None and chat_id not in self.chats:
            raise ApiError(400, "Bad Request: chat not found")
        parse_mode = params.get("parse_mode") or None
        if parse_mode is None or parse_mode.lower() in ("markdown", "markdownv2"):
            plain, entities = text, list[dict[str, Any]]()
        elif parse_mode.lower() == "html":
            plain, entities = parse_html(text)
        else:
            raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode!r}")
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _units(plain) > MAX_TEXT_UNITS:
            raise ApiError(400, "Bad Request: message is too long")
        thread = params.get("message_thread_id")
        thread_id = _int(thread, "message_thread_id") if thread is not None else None
        self._flood_control(str(chat_id))
        message_id = self._take_message_id()
        preview = params.get("disable_web_page_preview")
        self.sent.append(
            SentMessage(
                message_id=message_id,
                chat_id=chat_id,
                text=text,
                plain_text=plain,
                entities=entities,
                parse_mode=parse_mode,
                message_thread_id=thread_id,
                disable_web_page_preview=None if preview is None else _bool(preview),
                params=params,
                at=time.monotonic(),
            )
        )
        self._sent_event.set()
        chat: dict[str, Any] = {"id": chat_id if isinstance(chat_id, int) else -100_123}
        if isinstance(chat_id, str):
            chat.update(type="channel", title=chat_id[1:], username=chat_id[1:])
        else:
            chat["type"] = "private" if chat_id > 0 else "supergroup"
        result: dict[str, Any] = {
            "message_id": message_id,
            "from": {
                "id": int(self.token.split(":")[0]),
                "is_bot": True,
                "first_name": "Heartwatch Test",
                "username": self.username,
            },
            "chat": chat,
            "date": int(time.time()),
            "text": plain,
        }
        if entities:
            result["entities"] = entities
        if thread_id is not None:
            result.update(message_thread_id=thread_id, is_topic_message=True)
        return result

    def _edit_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _chat_id(params.get("chat_id"))
        message_id = _int(params.get("message_id"), "message_id")
        found = [
            m for m in self.sent if str(m.chat_id) == str(chat_id) and m.message_id == message_id
        ]
        if not found:
            raise ApiError(400, "Bad Request: message to edit not found")
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        mode = (params.get("parse_mode") or "").lower()
        plain, entities = parse_html(text) if mode == "html" else (text, [])
        if _units(plain) > MAX_TEXT_UNITS:
            raise ApiError(400, "Bad Request: message is too long")
        edited = SentMessage(
            message_id=message_id,
            chat_id=chat_id,
            text=text,
            plain_text=plain,
            entities=entities,
            parse_mode=params.get("parse_mode") or None,
            message_thread_id=found[-1].message_thread_id,
            disable_web_page_preview=found[-1].disable_web_page_preview,
            params=params,
            at=time.monotonic(),
        )
        self.edits.append(edited)
        self._sent_event.set()
        return {
            "message_id": message_id,
            "chat": {"id": chat_id, "type": "private"},
            "date": int(time.time()),
            "text": plain,
        }

    def _flood_control(self, chat: str) -> None:
        if self.per_chat_limit is None:
            return
        limit, window = self.per_chat_limit
        now = time.monotonic()
        times = self._sent_times[chat]
        while times and times[0] <= now - window:
            times.popleft()
        if len(times) >= limit:
            wait = max(1, math.ceil(times[0] + window - now))
            raise ApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
        times.append(now)

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = _int(params.get("offset", 0), "offset")
        limit = min(max(_int(params.get("limit", 100), "limit"), 1), 100)
        timeout = max(_int(params.get("timeout", 0), "timeout"), 0)
        allowed = _json_param(params.get("allowed_updates"))
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        # A newer poll ends the one still waiting, which answers 409: one bot, one poller.
        self._poll_generation += 1
        poll = _Poll(self._poll_generation)
        if self._poll is not None:
            self._poll.wake.set()
        self._poll = poll
        deadline = time.monotonic() + timeout
        while True:
            if self._poll is not poll:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only "
                    "one bot instance is running",
                )
            ready = [u for u in self._updates if _wanted(u, allowed)]
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or self._closing:
                if self._poll is poll:
                    self._poll = None
                return ready[:limit]
            poll.wake.clear()
            try:
                async with asyncio.timeout(remaining):
                    await poll.wake.wait()
            except TimeoutError:
                pass

    def _wake_pollers(self) -> None:
        if self._poll is not None:
            self._poll.wake.set()

    def _take_fault(self, method: str) -> _Fault | None:
        for fault in self._faults:
            if fault.remaining > 0 and fault.method in (None, method):
                fault.remaining -= 1
                return fault
        return None

    def _take_message_id(self) -> int:
        self._next_message_id += 1
        return self._next_message_id


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    """A started fake Bot API; `.api_url` for NotifyContext, `.token` for the settings."""
    async with FakeTelegram() as telegram:
        yield telegram


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's HTML parse mode: the visible text and its entities (offsets and
    lengths in UTF-16 units); ApiError for markup Telegram refuses."""
    out: list[str] = []
    open_tags: list[tuple[str, int, dict[str, str]]] = []
    entities: list[dict[str, Any]] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "<":
            tag = _TAG.match(text, pos)
            where = len(text[:pos].encode())
            if tag is None:
                raise ApiError(
                    400,
                    f"Bad Request: can't parse entities: Unsupported start tag at byte "
                    f"offset {where}",
                )
            closing, name = tag.group(1) == "/", tag.group(2).lower()
            if name not in _ENTITY_TYPES:
                raise ApiError(
                    400,
                    f'Bad Request: can\'t parse entities: Unsupported start tag "{name}" at '
                    f"byte offset {where}",
                )
            if closing:
                if not open_tags or open_tags[-1][0] != name:
                    raise ApiError(
                        400,
                        f"Bad Request: can't parse entities: Unmatched end tag at byte offset "
                        f'{where}, expected "</{open_tags[-1][0] if open_tags else ""}>", '
                        f'found "</{name}>"',
                    )
                opened, start, attrs = open_tags.pop()
                entity: dict[str, Any] = {
                    "type": _ENTITY_TYPES[opened],
                    "offset": start,
                    "length": _units("".join(out)) - start,
                }
                if opened == "a":
                    href = attrs.get("href", "")
                    if not href.startswith(("http://", "https://", "tg://", "mailto:")):
                        raise ApiError(400, "Bad Request: can't parse entities: wrong URL host")
                    entity["url"] = href
                if entity["length"] > 0:
                    entities.append(entity)
            else:
                attrs = {
                    m.group(1).lower(): _unescape(m.group(2) or m.group(3) or m.group(4) or "")
                    for m in _ATTR.finditer(tag.group(3))
                }
                open_tags.append((name, _units("".join(out)), attrs))
            pos = tag.end()
        elif char == "&":
            entity_ref = _ENTITY.match(text, pos)
            if entity_ref is None:
                out.append("&")  # a bare & is text, as in Telegram
                pos += 1
            else:
                out.append(_unescape(entity_ref.group(0)))
                pos = entity_ref.end()
        else:
            out.append(char)
            pos += 1
    if open_tags:
        raise ApiError(
            400,
            f"Bad Request: can't parse entities: Can't find end tag corresponding to start "
            f'tag "{open_tags[-1][0]}"',
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("#x"):
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
        return _NAMED[name]

    return _ENTITY.sub(one, text)


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


async def _params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body = await request.read()
        if body:
            try:
                data = json.loads(body)
            except ValueError:
                data = None
            if isinstance(data, dict):
                params.update(data)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


def _chat_id(value: Any) -> int | str:
    if value is None or value == "":
        raise ApiError(400, "Bad Request: chat_id is empty")
    if isinstance(value, bool):
        raise ApiError(400, "Bad Request: chat not found")
    if isinstance(value, int):
        return value
    text = str(value)
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"@[A-Za-z][A-Za-z0-9_]{3,31}", text):
        return text
    raise ApiError(400, "Bad Request: chat not found")


def _int(value: Any, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    raise ApiError(400, f'Bad Request: field "{name}" must be of type Integer')


def _bool(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def _json_param(value: Any) -> Any:
    # Forms carry arrays and objects JSON-encoded, as the Bot API expects.
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON parameter") from None
    return value


def _wanted(update: dict[str, Any], allowed: Any) -> bool:
    if not isinstance(allowed, list) or not allowed:
        return True
    return any(kind in update for kind in allowed)


def _lower(method: str | None) -> str | None:
    return method.lower() if method is not None else None


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str, parameters: dict[str, Any] | None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


def _fault_response(fault: _Fault) -> web.Response:
    status = fault.status or 500
    if status in (502, 504):
        reason = "Bad Gateway" if status == 502 else "Gateway Time-out"
        return web.Response(
            status=status,
            text=_NGINX.format(status=status, reason=reason),
            content_type="text/html",
        )
    description = fault.description or _DESCRIPTIONS.get(status, "Error")
    parameters = fault.parameters
    if status == 429:
        description = fault.description or f"Too Many Requests: retry after {fault.retry_after}"
        parameters = {**(parameters or {}), "retry_after": fault.retry_after}
    return _error(status, description, parameters)
