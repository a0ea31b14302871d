"""The heartbeat fast path (api/fast_heartbeat.py) against the FastAPI routes it stands in
front of: the same requests, good and bad, get the same answers byte for byte and record
the same pings; and its acknowledgement is the JSON of the `PingAck` the routes document.

No database: the ingest is scripted (`ScriptedIngest`) and the clock stands still, so an
answer depends on the request alone. The store's side of a ping is test_heartbeat_api's.
"""

from __future__ import annotations

import json
import string
import uuid
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, timedelta, timezone
from typing import NamedTuple
from urllib.parse import quote

import aiohttp
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from heartwatch.api.app import create_asgi_app
from heartwatch.api.fast_heartbeat import FastHeartbeat
from heartwatch.api.pings import ack_body
from heartwatch.api.schemas import PingAck
from heartwatch.checkers.base import CheckContext
from heartwatch.client import PING_KEY_HEADER
from heartwatch.config import Settings
from heartwatch.domain.keys import KEY_MAX_LENGTH
from heartwatch.domain.ping import PERIOD_MAX_S, RUN_ID_MAX_LENGTH
from heartwatch.domain.status import Status
from heartwatch.ids import new_id
from heartwatch.runtime import Runtime
from heartwatch.services.heartbeats import HeartbeatIngest, Ping, PingOutcome, UnknownService
from heartwatch.store.database import Database
from tests.conftest import T0
from tests.helpers import ManualClock

MAX_REQUEST_BYTES = 1024  # the smallest limit the settings allow: a 413 costs little
MAX_BODY_BYTES = 16  # so that generated bodies are cut


# --- the acknowledgement -----------------------------------------------------------------


def ping_ack(outcome: PingOutcome) -> PingAck:
    """What the routes document for an outcome. A field added to PingAck fails the tests
    below until `ack_body` writes it too (and this mapping knows where it comes from)."""
    return PingAck(
        service_id=outcome.service_id,
        service_key=outcome.key,
        status=outcome.status,
        received_at=outcome.received_at,
        registered=outcome.registered,
        duration_ms=outcome.duration_ms,
        hint=outcome.hint,
    )


OUTCOMES = st.builds(
    PingOutcome,
    service_id=st.uuids(),
    key=st.text(),
    status=st.sampled_from(Status),
    received_at=st.datetimes(
        timezones=st.sampled_from([UTC, None, timezone(-timedelta(hours=3.5))])
    ),
    registered=st.booleans(),
    duration_ms=st.none() | st.floats(),
    hint=st.none() | st.text(),
)


@settings(max_examples=200, deadline=None)
@given(OUTCOMES)
@example(PingOutcome(new_id(), "billing", Status.ALIVE, T0, True, 1e-7))
@example(PingOutcome(new_id(), 'été\n"', Status.DOWN, T0 + timedelta(microseconds=7), False, 3e20))
@example(PingOutcome(new_id(), "b", Status.UNKNOWN, T0, True, None, 'learning "x"\u2028'))
def test_the_ack_is_the_ping_ack_models_json(outcome: PingOutcome) -> None:
    assert ack_body(outcome) == ping_ack(outcome).model_dump_json().encode()


def test_the_ack_has_every_field_of_the_model_in_its_order() -> None:
    outcome = PingOutcome(new_id(), "billing", Status.ALIVE, T0, True, None)
    assert list(json.loads(ack_body(outcome))) == list(PingAck.model_fields)


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("registered", [True, False])
@pytest.mark.parametrize("duration", [None, 0.0, 1234.5678, 1e-7, 3e20])
@pytest.mark.parametrize("key", ["billing", "a.b-c_d", "x" * 200])
def test_the_ack_says_what_happened(
    status: Status, registered: bool, duration: float | None, key: str
) -> None:
    outcome = PingOutcome(
        new_id(), key, status, T0 + timedelta(microseconds=7), registered, duration
    )
    assert json.loads(ack_body(outcome)) == {
        "ok": True,
        "service_id": str(outcome.service_id),
        "service_key": key,
        "status": str(status),
        "received_at": "2026-01-05T12:00:00.000007Z",
        "registered": registered,
        "duration_ms": duration,
        "hint": None,
    }


# --- the same answers with and without the fast path ----------------------------------


