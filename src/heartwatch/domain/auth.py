"""Access control rules, with no I/O: roles and what each may do, API keys' format and
their hashing, the names people and keys may be given.

What a role may do is decided here and nowhere else (`may`): the API asks for an
`Access` level per route, never for a role. A third role (say `operator`: may mute, pause
and check now, but not configure) is a member of `Role` plus its line in `_GRANTS`; the
routes it may use already ask for `Access.OPERATE`.

An API key reads `hwk_<id>_<secret>`. The prefix lets secret scanners recognise a leaked
key; the id is public (listings show it, and a request's key is looked up by it); the
secret is 256 bits of randomness, stored only as its SHA-256. A plain hash is enough: a
password needs a slow hash because it can be guessed, a 256-bit random secret cannot, so
a stolen `api_keys` table gives nothing that could be replayed. Both parts are drawn from
letters and digits only, so the key splits on `_` one way only and a double-click
selects all of it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
import string
import unicodedata
from collections.abc import Mapping
from datetime import timedelta
from enum import StrEnum
from typing import NamedTuple


class Access(StrEnum):
    """What a route does, as far as access control is concerned."""

    READ = "read"  # reads anything (GET)
    OPERATE = "operate"  # day-to-day actions: mute, pause, check now
    WRITE = "write"  # configures: creates, changes, deletes


class Role(StrEnum):
    ADMIN = "admin"
    READ = "read"


# The one place that says what a role may do.
_GRANTS: dict[Role, frozenset[Access]] = {
    Role.ADMIN: frozenset(Access),
    Role.READ: frozenset({Access.READ}),
}


def may(role: Role, access: Access) -> bool:
    return access in _GRANTS[role]


def access_needed(
    method: str, path: str | None, overrides: Mapping[tuple[str, str], Access]
) -> Access:
    """The access a request needs: a read (GET, HEAD) reads, anything else writes, unless
    `overrides` names its (method, route path); an unknown route (None) needs the most."""
    if path is None:
        return Access.WRITE
    method = "GET" if method == "HEAD" else method
    override = overrides.get((method, path))
    if override is not None:
        return override
    return Access.READ if method == "GET" else Access.WRITE


def sees_secrets(role: Role) -> bool:
    """Whether views show this role the secrets a service's configuration holds: its id,
    which is also the secret of its ping URLs (`/ping/<id>`, `/api/push/<id>`), and what
    its checks read from the target (response bodies, script output). Who may configure
    a service sees them; a read-only role gets the service's `key` as its name and the
    rest of its view."""
    return may(role, Access.WRITE)


# --- when access control is on --------------------------------------------------------


class AuthMode(StrEnum):
    """HEARTWATCH_AUTH. `auto`: access control is on once any credential exists; with
    none, only a server bound to a loopback address may run (open). `off`: run open on
    any address while no credential exists (the operator accepts the risk). Neither
    switches off credentials that exist."""

    AUTO = "auto"
    OFF = "off"


def is_loopback(host: str) -> bool:
    """Whether listening on `host` is reachable from this machine only. A name other
    than `localhost` is not trusted to be (it may resolve anywhere)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def may_run_open(host: str, mode: AuthMode) -> bool:
    """Whether a server listening on `host` may serve everyone when no credential
    exists."""
    return mode is AuthMode.OFF or is_loopback(host)


# --- API keys -------------------------------------------------------------------------

KEY_PREFIX = "hwk"
_ALPHABET = string.ascii_letters + string.digits
KEY_ID_LENGTH = 12
# 43 characters of 62 carry 256.03 bits.
KEY_SECRET_LENGTH = 43
_KEY_RE = re.compile(
    rf"{KEY_PREFIX}_([A-Za-z0-9]{{{KEY_ID_LENGTH}}})_([A-Za-z0-9]{{{KEY_SECRET_LENGTH}}})"
)
KEY_LENGTH = len(KEY_PREFIX) + 2 + KEY_ID_LENGTH + KEY_SECRET_LENGTH


class KeyParts(NamedTuple):
    id: str
    secret: str


def _random_text(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def generate_key() -> tuple[KeyParts, str]:
    """A new key: its parts, and the whole key as it is shown (once) to its owner."""
    parts = KeyParts(_random_text(KEY_ID_LENGTH), _random_text(KEY_SECRET_LENGTH))
    return parts, f"{KEY_PREFIX}_{parts.id}_{parts.secret}"


def parse_key(text: str) -> KeyParts | None:
    """The parts of a well-formed key; None for anything else (never an exception:
    whatever a client sends in a header lands here)."""
    if len(text) != KEY_LENGTH:
        return None
    match = _KEY_RE.fullmatch(text)
    if match is None:
        return None
    return KeyParts(match[1], match[2])


def hash_secret(secret: str) -> str:
    """What is stored for a key's secret (and for a session's token): SHA-256, in hex."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def secret_matches(secret: str, secret_hash: str) -> bool:
    """Whether `secret` hashes to `secret_hash`, in time that does not depend on where
    they differ (compared as bytes: `compare_digest` on text refuses non-ASCII, and a
    stored value is not trusted to be ASCII)."""
    return hmac.compare_digest(
        hash_secret(secret).encode("ascii"), secret_hash.encode("utf-8", "surrogatepass")
    )


def new_session_token() -> str:
    """A web session's cookie value; the database keeps only `hash_secret` of it."""
    return secrets.token_urlsafe(32)


# --- names ----------------------------------------------------------------------------

NAME_MAX_LENGTH = 100


class InvalidName(ValueError):
    pass


def check_name(name: str, what: str) -> str:
    """A key's or a user's name as it is kept: NFC, no surrounding blanks, no control or
    format characters (they would hide in a listing), 1-100 characters."""
    name = unicodedata.normalize("NFC", name).strip()
    if not 1 <= len(name) <= NAME_MAX_LENGTH:
        raise InvalidName(f"a {what} name is 1-{NAME_MAX_LENGTH} characters")
    if any(unicodedata.category(c)[0] in "CZ" and c != " " for c in name):
        raise InvalidName(f"a {what} name has no control, format or separator characters")
    return name


def fold_name(name: str) -> str:
    """The form two user names are compared in: `Alice`, `ALICE` and `Alice` in full-width
    letters are one user. Computed here rather than by the database, whose `lower()` differs between
    SQLite (ASCII only) and PostgreSQL (the collation's)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


# --- passwords ------------------------------------------------------------------------

PASSWORD_MIN_LENGTH = 8
# Long enough for any passphrase or manager-made password; bounds the work one login
# attempt can ask for.
PASSWORD_MAX_LENGTH = 1024


class InvalidPassword(ValueError):
    pass


def check_password(password: str) -> str:
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise InvalidPassword(
            f"a password is {PASSWORD_MIN_LENGTH}-{PASSWORD_MAX_LENGTH} characters"
        )
    return password


# --- lifetimes ------------------------------------------------------------------------

# At most four digits: 9999 weeks still ends before datetime runs out of years.
_LIFETIME_RE = re.compile(r"([1-9][0-9]{0,3})([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
LIFETIME_RULE = "a number and a unit: m (minutes), h (hours), d (days) or w (weeks), e.g. 90d"


def parse_lifetime(text: str) -> timedelta:
    """`90d`, `12h`, `2w`, `30m`: how long a key stays valid."""
    match = _LIFETIME_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"invalid lifetime {text[:40]!r}: {LIFETIME_RULE}")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})
