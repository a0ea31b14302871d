"""The ping parser (api/pings.py) on its own: what a ping request reads as, and the words
of each refusal. The fast path and the FastAPI routes both use it; that they answer alike
is tests/api/test_fast_heartbeat.py's concern."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import Field, TypeAdapter, ValidationError

from heartwatch.api.pings import (
    PING_KEY_REQUIRED,
    PING_KEY_WRONG,
    SERVICE_KEY_REQUIRED,
    ParsedPing,
    PingRefused,
    check_ping_key,
    parse_ping,
)
from heartwatch.api.schemas import Period
from heartwatch.config import Settings
from heartwatch.domain.heartbeat import Signal
from heartwatch.domain.keys import KEY_RULE
from heartwatch.domain.ping import PERIOD_MAX_S, RUN_ID_MAX_LENGTH

PROPERTY = settings(max_examples=200, deadline=None)
PERIOD: TypeAdapter[float] = TypeAdapter(Period)
RUN_ID: TypeAdapter[str] = TypeAdapter(Annotated[str, Field(max_length=RUN_ID_MAX_LENGTH)])
PING_KEY = "s3cret-ping-key"
OPEN = Settings(ping_key=None, require_ping_key=False)
KEYED = Settings(ping_key=PING_KEY, require_ping_key=False)
REQUIRED = Settings(ping_key=PING_KEY, require_ping_key=True)


def parse(
    signal: Signal,
    path_key: str | None,
    query: bytes,
    settings: Settings = OPEN,
    headers: tuple[tuple[bytes, bytes], ...] = (),
) -> ParsedPing | PingRefused:
    return parse_ping(signal, path_key, query, settings, headers)


def refused(query: bytes, path_key: str | None = "billing") -> PingRefused:
    result = parse(Signal.SUCCESS, path_key, query)
    assert isinstance(result, PingRefused), result
    return result


def refused_without_ping_key(query: bytes, path_key: str | None) -> PingRefused:
    result = parse(Signal.SUCCESS, path_key, query, REQUIRED)
    assert isinstance(result, PingRefused), result
    return result


def query_errors(result: PingRefused) -> list[dict[str, Any]]:
    assert result.status == 422
    errors: list[dict[str, Any]] = result.content["errors"]
    return errors


@pytest.mark.parametrize("signal", list(Signal))
def test_a_plain_ping_is_its_path_key_and_signal(signal: Signal) -> None:
    assert parse(signal, "billing", b"") == ParsedPing(signal, "billing", None, None)


def test_the_query_form_reads_service_key_period_and_rid() -> None:
    parsed = parse(Signal.SUCCESS, None, b"service_key=billing&period=300&rid=run-1")
    assert parsed == ParsedPing(Signal.SUCCESS, "billing", 300.0, "run-1")


def test_the_query_reads_as_starlette_reads_it() -> None:
    """Of a repeated name the last value counts; a path key wins over a `service_key`."""
    query = b"period=0&period=60&rid=a&rid=b&ping_key=x&service_key=other"
    assert parse(Signal.FAIL, "billing", query) == ParsedPing(Signal.FAIL, "billing", 60, "b")
    assert parse(Signal.SUCCESS, None, b"service_key=a&service_key=b") == ParsedPing(
        Signal.SUCCESS, "b", None, None
    )
    assert parse(Signal.SUCCESS, "k", b"rid=&period=1") == ParsedPing(Signal.SUCCESS, "k", 1, "")


def test_a_percent_encoded_query_is_decoded_as_utf8() -> None:
    parsed = parse(Signal.SUCCESS, None, b"service_key=a%2Eb&rid=%C3%A9t%C3%A9+x")
    assert parsed == ParsedPing(Signal.SUCCESS, "a.b", None, "été x")


def test_unknown_names_are_refused_with_the_one_meant() -> None:
    """A typo must not pass for a ping without it (`?perod=60`: no period declared)."""
    answer = refused(b"period=60&servicekey=x&foo=1&bare", path_key=None)
    assert answer.status == 422
    assert answer.content["detail"] == (
        "query.servicekey: unknown query parameter 'servicekey' (did you mean service_key?); "
        "query.foo: unknown query parameter 'foo'; "
        "query.bare: unknown query parameter 'bare'"
    )
    typo = refused(b"perod=0&rid=" + b"r" * 100, path_key="k")
    assert [e["loc"] for e in typo.content["errors"]] == [["query", "rid"], ["query", "perod"]]


def test_without_a_key_it_says_service_key_is_required() -> None:
    assert refused(b"", path_key=None) == SERVICE_KEY_REQUIRED
    assert refused(b"period=60", path_key=None) == SERVICE_KEY_REQUIRED
    assert SERVICE_KEY_REQUIRED.response().body == (
        b'{"detail":"service_key is required: /heartbeat?service_key=<key>"}'
    )


@pytest.mark.parametrize("key", ["", ".", "..", "a b", "sla/sh", "été", "k" * 101, "x\n"])
def test_a_bad_key_is_refused_with_the_key_rule(key: str) -> None:
    for result in (
        refused(b"", path_key=key),
        refused(f"service_key={quote(key, safe='')}".encode(), None),
    ):
        assert result.status == 422
        assert result.content["detail"] == f"invalid service key {key!r}: a key is {KEY_RULE}"


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("0", "greater_than_equal", "Input should be greater than or equal to 1"),
        ("-5", "greater_than_equal", "Input should be greater than or equal to 1"),
        ("-inf", "greater_than_equal", "Input should be greater than or equal to 1"),
        # Tiny and denormal periods are as good as zero (a service down at every moment).
        ("0.999", "greater_than_equal", "Input should be greater than or equal to 1"),
        ("1e-300", "greater_than_equal", "Input should be greater than or equal to 1"),
        ("5e-324", "greater_than_equal", "Input should be greater than or equal to 1"),
        ("nan", "less_than_equal", f"Input should be less than or equal to {PERIOD_MAX_S}"),
        ("inf", "less_than_equal", f"Input should be less than or equal to {PERIOD_MAX_S}"),
        ("1e400", "less_than_equal", f"Input should be less than or equal to {PERIOD_MAX_S}"),
        (
            "abc",
            "float_parsing",
            "Input should be a valid number, unable to parse string as a number",
        ),
        ("", "float_parsing", "Input should be a valid number, unable to parse string as a number"),
        (
            "%EF%BC%95",
            "float_parsing",
            "Input should be a valid number, unable to parse string as a number",
        ),
    ],
)
def test_a_bad_period_is_refused_in_fastapis_validation_shape(
    text: str, kind: str, message: str
) -> None:
    result = refused(f"period={text}".encode())
    assert result.content == {
        "detail": f"query.period: {message}",
        "errors": [{"loc": ["query", "period"], "msg": message, "type": kind}],
    }


def test_the_period_bounds_are_the_domains() -> None:
    assert parse(Signal.SUCCESS, "k", f"period={PERIOD_MAX_S}".encode()) == ParsedPing(
        Signal.SUCCESS, "k", PERIOD_MAX_S, None
    )
    assert refused(f"period={PERIOD_MAX_S + 0.001}".encode()).status == 422
    assert refused(b"period=0").status == 422


def test_the_run_id_length_is_the_domains() -> None:
    longest = "r" * RUN_ID_MAX_LENGTH
    assert parse(Signal.START, "k", f"rid={longest}".encode()) == ParsedPing(
        Signal.START, "k", None, longest
    )
    message = f"String should have at most {RUN_ID_MAX_LENGTH} characters"
    assert refused(f"rid={longest}r".encode()).content == {
        "detail": f"query.rid: {message}",
        "errors": [{"loc": ["query", "rid"], "msg": message, "type": "string_too_long"}],
    }


def test_faults_come_in_the_order_the_api_checks_them() -> None:
    """Every query fault at once, then a missing key, then the ping key, then the key rule
    (FastAPI validated the query before the route ran its own checks)."""
    both = refused(b"rid=" + b"r" * 65 + b"&period=0", path_key="..")
    assert [e["loc"] for e in query_errors(both)] == [["query", "period"], ["query", "rid"]]
    assert (
        both.content["detail"].startswith("query.period: ")
        and "; query.rid: " in (both.content["detail"])
    )
    assert query_errors(refused_without_ping_key(b"period=x", path_key=None))
    assert refused_without_ping_key(b"", path_key=None) == SERVICE_KEY_REQUIRED
    assert refused_without_ping_key(b"", path_key="..") == PING_KEY_REQUIRED
    assert PING_KEY_REQUIRED.status == 401


# Period texts: numbers as people and programs write them, and near misses. No "_":
# pydantic reads "1_.5" as 1.5 and " 1_0" as no number, where float() does the reverse;
# the parser keeps float()'s reading there.
_NUMBERISH = st.text(alphabet="0123456789.eE+-infatyINFAY \t\xa0\u2003\uff15\u0665", max_size=10)
_PERIOD_TEXTS = st.one_of(
    _NUMBERISH,
    st.floats().map(repr),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.sampled_from(["1e-300", "5e-324", str(PERIOD_MAX_S), f"{PERIOD_MAX_S}.0000001"]),
)


def _pydantic_says(adapter: TypeAdapter[Any], text: str) -> object:
    try:
        return adapter.validate_python(text)
    except ValidationError as exc:
        return [{"msg": e["msg"], "type": e["type"]} for e in exc.errors()]


def _parser_says(query: bytes, name: str) -> object:
    result = parse(Signal.SUCCESS, "k", query)
    if isinstance(result, ParsedPing):
        return result.period if name == "period" else result.run_id
    return [{"msg": e["msg"], "type": e["type"]} for e in query_errors(result)]


@PROPERTY
@given(_PERIOD_TEXTS)
def test_a_period_reads_as_a_declared_period_does(text: str) -> None:
    """The API's words for a bad period are pydantic's, as FastAPI validated a ping's
    period before and still validates a service's declared period (`schemas.Period`)."""
    query = f"period={quote(text, safe='')}".encode()
    assert _parser_says(query, "period") == _pydantic_says(PERIOD, text)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=RUN_ID_MAX_LENGTH + 8).filter(lambda t: t.isprintable()))