class ScriptedIngest(HeartbeatIngest):
    """Keeps the pings it is given and answers each from its key alone: some keys
    ("nobody", for one) are unknown services, the others get a status, a registration and
    a duration of their own (one of them a float that JSON writers disagree on)."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime.db, runtime.clock, runtime.rules, auto_register=True)
        self.pings: list[Ping] = []

    async def record(self, ping: Ping) -> PingOutcome | UnknownService:
        self.pings.append(ping)
        key = ping.key or ""
        digest = zlib.crc32(key.encode())
        if digest % 7 == 0:
            return UnknownService(key)
        durations = (None, 1e-7, 1234.5678, digest / 7)
        return PingOutcome(
            uuid.UUID(int=digest),
            key,
            list(Status)[digest % len(Status)],
            ping.received_at,
            bool(digest & 1),
            durations[digest % len(durations)],
        )


@pytest.fixture
async def offline_runtime() -> AsyncIterator[Runtime]:
    """A runtime whose database is never opened: pings go to a `ScriptedIngest`."""
    settings = Settings.model_validate(
        {
            "database_url": "sqlite+aiosqlite:///:memory:",
            "max_request_bytes": MAX_REQUEST_BYTES,
            "max_heartbeat_body_bytes": MAX_BODY_BYTES,
        }
    )
    db = Database(settings.effective_database_url)
    async with aiohttp.ClientSession() as http:
        runtime = Runtime(settings, db, ManualClock(T0), CheckContext(http=http))
        runtime.heartbeats = ScriptedIngest(runtime)
        yield runtime
    await db.dispose()


@pytest.fixture
def both_apps(offline_runtime: Runtime) -> tuple[ASGIApp, ASGIApp]:
    """The app as served, and the same app with the FastAPI routes answering every ping."""
    return (
        create_asgi_app(offline_runtime),
        create_asgi_app(offline_runtime, fast_heartbeat=False),
    )


class PingRequest(NamedTuple):
    method: str
    path: str  # as the server decoded it
    query: bytes  # as it came
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...] = ()  # besides host and content-length


class Answer(NamedTuple):
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    error: str | None = None  # what the app raised after answering (a 500), if anything


async def send_to(app: ASGIApp, request: PingRequest) -> Answer:
    """`request` through `app` as a server hands it over, with the whole body at once."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": request.path,
        "raw_path": quote(request.path).encode(),
        "query_string": request.query,
        "root_path": "",
        "headers": [
            (b"host", b"hw"),
            (b"content-length", str(len(request.body)).encode()),
            *request.headers,
        ],
        "client": ("10.1.2.3", 5555),
        "server": ("hw", 80),
    }
    incoming: list[Message] = [{"type": "http.request", "body": request.body}]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    error = None
    try:
        await app(scope, receive, send)
    except Exception as exc:  # e.g. Starlette's redirect of a query that is not UTF-8
        error = repr(exc)
    start, *rest = sent
    body = b"".join(message.get("body", b"") for message in rest)
    return Answer(start["status"], sorted(start["headers"]), body, error)


