"""The dashboard in a real browser (Debian's Chromium, driven by Playwright) against a
real `heartwatch api` process on SQLite: log-in and log-out, what a read user sees, a
status change reaching an open overview without a reload, check-now from a service page,
and no console error anywhere."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from heartwatch.api.auth import REAL_TIME
from heartwatch.domain.auth import Role
from heartwatch.services import auth
from heartwatch.store.database import Database
from tests.conftest import _migrate as migrate
from tests.e2e.conftest import Launcher, Proc, free_port, wait_ready
from tests.web.conftest import CHEAP, PASSWORD, Tab

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Server:
    proc: Proc
    admin_key: str

    @property
    def url(self) -> str:
        return self.proc.base_url

    def api(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.admin_key}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)


async def _prepare(db_url: str) -> str:
    """Migrate; create the users alice (admin) and rita (read), and an admin key for the
    tests' own API calls (returned). In this process: a CLI run costs a Python start."""
    await migrate(db_url)
    db = Database(db_url)
    try:
        now = REAL_TIME.now()
        await auth.create_user(db, "alice", PASSWORD, Role.ADMIN, now, CHEAP)
        await auth.create_user(db, "rita", PASSWORD, Role.READ, now, CHEAP)
        async with db.writing() as session:
            _, key = await auth.create_key(session, "tests", Role.ADMIN, None, now)
        return key
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One API process for the module (each test uses services of its own)."""
    workdir: Path = tmp_path_factory.mktemp("web")
    db_url = f"sqlite+aiosqlite:///{workdir / 'heartwatch.db'}"
    launcher = Launcher(workdir, db_url)
    try:
        # (In a thread of its own: Playwright's sync API holds this thread's event loop.)
        with ThreadPoolExecutor(1) as thread:
            key = thread.submit(asyncio.run, _prepare(db_url)).result()
        port = free_port()
        proc = launcher.start("api", "--port", str(port), "--host", "127.0.0.1")
        proc.base_url = f"http://127.0.0.1:{port}"
        wait_ready(proc, timeout=120)  # a busy machine starts a process slowly
        yield Server(proc, key)
    finally:
        for proc in launcher.procs:
            proc.kill()


@pytest.fixture(autouse=True)
def _no_console_errors(tab: Tab) -> Iterator[None]:
    yield
    assert tab.errors == []


def log_in(tab: Tab, server: Server, name: str, start: str = "/") -> None:
    tab.page.goto(server.url + start)
    expect(tab.page).to_have_url(re.compile(r"/login\?next="))
    tab.page.get_by_label("User name").fill(name)
    tab.page.get_by_label("Password").fill(PASSWORD)
    tab.page.get_by_role("button", name="Log in").click()


def test_log_in_and_out(tab: Tab, server: Server) -> None:
    page = tab.page
    log_in(tab, server, "alice")
    expect(page.get_by_role("heading", name="Services")).to_be_visible()
    expect(page.get_by_text("alice (admin)")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto(server.url + "/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    # A wrong password says so, next to the form.
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong user name or password.")
    # (The 401 of that answer is the one error the console shows.)
    assert all("401" in e for e in tab.errors), tab.errors
    tab.errors.clear()


def test_a_read_user_sees_no_write_controls(tab: Tab, server: Server) -> None:
    with server.api() as api:
        created = api.post(
            "/services",
            json={"key": "ro-probe", "type": "http", "endpoint": server.url + "/healthz"},
        )
        assert created.status_code == 201, created.text
    log_in(tab, server, "rita", "/ui/services/ro-probe")
    page = tab.page
    expect(page.get_by_role("heading", name="ro-probe")).to_be_visible()
    expect(page.get_by_text("rita (read)")).to_be_visible()
    for name in ("Check now", "Pause", "Resume", "Mute", "Unmute"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    expect(page.get_by_role("link", name="Delete…")).to_have_count(0)
    # The only form that posts is the log-out.
    assert page.locator("form[method=post]").count() == 1


def test_a_service_going_down_shows_without_a_reload(tab: Tab, server: Server) -> None:
    with server.api() as api:
        assert api.post("/heartbeat/live-job?period=60").status_code == 200
        log_in(tab, server, "alice", "/?q=live-job")
        page = tab.page
        row = page.locator("tr[data-key=live-job]")
        expect(row).to_contain_text("alive")
        expect(page.locator("#live-note")).to_have_text("Live.")
        page.evaluate("window.notReloaded = true")
        moved = api.post("/dev/clock", json={"advance_seconds": 600})
        assert moved.status_code == 200, moved.text
        # The stream sees the new version within a second or two; a loaded machine
        # is given more.
        expect(row).to_contain_text("down", timeout=10_000)
    assert page.evaluate("window.notReloaded") is True
    assert re.match(r"\(\d+ down\) Overview", page.title())


def test_check_now_from_the_service_page(tab: Tab, server: Server) -> None:
    with server.api() as api:
        created = api.post(
            "/services",
            json={"key": "self-probe", "type": "http", "endpoint": server.url + "/healthz"},
        )
        assert created.status_code == 201, created.text
    log_in(tab, server, "alice", "/ui/services/self-probe")
    page = tab.page
    expect(page.get_by_text("None yet.").first).to_be_visible()
    page.get_by_role("button", name="Check now").click()
    expect(page.get_by_role("status")).to_have_text("Checked now: up")
    expect(page.locator("#h-recent + table")).to_contain_text("✔ up")


def test_without_event_source_the_overview_polls(tab: Tab, server: Server) -> None:
    tab.page.add_init_script("delete window.EventSource;")
    with server.api() as api:
        assert api.post("/heartbeat/polled-job?period=60").status_code == 200
        log_in(tab, server, "alice", "/?q=polled-job")
        page = tab.page
        row = page.locator("tr[data-key=polled-job]")
        expect(row).to_contain_text("alive")
        expect(page.locator("#live-note")).to_contain_text("polling")
        page.evaluate("window.notReloaded = true")
        assert api.post("/dev/clock", json={"advance_seconds": 600}).status_code == 200
        expect(row).to_contain_text("down", timeout=15_000)
    assert page.evaluate("window.notReloaded") is True


def test_create_a_service_through_the_form(tab: Tab, server: Server) -> None:
    log_in(tab, server, "alice")
    page = tab.page
    page.get_by_role("link", name="New service").click()
    page.get_by_role("link", name="http").click()
    page.get_by_label("Key", exact=True).fill("form-probe")
    page.get_by_label("URL").fill(server.url + "/healthz")
    page.get_by_label("Timeout (ms)").fill("5")
    page.get_by_role("button", name="Create http service").click()
    # The API's message, next to its field (and the field says it is invalid).
    timeout = page.get_by_label("Timeout (ms)")
    expect(timeout).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#e-timeout_ms")).to_contain_text("did you mean seconds")
    expect(page.get_by_label("Key", exact=True)).to_have_value("form-probe")
    timeout.fill("3000")
    page.get_by_role("button", name="Create http service").click()
    expect(page.get_by_role("heading", name="form-probe")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Created")
    # (The 422 of the refused form is the one error the console shows.)
    assert all("422" in e for e in tab.errors), tab.errors
    tab.errors.clear()


def test_usable_at_375_px(tab: Tab, server: Server) -> None:
    with server.api() as api:
        assert api.post("/heartbeat/narrow-job?period=60").status_code == 200
    tab.page.set_viewport_size({"width": 375, "height": 700})
    log_in(tab, server, "alice")
    for path in ("/", "/ui/services/narrow-job", "/ui/new?type=http", "/ui/channels"):
        tab.page.goto(server.url + path)
        width = tab.page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 375, f"{path} is {width} px wide"


SCREENSHOTS = os.environ.get("HEARTWATCH_SCREENSHOTS")


@pytest.mark.skipif(not SCREENSHOTS, reason="HEARTWATCH_SCREENSHOTS=<dir> makes them")
def test_screenshots(tab: Tab, server: Server) -> None:
    """`make screenshots`: the README's pictures of the overview and a service page."""
    assert SCREENSHOTS is not None
    with server.api() as api:
        for key, period in (("billing", 300), ("nightly-backup", 86400), ("mailer", 60)):
            assert api.post(f"/heartbeat/{key}?period={period}").status_code == 200
        assert api.post("/heartbeat/mailer/fail", content=b"smtp: 550 refused\n").status_code
        for key, path in (("shop-api", "/healthz"), ("search", "/readyz")):
            made = api.post(
                "/services",
                json={"key": key, "type": "http", "endpoint": server.url + path,
                      "tags": ["shop"], "check_interval_sec": 30},
            )  # fmt: skip
            assert made.status_code == 201, made.text
            assert api.post(f"/services/{key}/check").status_code == 200
    tab.page.set_viewport_size({"width": 1100, "height": 700})
    log_in(tab, server, "alice")
    out = Path(SCREENSHOTS)
    out.mkdir(parents=True, exist_ok=True)
    tab.page.screenshot(path=out / "dashboard-overview.png", full_page=True)
    tab.page.goto(server.url + "/ui/services/shop-api")
    tab.page.screenshot(path=out / "dashboard-service.png", full_page=True)
    for name in ("dashboard-overview.png", "dashboard-service.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG")
