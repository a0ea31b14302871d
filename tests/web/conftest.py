"""The dashboard over the real app and database, in-process (the API tests' fixtures),
with users whose passwords hash cheaply; and a real Chromium for the browser tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import html5lib
import httpx
import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Browser, Page, sync_playwright

from heartwatch.api.auth import REAL_TIME
from heartwatch.domain.auth import Role
from heartwatch.runtime import Runtime
from heartwatch.services import auth
from heartwatch.services.passwords import Passwords
from tests.api.conftest import Keys, client, keys, runtime

# Cheap hashes for test users: verifying one costs next to nothing.
CHEAP = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Users:
    admin: str = "alice"
    read: str = "rita"


@pytest.fixture
async def users(runtime: Runtime) -> Users:
    now = REAL_TIME.now()
    await auth.create_user(runtime.db, "alice", PASSWORD, Role.ADMIN, now, CHEAP)
    await auth.create_user(runtime.db, "rita", PASSWORD, Role.READ, now, CHEAP)
    runtime.authn.credentials_changed()
    return Users()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match is not None, html[:500]
    return match[1]


async def log_in(http: httpx.AsyncClient, name: str, password: str = PASSWORD) -> None:
    page = await http.get("/login")
    response = await http.post(
        "/login", data={"name": name, "password": password, "csrf": csrf_of(page.text)}
    )
    assert response.status_code == 303, response.text[:500]


def assert_valid_html(text: str) -> None:
    """Parse as HTML5, strictly: any parse error (a stray tag, a bad attribute) fails."""
    parser = html5lib.HTMLParser(strict=True)
    parser.parse(text)
    assert parser.errors == []
    ids = re.findall(r'\sid="([^"]*)"', text)
    assert len(ids) == len(set(ids)), f"an id used twice: {sorted(ids)}"


__all__ = [
    "Keys",
    "Tab",
    "Users",
    "assert_valid_html",
    "client",
    "csrf_of",
    "keys",
    "log_in",
    "runtime",
]


# --- a real browser ---------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright never downloads a browser here
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Tab:
    """A page in a fresh browser context (no cookies), with every console error and
    uncaught exception it met."""

    page: Page
    errors: list[str]


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield Tab(page, errors)
    finally:
        context.close()