KEY_CHARS = string.ascii_letters + string.digits + "._-"
KEYS = st.one_of(
    st.text(KEY_CHARS, min_size=1, max_size=8),
    st.text(KEY_CHARS, min_size=KEY_MAX_LENGTH - 1, max_size=KEY_MAX_LENGTH + 1),
    st.sampled_from([".", "..", "...", "start", "fail", "nobody", "%41", "a/b"]),
    st.text(max_size=6),  # anything: spaces, slashes, other scripts, control characters
)
PERIODS = st.one_of(
    st.sampled_from(
        [
            *("0", "-0", "-1", "nan", "-nan", "inf", "-inf", "Infinity", "1e-300", "5e-324"),
            *("1e400", "", " 60 ", "1_000", "abc", "0x10", "\uff15", str(PERIOD_MAX_S)),
            *(f"{PERIOD_MAX_S}.000001", "9" * 40),
        ]
    ),
    st.floats().map(repr),
    st.integers().map(str),
    st.text(max_size=5),
)
RUN_IDS = st.text(max_size=4) | st.text(
    min_size=RUN_ID_MAX_LENGTH - 1, max_size=RUN_ID_MAX_LENGTH + 1
)
PARAMS = st.one_of(
    st.tuples(st.just("period"), PERIODS),
    st.tuples(st.just("rid"), RUN_IDS),
    st.tuples(st.just("service_key"), KEYS),
    st.tuples(st.sampled_from(["ping_key", "Period", "", "x"]), st.text(max_size=3)),
)
QUERIES = st.one_of(
    st.lists(PARAMS, max_size=4)
    .map(lambda pairs: "&".join(f"{quote(n, safe='')}={quote(v, safe='')}" for n, v in pairs))
    .map(str.encode),
    st.text(alphabet="pr=&%+;._-019", max_size=12).map(str.encode),
    st.binary(max_size=8),
)
PATHS = st.just("/heartbeat") | st.builds(
    lambda key, tail: f"/heartbeat/{key}{tail}",
    KEYS,
    st.sampled_from(["", "", "/start", "/fail", "/log", "/"]),
)
BODIES = st.one_of(
    st.binary(max_size=MAX_BODY_BYTES * 2),
    st.text(max_size=MAX_BODY_BYTES).map(str.encode),  # a cut may split a character
    st.just(b"x" * (MAX_REQUEST_BYTES + 1)),
)
REQUESTS = st.builds(
    PingRequest,
    st.sampled_from(["GET", "POST", "GET", "POST", "HEAD", "PUT"]),
    PATHS,
    QUERIES,
    BODIES,
)


