"""The TCP checker against real asyncio servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
from typing import Any

from heartwatch.checkers.base import CheckContext, Outcome, Probe
from heartwatch.checkers.tcp import TcpChecker, TcpSettings, split_endpoint
from tests.checkers.conftest import ServeRaw


async def check(ctx: CheckContext, endpoint: str, timeout_s: float = 2.0, **fields: Any) -> Outcome:
    parsed = TcpChecker.parse_endpoint(endpoint)
    return await TcpChecker().probe(Probe(parsed, timeout_s, TcpSettings(**fields)), ctx)


async def redis_like(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    line = await reader.readline()
    writer.write(b"+PONG\r\n" if line == b"PING\r\n" else b"-ERR unknown command\r\n")
    await writer.drain()
    writer.close()


async def test_up_and_closed_cleanly(ctx: CheckContext, serve_raw: ServeRaw) -> None:
    closed_by_client: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    async def wait_for_eof(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        closed_by_client.set_result(await reader.read())  # b"" once the client sent FIN
        writer.close()

    port = await serve_raw(wait_for_eof)
    outcome = await check(ctx, f"127.0.0.1:{port}")
    assert (outcome.up, outcome.error) == (True, None)
    assert outcome.latency_ms is not None and outcome.latency_ms > 0
    assert await asyncio.wait_for(closed_by_client, 1) == b""


async def test_refused(ctx: CheckContext, closed_port: int) -> None:
    outcome = await check(ctx, f"127.0.0.1:{closed_port}")
    assert (outcome.up, outcome.error, outcome.failed_assertion) == (
        False,
        f"connection refused (127.0.0.1:{closed_port})",
        "connection",
    )


async def test_send_and_expect(ctx: CheckContext, serve_raw: ServeRaw) -> None:
    port = await serve_raw(redis_like)
    outcome = await check(ctx, f"127.0.0.1:{port}", send="PING\r\n", expect_prefix="+PONG")
    assert (outcome.up, outcome.detail) == (True, "+PONG\r\n")
    wrong = await check(ctx, f"127.0.0.1:{port}", send="PNG\r\n", expect_prefix="+PONG")
    assert (wrong.up, wrong.failed_assertion) == (False, "expect_prefix")
    assert wrong.error == "reply «-ERR unknown command\\r\\n» does not start with '+PONG'"


async def test_banner_without_sending(ctx: CheckContext, serve_raw: ServeRaw) -> None:
    async def ssh(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # in two segments: the checker must keep reading until it has the whole prefix
        writer.write(b"SS")
        await writer.drain()
        await asyncio.sleep(0.01)
        writer.write(b"H-2.0-OpenSSH_9.6\r\n")
        await writer.drain()
        writer.close()

    port = await serve_raw(ssh)
    assert (await check(ctx, f"127.0.0.1:{port}", expect_prefix="SSH-2.0")).up


async def test_hang_up_without_a_reply(ctx: CheckContext, serve_raw: ServeRaw) -> None:
    async def rude(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    port = await serve_raw(rude)
    outcome = await check(ctx, f"127.0.0.1:{port}", expect_prefix="220 ")
    assert outcome.error == "no reply (the server hung up), expected '220 '"


async def test_timeout_waiting_for_the_reply(ctx: CheckContext, serve_raw: ServeRaw) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client goes away
        writer.close()

    port = await serve_raw(silent)
    outcome = await check(ctx, f"127.0.0.1:{port}", timeout_s=0.2, expect_prefix="+OK")
    assert (outcome.error, outcome.failed_assertion) == (
        "timeout after 200 ms waiting for the reply",
        "timeout",
    )


def test_split_endpoint() -> None:
    assert split_endpoint("db.internal:5432") == ("db.internal", 5432)
    assert split_endpoint("[::1]:6379") == ("::1", 6379)
