"""What a channel's settings may show of themselves, and the rule for editing them.

Each notifier declares it in its typed settings:

- **secrets** by their type: `SecretStr` (a token, a password, a header value), or
  `SecretUrl` (a URL whose `user:password@`, query and fragment are secret, as a generic
  webhook's often carry a token: shown as `https://hooks.example/in?token=••••`);
- **destinations**, where those secrets are sent, with `Annotated[..., Destination()]`:
  a webhook's URL, PagerDuty's API base, an SMTP host, a Telegram chat.

The API shows a channel's config `masked()`. A client editing a channel sends it back as
it got it; `keep_secrets` puts the stored secrets back in place of their masks, but only
while every destination stays as it was: otherwise pointing a channel at another URL
and pressing "test" would hand its stored credentials to whoever is there. With a
changed destination every secret must be sent again in full (`ResendSecrets`, naming
them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_core import to_jsonable_python

MASK: Final = "••••"
# Shorter secrets are masked whole: the last four characters of an eight-character
# password would give half of it away.
_MIN_LEN_TO_SHOW_TAIL: Final = 16


class SecretUrl(SecretStr):
    """A URL whose credentials are secret but whose scheme, host and path are not: a
    person must be able to see where a channel sends. Its secret parts are the user
    and password, each query value and the fragment."""


@dataclass(frozen=True, slots=True)
class Destination:
    """Marks a settings field as (part of) where the channel's secrets go:
    `url: Annotated[SecretUrl, Destination()]`.

    `address`: the value is a URL or a host name, whose host the network policy judges
    (a chat id or a port is not). `schemes`: only URLs of these schemes name a host
    (an Apprise URL such as `tgram://<token>/<chat>` holds none)."""

    address: bool = True
    schemes: frozenset[str] | None = None


class ResendSecrets(ValueError):
    """A destination changed while secrets were sent back masked."""

    def __init__(self, changed: list[str], resend: list[str]) -> None:
        self.changed = changed
        self.resend = sorted(resend)
        super().__init__(
            f"{', '.join(changed)} changed: a masked secret is kept only while the "
            "channel's destination stays the same; send these again in full: "
            + ", ".join(self.resend)
        )


def mask_secret(secret: SecretStr) -> str:
    """`"••••abcd"` (the last four characters, enough to tell two tokens apart), or
    `"••••"` for a secret too short to show any of it. A `SecretUrl` shows its
    scheme, host and path (`mask_url`)."""
    value = secret.get_secret_value()
    if isinstance(secret, SecretUrl):
        return mask_url(value)
    if len(value) < _MIN_LEN_TO_SHOW_TAIL:
        return MASK
    return MASK + value[-4:]


def mask_url(url: str) -> str:
    """`url` with its credentials, query values and fragment masked; the URL itself
    when it has none of them."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return mask_secret(SecretStr(url))
    netloc = parts.netloc
    if "@" in netloc:
        netloc = MASK + "@" + netloc.rpartition("@")[2]
    query = "&".join(_mask_parameter(item) for item in parts.query.split("&") if item)
    fragment = MASK if parts.fragment else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def _mask_parameter(item: str) -> str:
    name, equals, value = item.partition("=")
    if not equals:
        return mask_secret(SecretStr(item))  # a bare `?token`
    return f"{name}={mask_secret(SecretStr(value))}" if value else item


def _secret_parts(url: str) -> list[str]:
    """The pieces of a URL `mask_url` hides, to find in an error text on their own."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    pieces = [parts.netloc.rpartition("@")[0], parts.password or "", parts.fragment, parts.query]
    pieces += [item.partition("=")[2] or item for item in parts.query.split("&")]
    return [piece for piece in pieces if piece]


def is_masked(value: object) -> bool:
    """Whether a value holds what `masked()` shows in place of a secret."""
    return isinstance(value, str) and MASK in value


def masked(settings: BaseModel) -> dict[str, Any]:
    """The settings as a JSON-able dict in which every secret is masked: what the API
    may show of a channel's config."""
    return {name: _mask_values(value) for name, value in settings.model_dump(mode="python").items()}


