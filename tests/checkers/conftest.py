"""Real servers on 127.0.0.1 for the checkers to probe, and the shared HTTP client.

Every server listens on a socket the test binds itself (port 0), so tests run in
parallel with anything else on the machine and nothing leaves it.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import trustme
from aiohttp import web

from heartwatch.checkers.base import CheckContext
from tests.fakes.net import bound_socket, closed_port, http_session, port_of  # noqa: F401 - fixtures

Serve = Callable[..., Awaitable[str]]
RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
ServeRaw = Callable[[RawHandler], Awaitable[int]]


@pytest.fixture
def ctx(http_session: aiohttp.ClientSession) -> CheckContext:  # noqa: F811 - imported fixture
    return CheckContext(http=http_session)


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start an aiohttp app on a free port: `await serve(app)` -> "http://127.0.0.1:PORT"
    (https with `ssl_context=`). Stopped after the test."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application, *, ssl_context: ssl.SSLContext | None = None) -> str:
        # handler_cancellation: a slow handler whose client gave up (a timeout test)
        # is cancelled instead of holding the shutdown.
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5
        )
        await runner.setup()
        runners.append(runner)
        sock = bound_socket()
        site = web.SockSite(runner, sock, ssl_context=ssl_context)
        await site.start()
        scheme = "https" if ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{port_of(sock)}"

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def serve_raw() -> AsyncIterator[ServeRaw]:
    """Start a raw TCP server running `handler` per connection; returns its port."""
    servers: list[asyncio.Server] = []

    async def start(handler: RawHandler) -> int:
        sock = bound_socket()
        server = await asyncio.start_server(handler, sock=sock)
        servers.append(server)
        return port_of(sock)

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def trusting_ctx(ca: trustme.CA) -> AsyncIterator[CheckContext]:
    """A context whose HTTP session trusts `ca`, as if it were a public CA."""
    client_ssl = ssl.create_default_context()
    ca.configure_trust(client_ssl)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=client_ssl), cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        yield CheckContext(http=session)


def server_ssl(ca: trustme.CA, **issue: Any) -> ssl.SSLContext:
    """A server TLS context with a certificate for 127.0.0.1 issued by `ca`."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", **issue).configure_cert(context)
    return context