def test_a_run_id_reads_as_pydantic_reads_a_bounded_string(text: str) -> None:
    query = f"rid={quote(text, safe='')}".encode()
    assert _parser_says(query, "rid") == _pydantic_says(RUN_ID, text)


# --- the ping key ------------------------------------------------------------------------

HEADER = b"x-ping-key"


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        (f"ping_key={PING_KEY}".encode(), ()),
        (b"", ((HEADER, PING_KEY.encode()),)),
        (b"ping_key=wrong", ((HEADER, PING_KEY.encode()),)),  # the header wins
    ],
)
def test_a_required_ping_key_is_taken_from_the_header_or_the_query(
    query: bytes, headers: tuple[tuple[bytes, bytes], ...]
) -> None:
    parsed = parse(Signal.SUCCESS, "billing", query, REQUIRED, headers)
    assert parsed == ParsedPing(Signal.SUCCESS, "billing", None, None, may_register=True)


def test_a_required_ping_key_missing_or_wrong_is_a_401_that_says_how_to_send_it() -> None:
    assert parse(Signal.SUCCESS, "billing", b"", REQUIRED) == PING_KEY_REQUIRED
    assert parse(Signal.SUCCESS, "billing", b"ping_key=nope", REQUIRED) == PING_KEY_WRONG
    wrong_header = parse(Signal.SUCCESS, "billing", b"", REQUIRED, ((HEADER, b"nope"),))
    assert wrong_header == PING_KEY_WRONG
    for refusal in (PING_KEY_REQUIRED, PING_KEY_WRONG):
        assert refusal.status == 401
        assert "X-Ping-Key" in refusal.content["detail"]
        assert "ping_key" in refusal.content["detail"]


