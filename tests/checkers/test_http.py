"""The HTTP checker against a real aiohttp server on 127.0.0.1: every way of being down
says why, with the value seen."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import struct
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from heartwatch.checkers.base import CheckContext, Outcome, Probe
from heartwatch.checkers.http import MAX_BODY_BYTES, USER_AGENT, HttpChecker, HttpSettings
from tests.checkers.conftest import Serve, ServeRaw

HEALTH = {"status": "ok", "data": {"state": "degraded", "items": [{"id": 1}, {"id": 2}]}}


def target_app() -> web.Application:
    routes = web.RouteTableDef()

    @routes.get("/ok")
    async def ok(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    @routes.get("/status/{code}")
    async def status(request: web.Request) -> web.Response:
        code = int(request.match_info["code"])
        return web.Response(status=code, text=f"answered {code}")

    @routes.get("/slow")
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query["ms"]) / 1000)
        return web.Response(text="late")

    @routes.get("/text")
    async def text(request: web.Request) -> web.Response:
        return web.Response(text=request.query["body"])

    @routes.get("/health")
    async def health(_: web.Request) -> web.Response:
        return web.json_response(HEALTH)

    @routes.get("/redirect")
    async def redirect(_: web.Request) -> web.Response:
        raise web.HTTPFound("/ok")

    @routes.get("/loop")
    async def loop(_: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    @routes.route("*", "/echo")
    async def echo(request: web.Request) -> web.Response:
        headers = ("X-Token", "Content-Type", "User-Agent")
        return web.json_response(
            {
                "method": request.method,
                "headers": {name: request.headers.get(name) for name in headers},
                "body": await request.text(),
            }
        )

    @routes.get("/big")
    async def big(_: web.Request) -> web.Response:
        return web.Response(body=b"a" * (MAX_BODY_BYTES + 10) + b" needle")

    app = web.Application()
    app.add_routes(routes)
    return app


@pytest.fixture
async def target(serve: Serve) -> str:
    return await serve(target_app())


async def check(ctx: CheckContext, url: str, timeout_s: float = 2.0, **fields: Any) -> Outcome:
    endpoint = HttpChecker.parse_endpoint(url)
    return await HttpChecker().probe(Probe(endpoint, timeout_s, HttpSettings(**fields)), ctx)


async def test_up(ctx: CheckContext, target: str) -> None:
    outcome = await check(ctx, f"{target}/ok")
    assert outcome.up, outcome
    assert (outcome.http_status, outcome.detail, outcome.error) == (200, "ok", None)
    assert outcome.latency_ms is not None and outcome.latency_ms > 0
    assert outcome.cert_expires_at is None  # plain http


async def test_down_by_status_says_which(ctx: CheckContext, target: str) -> None:
    outcome = await check(ctx, f"{target}/status/503")
    assert not outcome.up
    assert outcome.error == "status 503 not in 200-399"
    assert (outcome.failed_assertion, outcome.http_status) == ("status", 503)
    assert outcome.detail == "answered 503"  # what the server said, for people


async def test_accepted_status_codes(ctx: CheckContext, target: str) -> None:
    assert (await check(ctx, f"{target}/status/418", accepted_status_codes=["418"])).up
    outcome = await check(ctx, f"{target}/status/404", accepted_status_codes=[200, "500-599"])
    assert outcome.error == "status 404 not in 200, 500-599"


async def test_timeout(ctx: CheckContext, target: str) -> None:
    started = time.perf_counter()
    outcome = await check(ctx, f"{target}/slow?ms=3000", timeout_s=0.2)
    assert time.perf_counter() - started < 1.0
    assert (outcome.up, outcome.error, outcome.failed_assertion) == (
        False,
        "timeout after 200 ms",
        "timeout",
    )


async def test_refused_connection(ctx: CheckContext, closed_port: int) -> None:
    outcome = await check(ctx, f"http://127.0.0.1:{closed_port}/")
    assert not outcome.up
    assert outcome.error == f"connection refused (127.0.0.1:{closed_port})"
    assert outcome.failed_assertion == "connection"


async def test_keyword(ctx: CheckContext, target: str) -> None:
    assert (await check(ctx, f"{target}/text?body=all+good", expect_keyword="good")).up
    outcome = await check(ctx, f"{target}/text?body=all+good", expect_keyword="healthy")
    assert (outcome.error, outcome.failed_assertion) == ("keyword 'healthy' not found", "keyword")


async def test_keyword_absent(ctx: CheckContext, target: str) -> None:
    url = f"{target}/text?body=database+error"
    assert (await check(ctx, url, expect_keyword_absent="timeout")).up
    outcome = await check(ctx, url, expect_keyword_absent="error")
    assert (outcome.error, outcome.failed_assertion) == ("keyword 'error' found", "keyword_absent")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("status", "ok"),
        ("$.data.items[1].id", 2),
        ("data.items[-1]", {"id": 2}),
        ("data.state", None),  # no expected value: the path must only exist
        ("$", HEALTH),
    ],
)
async def test_json_path_up(ctx: CheckContext, target: str, path: str, expected: object) -> None:
    outcome = await check(ctx, f"{target}/health", json_path=path, json_expected=expected)
    assert outcome.up, outcome.error


@pytest.mark.parametrize(
    ("path", "expected", "error"),
    [
        ("data.state", "ok", "json_path data.state is «'degraded'», expected 'ok'"),
        ("data.items[0].id", "1", "json_path data.items[0].id is «1», expected '1'"),
        ("data.items[0].id", True, "json_path data.items[0].id is «1», expected true"),
        ("data.missing", None, "json_path data.missing not found: $.data has no key 'missing'"),
        (
            "data.items[5].id",
            1,
            "json_path data.items[5].id not found: $.data.items has no item [5] (it has 2 items)",
        ),
        ("status.code", 200, "json_path status.code not found: $.status is «'ok'», not an object"),
    ],
)
async def test_json_path_down_shows_the_value_seen(
    ctx: CheckContext, target: str, path: str, expected: object, error: str
) -> None:
    outcome = await check(ctx, f"{target}/health", json_path=path, json_expected=expected)
    assert (outcome.up, outcome.failed_assertion) == (False, "json_path")
    assert outcome.error is not None and outcome.error.startswith(error), outcome.error


async def test_json_path_on_a_body_that_is_not_json(ctx: CheckContext, target: str) -> None:
    outcome = await check(ctx, f"{target}/ok", json_path="status", json_expected="ok")
    assert outcome.error == "json_path status: response is not JSON: «ok»"


async def test_slow_response(ctx: CheckContext, target: str) -> None:
    outcome = await check(ctx, f"{target}/slow?ms=120", max_response_ms=50)
    assert (outcome.up, outcome.failed_assertion, outcome.http_status) == (
        False,
        "max_response_ms",
        200,
    )
    assert outcome.error is not None and outcome.error.endswith(" ms > max 50 ms")
    assert outcome.latency_ms is not None and outcome.latency_ms >= 120
    assert (await check(ctx, f"{target}/ok", max_response_ms=1000)).up


async def test_redirects_followed_or_not(ctx: CheckContext, target: str) -> None:
    followed = await check(ctx, f"{target}/redirect", accepted_status_codes=["200"])
    assert (followed.up, followed.http_status, followed.detail) == (True, 200, "ok")
    kept = await check(
        ctx, f"{target}/redirect", follow_redirects=False, accepted_status_codes=["200"]
    )
    assert (kept.up, kept.http_status, kept.error) == (False, 302, "status 302 not in 200")
    # the default range (200-399) counts a redirect that is not followed as up
    assert (await check(ctx, f"{target}/redirect", follow_redirects=False)).up


async def test_a_redirect_loop_is_down(ctx: CheckContext, target: str) -> None:
    outcome = await check(ctx, f"{target}/loop")
    assert (outcome.up, outcome.failed_assertion) == (False, "redirect")
    assert outcome.error is not None and outcome.error.startswith("too many redirects")


async def test_method_headers_and_body_reach_the_server(ctx: CheckContext, target: str) -> None:
    outcome = await check(
        ctx,
        f"{target}/echo",
        method="patch",
        headers={"X-Token": "s3cret", "Content-Type": "application/json"},
        body='{"ping": 1}',
        json_path="method",
        json_expected="PATCH",
    )
    assert outcome.up, outcome.error
    assert outcome.detail is not None
    seen = json.loads(outcome.detail)
    assert seen["headers"]["X-Token"] == "s3cret"
    assert seen["headers"]["Content-Type"] == "application/json"
    assert seen["headers"]["User-Agent"] == USER_AGENT
    assert seen["body"] == '{"ping": 1}'


async def test_head_has_no_body(ctx: CheckContext, target: str) -> None:
    outcome = await check(ctx, f"{target}/ok", method="HEAD")
    assert (outcome.up, outcome.http_status, outcome.detail) == (True, 200, None)


async def test_only_the_first_megabyte_is_read(ctx: CheckContext, target: str) -> None:
    outcome = await check(ctx, f"{target}/big", expect_keyword="needle")
    assert outcome.error == "keyword 'needle' not found in the first 1024 KB"
    assert outcome.detail is not None and len(outcome.detail) <= 300


async def test_garbage_instead_of_http(ctx: CheckContext, serve_raw: ServeRaw) -> None:
    async def ssh_banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        await writer.drain()
        writer.close()

    port = await serve_raw(ssh_banner)
    outcome = await check(ctx, f"http://127.0.0.1:{port}/")
    assert (outcome.up, outcome.failed_assertion) == (False, "protocol")
    assert outcome.error is not None
    assert outcome.error.startswith("invalid HTTP response: «Bad status line")
    assert "SSH-2.0-OpenSSH_9.6" in outcome.error and "\n" not in outcome.error


async def test_server_hangs_up_without_answering(ctx: CheckContext, serve_raw: ServeRaw) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    port = await serve_raw(hang_up)
    outcome = await check(ctx, f"http://127.0.0.1:{port}/")
    assert (outcome.up, outcome.failed_assertion) == (False, "connection")
    assert outcome.error == "server closed the connection without a response"


async def test_connection_reset(ctx: CheckContext, serve_raw: ServeRaw) -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        # SO_LINGER 0: close sends RST instead of FIN
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    port = await serve_raw(reset)
    outcome = await check(ctx, f"http://127.0.0.1:{port}/")
    assert (outcome.up, outcome.failed_assertion) == (False, "connection")
    # Which of the two the client sees depends on timing; both say what happened.
    assert outcome.error in (
        "connection reset by peer",
        "server closed the connection without a response",
    )


async def test_body_cut_short(ctx: CheckContext, serve_raw: ServeRaw) -> None:
    async def short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
        await writer.drain()
        writer.close()

    port = await serve_raw(short)
    outcome = await check(ctx, f"http://127.0.0.1:{port}/")
    assert (outcome.up, outcome.failed_assertion) == (False, "protocol")
    assert outcome.error is not None and "received 3 of 100 bytes" in outcome.error


def _nameservers() -> list[str]:
    try:
        lines = Path("/etc/resolv.conf").read_text().splitlines()
    except OSError:
        return []
    return [
        line.split()[1] for line in lines if line.startswith("nameserver ") and line.split()[1:]
    ]


def _resolver_is_local() -> bool:
    servers = _nameservers()
    return bool(servers) and all(
        ipaddress.ip_address(server.split("%")[0]).is_loopback for server in servers
    )


@pytest.mark.skipif(
    not _resolver_is_local(),
    reason=f"resolving a .invalid name would query {', '.join(_nameservers()) or 'no'} "
    "nameserver off this machine",
)
async def test_dns_failure(ctx: CheckContext) -> None:
    outcome = await check(ctx, "http://heartwatch-test.invalid/")
    assert (outcome.up, outcome.failed_assertion) == (False, "dns")
    assert outcome.error is not None
    assert outcome.error.startswith("DNS: cannot resolve 'heartwatch-test.invalid'")


async def test_a_url_that_cannot_be_encoded_is_down_as_a_connection_problem(
    ctx: CheckContext,
) -> None:
    """It parses as a URL, but its host cannot be IDNA-encoded: aiohttp refuses it before
    any lookup (nothing leaves the machine), and that is reported, not a checker crash
    (the parsed endpoints are cached; one that does not parse stays text for aiohttp)."""
    for _ in range(2):  # the second time from the cache
        outcome = await check(ctx, "http://\u2603..com/")
        assert (outcome.up, outcome.failed_assertion) == (False, "connection")
        assert outcome.error is not None and "InvalidUrlClientError" in outcome.error
