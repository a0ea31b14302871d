"""`/docs` and `/redoc` render in a real browser with no network beyond 127.0.0.1:
Swagger UI's and ReDoc's assets come from the server itself, not from a CDN."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio
from playwright.async_api import Browser, expect

from heartwatch.api.app import DOCS_ASSETS, create_asgi_app
from heartwatch.runtime import Runtime
from tests.api.conftest import settings_for
from tests.browser import IN_BROWSER_LOOP, offline_page, served

RENDER_TIMEOUT_MS = 30_000
# ReDoc's "API docs by Redocly" footer link shows Redocly's logo from Redocly's CDN, with
# no option to leave it out; offline, the image drops itself and the link stays text.
REDOC_BRANDING = "https://cdn.redoc.ly/redoc/logo-mini.svg"

pytestmark = IN_BROWSER_LOOP


@pytest_asyncio.fixture(loop_scope="session")
async def base_url(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[str]:
    """A heartwatch API served on 127.0.0.1 (SQLite: the docs read no store)."""
    db = tmp_path / "heartwatch.db"
    shutil.copyfile(sqlite_template, db)
    async with (
        Runtime.open(settings_for(f"sqlite+aiosqlite:///{db}")) as runtime,
        served(create_asgi_app(runtime)) as url,
    ):
        yield url


async def test_swagger_ui_renders_offline(browser: Browser, base_url: str) -> None:
    async with offline_page(browser) as seen:
        await seen.page.goto(f"{base_url}/docs")
        operation = seen.page.locator('.opblock-post:has([data-path="/heartbeat/{key}"])')
        await expect(operation.first).to_be_visible(timeout=RENDER_TIMEOUT_MS)
        assert await seen.page.locator(".opblock").count() > 20
        assert seen.refused == []
        assert seen.console_errors == []


async def test_redoc_renders_offline(browser: Browser, base_url: str) -> None:
    async with offline_page(browser) as seen:
        await seen.page.goto(f"{base_url}/redoc")
        heading = seen.page.locator("h1", has_text="heartwatch")
        await expect(heading).to_be_visible(timeout=RENDER_TIMEOUT_MS)
        await expect(seen.page.locator("h2", has_text="heartbeat").first).to_be_visible()
        assert set(seen.refused) <= {REDOC_BRANDING}
        assert [e for e in seen.console_errors if REDOC_BRANDING not in e] == []


async def test_docs_pages_name_no_other_host(base_url: str) -> None:
    """What the pages load is served here, from the package's copies."""
    async with httpx.AsyncClient(base_url=base_url) as client:
        for page in ("/docs", "/redoc"):
            html = (await client.get(page)).text
            assert "https://" not in html, html
            assert f"{DOCS_ASSETS}/" in html
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
            answer = await client.get(f"{DOCS_ASSETS}/{asset}")
            assert answer.status_code == 200
            assert len(answer.content) > 10_000