@settings(
    max_examples=400,
    deadline=None,
    # The fixture's apps keep nothing between examples but the pings, cleared each time.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(REQUESTS)
@example(PingRequest("POST", "/heartbeat/billing", b"", b""))
@example(PingRequest("GET", "/heartbeat", b"service_key=billing&period=60&rid=r1", b"log"))
@example(PingRequest("POST", "/heartbeat/billing/start", b"period=0", b""))
@example(PingRequest("POST", "/heartbeat/b/fail", b"period=nan&rid=" + b"r" * 65, b""))
@example(PingRequest("GET", "/heartbeat/billing", b"period=5&period=inf&foo=bar", b""))
@example(PingRequest("POST", "/heartbeat/billing", b"period=%EF%BC%95", b""))
@example(PingRequest("POST", "/heartbeat/billing", b"period=1e-300", b""))
@example(PingRequest("GET", "/heartbeat/billing/fail", b"period=5e-324", b""))
@example(PingRequest("POST", "/heartbeat/billing", b"period=0.999&rid=%00", b""))
@example(PingRequest("POST", "/heartbeat/billing", b"period=1", b""))
@example(PingRequest("POST", "/heartbeat", b"", b""))
@example(PingRequest("POST", "/heartbeat/..", b"", b""))
@example(PingRequest("POST", "/heartbeat/nobody", b"", b""))
@example(PingRequest("POST", "/heartbeat/billing", b"", "\u00e9t\u00e9".encode() * 9))
@example(PingRequest("POST", "/heartbeat/billing", b"", b"x" * (MAX_REQUEST_BYTES + 1)))
@example(PingRequest("HEAD", "/heartbeat/billing", b"", b""))
@example(PingRequest("POST", "/heartbeat/billing/", b"", b""))
async def test_the_fast_path_answers_as_the_routes_do(
    offline_runtime: Runtime, both_apps: tuple[ASGIApp, ASGIApp], ping_request: PingRequest
) -> None:
    await assert_answered_alike(offline_runtime, both_apps, ping_request)


async def assert_answered_alike(
    offline_runtime: Runtime, both_apps: tuple[ASGIApp, ASGIApp], ping_request: PingRequest
) -> None:
    ingest = offline_runtime.heartbeats
    assert isinstance(ingest, ScriptedIngest)
    answers, pings = [], []
    for app in both_apps:
        ingest.pings.clear()
        answers.append(await send_to(app, ping_request))
        pings.append(list(ingest.pings))
    fast, routes = answers
    assert fast == routes
    assert pings[0] == pings[1]


class AppBehind:
    """Stands behind the fast path: notes what it is handed and answers with a teapot."""

    STATUS = 418

    def __init__(self) -> None:
        self.handed_on: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.handed_on.append(scope["path"])
        await send({"type": "http.response.start", "status": self.STATUS, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@pytest.mark.parametrize(
    ("request_", "answered_here"),
    [
        (PingRequest("POST", "/heartbeat/billing", b"", b""), True),
        (PingRequest("GET", "/heartbeat/billing/start", b"rid=1", b""), True),
        (PingRequest("GET", "/heartbeat", b"service_key=billing", b""), True),
        (PingRequest("POST", "/heartbeat", b"", b""), True),  # refused here: no key
        (PingRequest("POST", "/heartbeat/billing", b"period=0&x=1", b""), True),
        (PingRequest("POST", "/heartbeat/nobody", b"", b""), True),
        (PingRequest("HEAD", "/heartbeat/billing", b"", b""), False),
        (PingRequest("PUT", "/heartbeat/billing", b"", b""), False),
        (PingRequest("POST", "/heartbeat/billing/", b"", b""), False),
        (PingRequest("POST", "/heartbeat/billing/log", b"", b""), False),
        (PingRequest("POST", "/heartbeats/billing", b"", b""), False),
        (PingRequest("GET", "/services", b"", b""), False),
    ],
)
async def test_the_fast_path_answers_pings_and_hands_on_the_rest(
    offline_runtime: Runtime, request_: PingRequest, answered_here: bool
) -> None:
    behind = AppBehind()
    answer = await send_to(FastHeartbeat(behind, offline_runtime), request_)
    assert (answer.status != AppBehind.STATUS) is answered_here
    assert behind.handed_on == ([] if answered_here else [request_.path])


PING_KEY = "k" * 16
PING_KEY_HEADERS = st.one_of(
    st.just(()),
    st.tuples(
        st.tuples(
            st.sampled_from([b"x-ping-key", b"x-ping-keys"]),
            st.sampled_from([PING_KEY.encode(), b"", b"nope", "\u00e9".encode()]) | st.binary(),
        )
    ),
)
KEYED_REQUESTS = st.builds(
    PingRequest,
    st.sampled_from(["GET", "POST"]),
    PATHS,
    st.one_of(
        QUERIES,
        st.sampled_from([f"ping_key={PING_KEY}", "ping_key=x", "ping_key=%C3%A9"]).map(str.encode),
    ),
    st.just(b""),
    PING_KEY_HEADERS,
)


@pytest.mark.parametrize("required", [True, False])
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(KEYED_REQUESTS)
@example(PingRequest("POST", "/heartbeat/billing", b"", b""))
@example(PingRequest("POST", "/heartbeat/billing", b"ping_key=" + PING_KEY.encode(), b""))
@example(PingRequest("POST", "/heartbeat/billing", b"", b"", ((b"x-ping-key", b"\xff\xc3"),)))
@example(PingRequest("GET", "/heartbeat/nobody", b"", b"", ((b"x-ping-key", PING_KEY.encode()),)))
async def test_with_a_ping_key_the_fast_path_answers_as_the_routes_do(
    offline_runtime: Runtime,
    both_apps: tuple[ASGIApp, ASGIApp],
    required: bool,
    ping_request: PingRequest,
) -> None:
    offline_runtime.settings = offline_runtime.settings.model_copy(
        update={"ping_key": PING_KEY, "require_ping_key": required}
    )
    await assert_answered_alike(offline_runtime, both_apps, ping_request)


async def test_while_a_ping_key_is_required_the_fast_path_checks_it(
    offline_runtime: Runtime,
) -> None:
    """No ping goes on to FastAPI for the check: it costs as much as the write."""
    offline_runtime.settings = offline_runtime.settings.model_copy(
        update={"ping_key": PING_KEY, "require_ping_key": True}
    )
    behind = AppBehind()
    fast = FastHeartbeat(behind, offline_runtime)
    by_query = await send_to(
        fast, PingRequest("POST", "/heartbeat/billing", b"ping_key=" + PING_KEY.encode(), b"")
    )
    by_header = await send_to(
        fast,
        PingRequest("POST", "/heartbeat/billing", b"", b"", ((b"x-ping-key", PING_KEY.encode()),)),
    )
    refused = await send_to(fast, PingRequest("POST", "/heartbeat/billing", b"", b""))
    assert behind.handed_on == []
    assert by_query.status == by_header.status == 200
    assert refused.status == 401
    assert f"{PING_KEY_HEADER} header" in json.loads(refused.body)["detail"]
