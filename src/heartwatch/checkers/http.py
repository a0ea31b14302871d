"""HTTP(S) checks: one request, then assertions on what came back.

The assertions run in a fixed order (status, keyword, keyword_absent, json_path,
max_response_ms, certificate) and the first that fails is the one reported, with the
value seen, so "down" always comes with a reason a person can act on.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import re
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Literal
from urllib.parse import urlsplit

import aiohttp
from pydantic import Field, JsonValue, StrictBool, field_validator, model_validator
from yarl import URL

from heartwatch import __version__
from heartwatch.checkers import certs, http_errors, jsonpath
from heartwatch.checkers.base import CheckContext, Checker, CheckerSettings, Outcome, Probe
from heartwatch.domain.service_types import ServiceType
from heartwatch.domain.snippets import quote

# A health page is small; reading more would only cost memory on a thousand checks.
MAX_BODY_BYTES = 1024 * 1024
DETAIL_CHARS = 300
USER_AGENT = f"heartwatch/{__version__} (uptime check)"
# The request headers of a check without headers of its own (aiohttp copies them).
_HEADERS = MappingProxyType({"User-Agent": USER_AGENT})

Method = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_STATUS_ITEM = re.compile(r"\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?")
# RFC 9110 token characters, the only ones allowed in a header name.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def status_range(item: str) -> tuple[int, int]:
    """`"200"` -> (200, 200); `"200-299"` -> (200, 299); ValueError otherwise."""
    match = _STATUS_ITEM.fullmatch(item)
    if match is None:
        raise ValueError(f"{item!r} is not a status code or a range such as 200-299")
    low = int(match.group(1))
    high = int(match.group(2) or low)
    if not 100 <= low <= high <= 599:
        raise ValueError(f"{item!r} is not a range of HTTP status codes (100-599, low-high)")
    return low, high


class HttpSettings(CheckerSettings):
    method: Method = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    # (strict: JSON true or false; "yes" or 0 is refused, not guessed at)
    follow_redirects: StrictBool = True
    verify_tls: StrictBool = True
    accepted_status_codes: list[str] = Field(default_factory=lambda: ["200-399"], min_length=1)
    expect_keyword: str | None = Field(None, min_length=1)
    expect_keyword_absent: str | None = Field(None, min_length=1)
    json_path: str | None = None
    # With json_path: the value it must have. Left out (null), the path must only exist.
    json_expected: JsonValue = None
    max_response_ms: float | None = Field(None, gt=0)
    cert_expiry_days: int | None = Field(None, ge=1, le=3650)

    @field_validator("method", mode="before")
    @classmethod
    def _upper_method(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("accepted_status_codes", mode="before")
    @classmethod
    def _codes_as_text(cls, value: object) -> object:
        # [200, 204] is what people type in JSON and YAML; store it as ["200", "204"].
        if isinstance(value, list):
            return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
        return value

    @field_validator("accepted_status_codes")
    @classmethod
    def _valid_codes(cls, value: list[str]) -> list[str]:
        return [_normalise_range(item) for item in value]

    @field_validator("headers")
    @classmethod
    def _valid_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a valid header name")
            if "\r" in text or "\n" in text:
                raise ValueError(f"header {name!r} has a line break in its value")
        return value

    @field_validator("json_path")
    @classmethod
    def _valid_path(cls, value: str | None) -> str | None:
        if value is not None:
            jsonpath.parse(value)
        return value

    @model_validator(mode="after")
    def _expected_needs_path(self) -> HttpSettings:
        if self.json_expected is not None and self.json_path is None:
            raise ValueError("json_expected needs json_path (which value to compare)")
        return self

    def ranges(self) -> tuple[tuple[int, int], ...]:
        return _ranges(tuple(self.accepted_status_codes))


@functools.lru_cache(maxsize=256)
def _ranges(items: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    # Parsed once per distinct list, not once per check.
    return tuple(status_range(item) for item in items)


@functools.lru_cache(maxsize=20_000)
def _url(endpoint: str) -> URL | str:
    """An endpoint as aiohttp would parse it, parsed once: the same endpoints are checked
    over and over, and parsing one costs about a tenth of the rest of a check's CPU. One
    that yarl refuses stays text, for aiohttp to refuse as it always has (an
    InvalidUrlClientError, reported as a connection problem, not a checker crash)."""
    try:
        return URL(endpoint)
    except ValueError:  # (UnicodeError too: a host IDNA cannot encode)
        return endpoint


def _normalise_range(item: str) -> str:
    low, high = status_range(item)
    return str(low) if low == high else f"{low}-{high}"


class HttpChecker(Checker):
    type = ServiceType.HTTP
    Settings = HttpSettings
    # aiohttp's total timeout bounds the whole request (connection, DNS, headers, body);
    # the certificate fallback gets what is left of the budget.
    enforces_timeout = True

    @classmethod
    def parse_endpoint(cls, endpoint: str) -> str:
        url = endpoint.strip()
        example = "such as https://example.com/health"
        if not url or any(ch.isspace() for ch in url):
            raise ValueError(f"must be an absolute http(s) URL {example}, got {endpoint!r}")
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            raise ValueError(f"must be an absolute http(s) URL {example}, got {endpoint!r}")
        if not parts.hostname:
            raise ValueError(f"URL {endpoint!r} has no host")
        try:
            parts.port  # noqa: B018 - urlsplit checks the port only when asked
        except ValueError as exc:
            raise ValueError(f"URL {endpoint!r} has a bad port: {exc}") from None
        return url

    @classmethod
    def target_host(cls, endpoint: str) -> str | None:
        return urlsplit(endpoint).hostname

    async def probe(self, probe: Probe, ctx: CheckContext) -> Outcome:
        settings = probe.settings
        if not isinstance(settings, HttpSettings):
            raise TypeError(f"http checks need HttpSettings, got {type(settings).__name__}")
        headers = {"User-Agent": USER_AGENT, **settings.headers} if settings.headers else _HEADERS
        started = time.perf_counter()
        try:
            async with ctx.http.request(
                settings.method,
                _url(probe.endpoint),
                headers=headers,
                data=settings.body.encode() if settings.body is not None else None,
                allow_redirects=settings.follow_redirects,
                # True keeps the session's own verifying context; False skips verification.
                ssl=settings.verify_tls,
                # To the millisecond: aiohttp rounds a timeout of 5 s or more up to the
                # loop's next whole second unless told otherwise.
                timeout=aiohttp.ClientTimeout(total=probe.timeout_s, ceil_threshold=math.inf),
            ) as response:
                transport = _transport_of(response)
                cert_expires_at = certs.peer_cert_not_after(transport)
                body, truncated = await _read_capped(response)
                latency_ms = _ms_since(started)
        except TimeoutError:
            return Outcome(
                up=False,
                error=f"timeout after {probe.timeout_s * 1000:.0f} ms",
                failed_assertion="timeout",
            )
        except aiohttp.ClientError as exc:
            error, assertion = http_errors.describe(exc)
            return Outcome(up=False, error=error, failed_assertion=assertion)
        if cert_expires_at is None and settings.cert_expiry_days is not None:
            cert_expires_at = await _cert_of(response.url, probe, ctx, started)
        text = body.decode(_charset(response), errors="replace")
        outcome = Outcome(
            up=True,
            latency_ms=latency_ms,
            http_status=response.status,
            detail=_excerpt(text),
            cert_expires_at=cert_expires_at,
        )
        failure = _first_failure(settings, response.status, text, truncated, outcome)
        if failure is None:
            return outcome
        error, assertion = failure
        return replace(outcome, up=False, error=error, failed_assertion=assertion)


def _first_failure(
    settings: HttpSettings, status: int, text: str, truncated: bool, seen: Outcome
) -> tuple[str, str] | None:
    ranges = settings.ranges()
    if not any(low <= status <= high for low, high in ranges):
        accepted = ", ".join(settings.accepted_status_codes)
        return f"status {status} not in {accepted}", "status"
    where = f" in the first {MAX_BODY_BYTES // 1024} KB" if truncated else ""
    if settings.expect_keyword is not None and settings.expect_keyword not in text:
        return f"keyword {settings.expect_keyword!r} not found{where}", "keyword"
    if settings.expect_keyword_absent is not None and settings.expect_keyword_absent in text:
        return f"keyword {settings.expect_keyword_absent!r} found", "keyword_absent"
    if settings.json_path is not None:
        problem = _json_problem(settings.json_path, settings.json_expected, text)
        if problem is not None:
            return problem, "json_path"
    limit, took = settings.max_response_ms, seen.latency_ms
    if limit is not None and took is not None and took > limit:
        return f"response took {took:.0f} ms > max {limit:g} ms", "max_response_ms"
    if settings.cert_expiry_days is not None:
        return _cert_problem(settings.cert_expiry_days, seen.cert_expires_at)
    return None


def _json_problem(path_text: str, expected: JsonValue, text: str) -> str | None:
    path = jsonpath.parse(path_text)
    try:
        document = json.loads(text)
    except ValueError:
        shown = _excerpt(text, 60)
        return f"json_path {path}: response is not JSON: {quote(shown) if shown else '(empty)'}"
    try:
        value = jsonpath.evaluate(document, path)
    except jsonpath.Missing as missing:
        return f"json_path {path} not found: {missing}"
    if expected is not None and not jsonpath.json_equal(value, expected):
        seen = quote(jsonpath.show(value))
        return f"json_path {path} is {seen}, expected {jsonpath.show(expected)}"
    return None


def _cert_problem(days: int, expires_at: datetime | None) -> tuple[str, str] | None:
    if expires_at is None:
        return "cannot read the TLS certificate (is the endpoint https?)", "certificate"
    left = expires_at - datetime.now(UTC)
    if left >= timedelta(days=days):
        return None
    when = expires_at.strftime("%Y-%m-%d %H:%M UTC")
    if left <= timedelta(0):
        return f"certificate expired on {when}", "certificate"
    return f"certificate expires in {_span(left)} ({when}), within {days} days", "certificate"


def _span(left: timedelta) -> str:
    if left.days >= 1:
        return f"{left.days} day{'s' if left.days > 1 else ''}"
    hours = int(left.total_seconds() // 3600)
    return f"{hours} hour{'s' if hours != 1 else ''}"


def _transport_of(response: aiohttp.ClientResponse) -> asyncio.BaseTransport | None:
    """The transport the response came in on, to read its peer certificate."""
    # While the body is unread the response holds its connection. But a short body is
    # usually complete with the headers, and aiohttp then hands the connection back to
    # its pool before we see the response (`connection` is None); the protocol it came
    # in on still has the transport while the connection is kept alive. (`_protocol` is
    # private: read defensively; when it is gone, `_cert_of` still answers.)
    if response.connection is not None:
        return response.connection.transport
    protocol = getattr(response, "_protocol", None)
    transport = getattr(protocol, "transport", None)
    return transport if isinstance(transport, asyncio.BaseTransport) else None


async def _cert_of(url: URL, probe: Probe, ctx: CheckContext, started: float) -> datetime | None:
    """The certificate's expiry through a connection of our own, for when the server
    closed the one the response came in on (`Connection: close`)."""
    if url.scheme != "https" or url.host is None:
        return None
    left = probe.timeout_s - (time.perf_counter() - started)
    if left <= 0:
        return None
    return await certs.fetch_not_after(url.host, url.port or 443, left, ctx.network)


def _charset(response: aiohttp.ClientResponse) -> str:
    charset = response.charset or "utf-8"
    try:
        "".encode(charset)
    except LookupError:  # a server naming a codec Python does not know
        return "utf-8"
    return charset


async def _read_capped(response: aiohttp.ClientResponse) -> tuple[bytes, bool]:
    """The body up to MAX_BODY_BYTES, and whether there was more."""
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_BODY_BYTES:
        chunk = await response.content.read(MAX_BODY_BYTES + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if response.content.at_eof():  # (a small body: no read that only says "done")
            break
    body = b"".join(chunks)
    return body[:MAX_BODY_BYTES], size > MAX_BODY_BYTES


def _excerpt(text: str, limit: int = DETAIL_CHARS) -> str | None:
    flat = " ".join(text.split())
    if not flat:
        return None
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
