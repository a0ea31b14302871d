"""Browser tests' parts: Debian's chromium driven by Playwright (a session-scoped
`browser` fixture, registered for every test by tests/conftest.py), pages that may reach
127.0.0.1 only, and an ASGI app served on a real port.

The browser is the system's /usr/bin/chromium (`.ci/run` installs it), never one that
Playwright downloads. Playwright's async API, on the session's event loop: a test that
uses `browser` is marked `IN_BROWSER_LOOP` (so it runs on that loop too), and the server
it talks to runs in that same loop (`served`). (The sync API would leave its loop marked
running in the test process's main thread, breaking every asyncio test after it.)
"""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
import uvicorn
from playwright.async_api import Browser, ConsoleMessage, Page, Route, async_playwright
from starlette.types import ASGIApp

CHROMIUM = "/usr/bin/chromium"
# No first-run work, no updates, no background requests of the browser's own: with the
# network limited to 127.0.0.1 they could only fail.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
LOCAL_HOSTS = frozenset({"127.0.0.1"})
SERVER_START_TIMEOUT_S = 30.0

# The mark of a test that uses `browser` (and of its async fixtures' loop_scope).
IN_BROWSER_LOOP = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One headless chromium per test process."""
    path = CHROMIUM if shutil.which(CHROMIUM) else shutil.which("chromium")
    if path is None:
        pytest.fail("no chromium: `apt-get install chromium` (.ci/run does)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class OfflinePage:
    """A page whose requests beyond 127.0.0.1 are aborted (and listed), and whose
    console errors are kept."""

    page: Page
    refused: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


@asynccontextmanager
async def offline_page(browser: Browser) -> AsyncIterator[OfflinePage]:
    context = await browser.new_context()
    page = await context.new_page()
    seen = OfflinePage(page)

    async def route(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname in LOCAL_HOSTS:
            await route.continue_()
        else:
            seen.refused.append(url)
            await route.abort()

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":  # with its source: a failed load names no URL
            seen.console_errors.append(f"{message.text} [{message.location.get('url', '')}]")

    await page.route("**/*", route)
    page.on("console", console)
    page.on("pageerror", lambda error: seen.console_errors.append(str(error)))
    try:
        yield seen
    finally:
        await context.close()


@asynccontextmanager
async def served(app: ASGIApp) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1 (a free port) in this event loop; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(SERVER_START_TIMEOUT_S):
            while not server.started:
                if serving.done():
                    serving.result()  # its error
                    raise RuntimeError("the server stopped before it started")
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving
        sock.close()