def _mask_values(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return mask_secret(value)
    if isinstance(value, Mapping):
        return {str(key): _mask_values(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_mask_values(item) for item in value]
    return to_jsonable_python(value)


def destinations(model: type[BaseModel]) -> dict[str, Destination]:
    """The fields a settings model declares as destinations."""
    found: dict[str, Destination] = {}
    for name, info in model.model_fields.items():
        for item in info.metadata:
            if isinstance(item, Destination):
                found[name] = item
    return found


def destination_hosts(settings: BaseModel) -> list[tuple[str, str]]:
    """(field, host) for every address-like destination value: the host of a URL, or
    the value itself for a host field."""
    hosts: list[tuple[str, str]] = []
    for name, marker in destinations(type(settings)).items():
        if not marker.address:
            continue
        value = getattr(settings, name)
        for item in value if isinstance(value, list | tuple) else [value]:
            text = _plain(item)
            if not isinstance(text, str) or not text:
                continue
            if "://" in text:
                try:
                    parts = urlsplit(text)
                except ValueError:
                    continue
                if parts.hostname and (marker.schemes is None or parts.scheme in marker.schemes):
                    hosts.append((name, parts.hostname))
            elif marker.schemes is None:
                hosts.append((name, text))
    return hosts


def keep_secrets(previous: BaseModel, config: Mapping[str, Any]) -> dict[str, Any]:
    """`config` with each masked value (as `masked()` shows it) put back to the secret it
    stands for in `previous`: a client editing a channel sends the config back as it got
    it, and must not need the secrets to keep them.

    ValueError when a masked value does not match the secret at its place (a list
    reordered, a header renamed: storing "••••abcd" as a password would break the
    channel silently); `ResendSecrets` when a secret was sent masked while a destination
    changed."""
    model = type(previous)
    fields = model.model_fields
    kept: list[str] = []
    restored = {
        name: _restore(value, getattr(previous, name, None), name, kept)
        if name in fields
        else value
        for name, value in config.items()
    }
    if kept:
        changed = _changed_destinations(previous, restored)
        if changed:
            raise ResendSecrets(changed, kept)
    return restored


def _restore(value: Any, old: Any, where: str, kept: list[str]) -> Any:
    if isinstance(old, SecretStr) and isinstance(value, str) and value == mask_secret(old):
        if is_masked(value):
            kept.append(where)
        return old.get_secret_value()
    if is_masked(value):
        raise ValueError(
            f"{where}: {value!r} is a masked secret that does not match the one stored "
            "there; send the secret itself"
        )
    if isinstance(value, Mapping):
        previous = old if isinstance(old, Mapping) else {}
        return {k: _restore(v, previous.get(k), f"{where}.{k}", kept) for k, v in value.items()}
    if isinstance(value, list):
        items = list(old) if isinstance(old, list | tuple) else []
        return [
            _restore(v, items[i] if i < len(items) else None, f"{where}.{i}", kept)
            for i, v in enumerate(value)
        ]
    return value


def _changed_destinations(previous: BaseModel, restored: Mapping[str, Any]) -> list[str]:
    marked = destinations(type(previous))
    if not marked:
        return []
    try:
        # Compared as validated (normalised) values: "POST" and "post", a trailing space.
        after: Any = type(previous).model_validate(dict(restored))
    except (ValidationError, ValueError):
        # Invalid anyway: the caller's validation says why. Judge the raw values so
        # that a masked secret is still not kept across a new destination.
        return [name for name in marked if restored.get(name) != _plain(getattr(previous, name))]
    return [
        name for name in marked if _plain(getattr(after, name)) != _plain(getattr(previous, name))
    ]


def _plain(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def secrets_of(settings: BaseModel) -> list[SecretStr]:
    """Every secret in a settings model, nested ones included."""
    found: list[SecretStr] = []

    def collect(value: Any) -> None:
        if isinstance(value, SecretStr):
            found.append(value)
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                collect(getattr(value, name))
        elif isinstance(value, Mapping):
            for item in value.values():
                collect(item)
        elif isinstance(value, list | tuple | set | frozenset):
            for item in value:
                collect(item)

    collect(settings)
    return found


def redact(text: str, *secrets: SecretStr | str | None) -> str:
    """`text` with every secret replaced by its mask: error texts are stored and shown,
    and an aiohttp error may quote a URL that holds a token."""
    for secret in secrets:
        if secret is None:
            continue
        value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        if isinstance(secret, SecretUrl):
            text = text.replace(value, mask_url(value))
            pieces = _secret_parts(value)
        else:
            pieces = [value]
        for piece in sorted(pieces, key=len, reverse=True):
            # A secret of a character or three would mask that letter all over the
            # text, and is no secret anyway.
            if len(piece) >= 4:
                text = text.replace(piece, MASK)
    return text