def test_a_configured_key_not_required_decides_only_who_may_register() -> None:
    anonymous = parse(Signal.SUCCESS, "billing", b"", KEYED)
    assert isinstance(anonymous, ParsedPing) and not anonymous.may_register
    wrong = parse(Signal.SUCCESS, "billing", b"ping_key=nope", KEYED)
    assert isinstance(wrong, ParsedPing) and not wrong.may_register
    keyed = parse(Signal.SUCCESS, "billing", f"ping_key={PING_KEY}".encode(), KEYED)
    assert isinstance(keyed, ParsedPing) and keyed.may_register
    no_key = parse(Signal.SUCCESS, "billing", b"", OPEN)
    assert isinstance(no_key, ParsedPing) and no_key.may_register


@PROPERTY
@given(st.text(), st.binary())
def test_any_sent_key_is_compared_never_raised_on(text: str, raw: bytes) -> None:
    """Non-ASCII text, lone surrogates, any bytes: a verdict, never an exception (a str
    that is not ASCII made `hmac.compare_digest` raise, a 500)."""
    for configured in (KEYED, REQUIRED, Settings(ping_key="clé-de-ping-\u00e9\u20ac")):
        for sent in (text, raw, None):
            verdict = check_ping_key(configured, sent)
            assert verdict is False or isinstance(verdict, PingRefused)


def test_a_non_ascii_key_matches_as_utf8_from_the_query_the_header_or_the_path() -> None:
    key = "clé-de-ping-\u00e9\u20ac"
    configured = Settings(ping_key=key, require_ping_key=True)
    assert check_ping_key(configured, key) is True
    assert check_ping_key(configured, key.encode()) is True
    assert check_ping_key(configured, quote(key)) is not True
    via_query = parse(Signal.SUCCESS, "b", f"ping_key={quote(key)}".encode(), configured)
    assert isinstance(via_query, ParsedPing)
