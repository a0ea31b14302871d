"""A heartbeat ping on the wire: how its request reads (`parse_ping`), how it becomes a
`Ping` (`make_ping`), and what it is answered (`ack_body`, `PingRefused`).

The ASGI fast path (api/fast_heartbeat.py) and the FastAPI routes (api/routes/heartbeats.py)
both go through here, so they cannot drift apart; tests/api/test_fast_heartbeat.py sends
the same requests through both and compares the answers byte for byte.

The query reads as Starlette reads one: of a repeated name the last value counts; a
name the routes do not know is refused with the one it most likely meant. A refusal says
what the API has always said: the period's and run id's come in FastAPI's validation
shape (api/errors.py) with pydantic's words for the same constraints, so they match every
other route's 422.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from fastapi.responses import JSONResponse
from pydantic_core import to_json
from starlette.datastructures import QueryParams
from starlette.types import Scope

from heartwatch.api.errors import validation_error_content
from heartwatch.client import PING_KEY_HEADER
from heartwatch.config import Settings
from heartwatch.domain.heartbeat import Signal
from heartwatch.domain.keys import InvalidKey, check_key
from heartwatch.domain.names import did_you_mean
from heartwatch.domain.ping import (
    PERIOD_MAX_S,
    PERIOD_MIN_S,
    RUN_ID_MAX_LENGTH,
    may_register,
)
from heartwatch.runtime import Runtime
from heartwatch.services.heartbeats import Ping, PingOutcome, ServicesFull, UnknownService


@dataclass(slots=True)
class ParsedPing:
    """A well-formed ping request. (Not frozen: one is built for every heartbeat, and a
    frozen dataclass costs about twice as much to build.)"""

    signal: Signal
    key: str
    period: float | None
    run_id: str | None
    # Whether this sender may register a new key: always, unless a ping key is configured
    # and the sender did not send it (`may_register`).
    may_register: bool = True


@dataclass(frozen=True, slots=True)
class PingRefused:
    """The answer to a ping that is not recorded: a 4xx and its JSON."""

    status: int
    content: dict[str, Any]

    def response(self) -> JSONResponse:
        """What the routes return; also an ASGI app, which the fast path calls."""
        return JSONResponse(self.content, self.status)


SERVICE_KEY_REQUIRED = PingRefused(
    422, {"detail": "service_key is required: /heartbeat?service_key=<key>"}
)
PING_KEY_REQUIRED = PingRefused(
    401,
    {
        "detail": "this server requires its ping key on every heartbeat: send it as the "
        f"{PING_KEY_HEADER} header or the ping_key query parameter"
    },
)
PING_KEY_WRONG = PingRefused(
    401,
    {
        "detail": f"wrong ping key (sent as the {PING_KEY_HEADER} header, the ping_key query "
        "parameter or in the /ping/<ping key>/<slug> path)"
    },
)
PING_KEYS_DISABLED = PingRefused(
    404,
    {"detail": "ping keys are not enabled on this server (HEARTWATCH_PING_KEY is not set)"},
)

_HEADER = PING_KEY_HEADER.lower().encode()


def sent_ping_key(
    headers: Iterable[tuple[bytes, bytes]], query_key: str | None
) -> bytes | str | None:
    """The ping key a request carries: its `X-Ping-Key` header (raw bytes, as they came),
    else its `?ping_key=` (decoded, as the query is)."""
    for name, value in headers:
        if name == _HEADER:
            return value
    return query_key


def _as_bytes(key: bytes | str) -> bytes:
    # "surrogatepass": every str has bytes (a path or query decoded with replacement, an
    # environment variable that was not UTF-8), and different str have different bytes.
    return key if isinstance(key, bytes) else key.encode("utf-8", "surrogatepass")


def check_ping_key(settings: Settings, sent: bytes | str | None) -> bool | PingRefused:
    """The one ping-key check of every heartbeat route: whether the sender is
    authenticated (it sent the configured ping key), or the refusal when the server
    requires the key and it is missing or wrong. Compared as bytes in constant time
    (`hmac.compare_digest` refuses a str that is not ASCII)."""
    expected = settings.ping_key
    if expected is None:
        return False
    if sent is None:
        return PING_KEY_REQUIRED if settings.require_ping_key else False
    if hmac.compare_digest(_as_bytes(sent), _as_bytes(expected)):
        return True
    return PING_KEY_WRONG if settings.require_ping_key else False


def refuse_without_ping_key(settings: Settings, scope: Scope) -> PingRefused | None:
    """For the routes that name a service by its id (`/ping/<uuid>`, `/api/push/<uuid>`):
    the id is the secret, unless the server requires its ping key everywhere."""
    if not settings.require_ping_key:
        return None
    query_key = None
    if scope["query_string"]:
        query_key = QueryParams(scope["query_string"]).get("ping_key")
    checked = check_ping_key(settings, sent_ping_key(scope["headers"], query_key))
    return checked if isinstance(checked, PingRefused) else None


def unknown_service(key: str) -> PingRefused:
    """A ping to a key no service has, while auto-registration is off."""
    detail = f"service {key!r} is not registered (auto-registration is off)"
    return PingRefused(404, {"detail": detail})


def registration_needs_ping_key(key: str) -> PingRefused:
    detail = (
        f"service {key!r} is not registered, and only a sender with this server's ping key "
        f"may register one: send it ({PING_KEY_HEADER} header or ?ping_key=), or create the "
        "service first (POST /services)"
    )
    return PingRefused(401, {"detail": detail})


def services_full(key: str, cap: int) -> PingRefused:
    """409, not 429: waiting does not help, and the SDK retries a 429 but not a 409."""
    detail = (
        f"service {key!r} is not registered: heartwatch has reached HEARTWATCH_MAX_SERVICES "
        f"({cap} services), the most auto-registration may create. Create the service with "
        "POST /services, delete unused ones, or raise the limit"
    )
    return PingRefused(409, {"detail": detail})


def not_recorded(
    settings: Settings, outcome: UnknownService, key: str, registrable: bool
) -> PingRefused:
    """Why a ping to `key` was not recorded: the registry is full, the sender may not
    register a service (`registrable` False), or registration is off."""
    if isinstance(outcome, ServicesFull):
        return services_full(key, outcome.cap)
    if not registrable and settings.auto_register:
        return registration_needs_ping_key(key)
    return unknown_service(key)


# The query parameters of the heartbeat routes; any other is refused (422), so that a
# typo (`?perod=60`) is not taken for a ping without a period.
QUERY_PARAMETERS = ("period", "rid", "ping_key", "service_key")


class _QueryError(NamedTuple):
    """One query parameter's fault, in pydantic's words for that constraint."""

    type: str
    msg: str


_NOT_A_NUMBER = _QueryError(
    "float_parsing", "Input should be a valid number, unable to parse string as a number"
)
_PERIOD_TOO_LONG = _QueryError(
    "less_than_equal", f"Input should be less than or equal to {PERIOD_MAX_S}"
)
_PERIOD_TOO_SHORT = _QueryError(
    "greater_than_equal", f"Input should be greater than or equal to {PERIOD_MIN_S}"
)
_RUN_ID_TOO_LONG = _QueryError(
    "string_too_long", f"String should have at most {RUN_ID_MAX_LENGTH} characters"
)


def _period(text: str) -> float | _QueryError:
    """A period in seconds, in ASCII digits (as pydantic reads a number; float() would
    also read other scripts' digits). NaN and infinity are refused as too long, -infinity
    as too short: pydantic checks the bounds in this order, so the API always answered so."""
    try:
        period = float(text)
    except ValueError:
        return _NOT_A_NUMBER
    if not text.isascii() and not text.strip().isascii():
        return _NOT_A_NUMBER
    if not period <= PERIOD_MAX_S:
        return _PERIOD_TOO_LONG
    if not period >= PERIOD_MIN_S:
        return _PERIOD_TOO_SHORT
    return period


def parse_ping(
    signal: Signal,
    path_key: str | None,
    query_string: bytes,
    settings: Settings,
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> ParsedPing | PingRefused:
    """Read a ping to `/heartbeat/{path_key}[/start|/fail]` (the route gives `signal`), or
    to `/heartbeat?service_key=` when `path_key` is None, with the request's raw `headers`
    for its ping key. Faults are reported in the order the API has always checked them:
    the query's parameters, then a missing key, then the ping key, then the key."""
    key = path_key
    period = run_id = query_ping_key = None
    if query_string:
        params = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
        unknown = [name for name in params if name not in QUERY_PARAMETERS]
        run_id = params.get("rid")
        run_id_too_long = run_id is not None and len(run_id) > RUN_ID_MAX_LENGTH
        if "period" in params:
            checked = _period(params["period"])
            if isinstance(checked, _QueryError):
                return _invalid_query(checked, run_id_too_long, unknown)
            period = checked
        if run_id_too_long or unknown:
            return _invalid_query(None, run_id_too_long, unknown)
        if path_key is None:
            key = params.get("service_key")
        query_ping_key = params.get("ping_key")
    if key is None:
        return SERVICE_KEY_REQUIRED
    authenticated = False
    if settings.ping_key is not None:
        verdict = check_ping_key(settings, sent_ping_key(headers, query_ping_key))
        if isinstance(verdict, PingRefused):
            return verdict
        authenticated = verdict
    try:
        check_key(key)
    except InvalidKey as exc:
        return PingRefused(422, {"detail": str(exc)})
    return ParsedPing(
        signal, key, period, run_id, may_register(settings.ping_key is not None, authenticated)
    )


def unknown_parameter(name: str, known: Iterable[str]) -> _QueryError:
    """A query parameter the route does not read: most likely a typo of one it does."""
    return _QueryError(
        "unknown_parameter", f"unknown query parameter {name!r}{did_you_mean(name, known)}"
    )


def _invalid_query(
    period_fault: _QueryError | None, run_id_too_long: bool, unknown: list[str]
) -> PingRefused:
    """Every fault of the query at once, in the order of the routes' parameters, then
    the parameters no route reads."""
    faults = [] if period_fault is None else [("period", period_fault)]
    if run_id_too_long:
        faults.append(("rid", _RUN_ID_TOO_LONG))
    faults.extend((name, unknown_parameter(name, QUERY_PARAMETERS)) for name in unknown)
    errors = [{"loc": ("query", name), "msg": f.msg, "type": f.type} for name, f in faults]
    return PingRefused(422, validation_error_content(errors))


def make_ping(
    runtime: Runtime, signal: Signal, raw_body: bytes, source: str | None, **fields: Any
) -> Ping:
    """Stamp a ping and keep its body. Longer bodies are cut, not refused: a cron job's
    log tail must never cost its ping."""
    limit = runtime.settings.max_heartbeat_body_bytes
    body = raw_body[:limit].decode("utf-8", errors="ignore") if raw_body else None
    return Ping(
        signal=signal, received_at=runtime.clock.now(), body=body or None, source=source, **fields
    )


def ack_body(outcome: PingOutcome) -> bytes:
    """The JSON of the `PingAck` for `outcome` (api/schemas.py, which documents it), for
    both the fast path and the routes. pydantic-core writes it, as it writes
    `PingAck.model_dump_json()` (non-finite floats as null, like a model's default), but
    without building and validating a model for every heartbeat."""
    return to_json(
        {
            "ok": True,
            "service_id": outcome.service_id,
            "service_key": outcome.key,
            "status": outcome.status,
            "received_at": outcome.received_at,
            "registered": outcome.registered,
            "duration_ms": outcome.duration_ms,
            "hint": outcome.hint,
        },
        inf_nan_mode="null",
    )
