"""TCP checks: the port accepts a connection; optionally send a line and check that the
reply starts with what a healthy server says (`+PONG`, `SSH-`, `220 `)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from urllib.parse import urlsplit

from pydantic import Field

from heartwatch import netguard
from heartwatch.checkers.base import CheckContext, Checker, CheckerSettings, Outcome, Probe
from heartwatch.checkers.jsonpath import show
from heartwatch.domain.network import DeniedAddress
from heartwatch.domain.service_types import ServiceType
from heartwatch.domain.snippets import quote

DETAIL_CHARS = 200


class TcpSettings(CheckerSettings):
    # Sent as UTF-8 once connected (JSON/YAML escapes give "\r\n" where a protocol needs it).
    send: str | None = Field(None, min_length=1)
    # The reply must start with this; without `send`, this checks the server's banner.
    expect_prefix: str | None = Field(None, min_length=1)


class TcpChecker(Checker):
    type = ServiceType.TCP
    Settings = TcpSettings

    @classmethod
    def parse_endpoint(cls, endpoint: str) -> str:
        text = endpoint.strip()
        example = "host:port, such as db.internal:5432 or [::1]:6379"
        if not text or any(ch.isspace() for ch in text) or "/" in text or "@" in text:
            raise ValueError(f"must be {example}, got {endpoint!r}")
        if text.count(":") > 1 and not text.startswith("["):
            raise ValueError(f"IPv6 addresses need brackets, as in [::1]:6379; got {endpoint!r}")
        parts = urlsplit(f"//{text}")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"{endpoint!r} has a bad port (1-65535); must be {example}") from None
        if port is None or port == 0:
            raise ValueError(f"{endpoint!r} has no port; must be {example}")
        if not parts.hostname:
            raise ValueError(f"{endpoint!r} has no host; must be {example}")
        return text

    @classmethod
    def target_host(cls, endpoint: str) -> str | None:
        return split_endpoint(endpoint)[0]

    async def probe(self, probe: Probe, ctx: CheckContext) -> Outcome:
        settings = probe.settings
        if not isinstance(settings, TcpSettings):
            raise TypeError(f"tcp checks need TcpSettings, got {type(settings).__name__}")
        host, port = split_endpoint(probe.endpoint)
        stage = "connecting"
        started = time.perf_counter()
        writer: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(probe.timeout_s):
                reader, writer = await netguard.open_connection(host, port, ctx.network)
                if settings.send is not None:
                    stage = "sending"
                    writer.write(settings.send.encode())
                    await writer.drain()
                reply = b""
                if settings.expect_prefix is not None:
                    stage = "waiting for the reply"
                    reply = await _read_at_least(reader, len(settings.expect_prefix.encode()))
                latency_ms = (time.perf_counter() - started) * 1000
        except TimeoutError:
            ms = probe.timeout_s * 1000
            return _down(f"timeout after {ms:.0f} ms {stage}", "timeout")
        except socket.gaierror as exc:
            return _down(f"DNS: cannot resolve {host!r}: {exc.strerror}", "dns")
        except DeniedAddress as exc:
            return _down(f"refused to connect to {probe.endpoint}: {exc}", "denied")
        except ConnectionRefusedError:
            return _down(f"connection refused ({probe.endpoint})", "connection")
        except OSError as exc:
            why = exc.strerror or str(exc) or type(exc).__name__
            return _down(f"{stage}: {why}", "connection")
        finally:
            if writer is not None:
                writer.close()
        assert writer is not None
        await _wait_closed(writer)
        text = reply.decode(errors="replace")
        detail = text[:DETAIL_CHARS] or None
        prefix = settings.expect_prefix
        if prefix is not None and not text.startswith(prefix):
            if text:
                seen = quote(repr(text[: len(prefix) + 20])[1:-1])
                error = f"reply {seen} does not start with {show(prefix)}"
            else:
                error = f"no reply (the server hung up), expected {show(prefix)}"
            return Outcome(
                up=False,
                latency_ms=latency_ms,
                error=error,
                failed_assertion="expect_prefix",
                detail=detail,
            )
        return Outcome(up=True, latency_ms=latency_ms, detail=detail)


def _down(error: str, failed_assertion: str) -> Outcome:
    return Outcome(up=False, error=error, failed_assertion=failed_assertion)


def split_endpoint(endpoint: str) -> tuple[str, int]:
    parts = urlsplit(f"//{endpoint}")
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


async def _read_at_least(reader: asyncio.StreamReader, count: int) -> bytes:
    """Up to `count` bytes, fewer only if the server hung up first (TCP may split a reply
    across segments, so one read() is not enough)."""
    data = b""
    while len(data) < count:
        chunk = await reader.read(max(count - len(data), DETAIL_CHARS))
        if not chunk:
            break
        data += chunk
    return data


async def _wait_closed(writer: asyncio.StreamWriter) -> None:
    # Closed politely (FIN, not left to the garbage collector); but a peer that already
    # reset the connection, or never answers, must not turn a finished check into an
    # error or a hang. (On the error paths the socket is closed without waiting.)
    with contextlib.suppress(OSError, TimeoutError):
        async with asyncio.timeout(1):
            await writer.wait_closed()
