"""Sockets and servers on 127.0.0.1, bound by the test itself (port 0), so fakes run in
parallel with anything else on the machine and nothing leaves it."""

from __future__ import annotations

import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import closing
from types import TracebackType
from typing import Self

import aiohttp
import pytest
import trustme
from aiohttp import web


def bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def port_of(sock: socket.socket) -> int:
    port: int = sock.getsockname()[1]
    return port


async def start_app(
    app: web.Application, *, ssl_context: ssl.SSLContext | None = None
) -> tuple[web.AppRunner, str]:
    """Serve `app` on a free port: (runner to clean up, "http://127.0.0.1:PORT")."""
    # handler_cancellation: a slow handler whose client gave up (a timeout test) is
    # cancelled instead of holding the shutdown.
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    sock = bound_socket()
    await web.SockSite(runner, sock, ssl_context=ssl_context).start()
    scheme = "https" if ssl_context is not None else "http"
    return runner, f"{scheme}://127.0.0.1:{port_of(sock)}"


class LocalServer:
    """A fake server's lifecycle: `start()` (or `async with`) serves its app on a free port
    of 127.0.0.1 (`_serve`), `close()` stops it."""

    _runner: web.AppRunner | None = None

    async def start(self) -> Self:
        raise NotImplementedError

    async def _serve(self, app: web.Application) -> str:
        """Serve `app`; returns its base URL."""
        self._runner, url = await start_app(app)
        return url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def server_ssl(ca: trustme.CA, host: str = "127.0.0.1") -> ssl.SSLContext:
    """A server TLS context with a certificate for `host` issued by `ca`."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(host).configure_cert(context)
    return context


def client_ssl(ca: trustme.CA) -> ssl.SSLContext:
    """A client TLS context that trusts `ca` as if it were a public CA."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on: connecting to it is refused at once."""
    with closing(bound_socket()) as sock:
        return port_of(sock)


@pytest.fixture
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    """Shaped like the runtime's session: no cookie jar, no raise_for_status."""
    async with aiohttp.ClientSession(
        cookie_jar=aiohttp.DummyCookieJar(), raise_for_status=False
    ) as session:
        yield session
