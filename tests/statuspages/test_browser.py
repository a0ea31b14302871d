"""A public status page and a badge in a real browser (Debian's Chromium, driven by
Playwright) against a real `heartwatch api` process on SQLite: the page with JavaScript
off, at a phone's width, light and dark; a badge as an <img> in a page elsewhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import httpx
import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.e2e.conftest import Launcher, Proc, free_port

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright never downloads a browser here
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
ADMIN_KEY = "browser-test-admin-key-0123456789abcdef"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Proc, str]]:
    """An API process with a page `acme` (two services, one down) and the badge token of
    one of them."""
    workdir: Path = tmp_path_factory.mktemp("statuspages")
    launcher = Launcher(workdir, f"sqlite+aiosqlite:///{workdir / 'heartwatch.db'}")
    try:
        migrated = launcher.run("migrate")
        assert migrated.returncode == 0, migrated.stderr
        proc = launcher.start("api", port=free_port(), HEARTWATCH_ADMIN_KEY=ADMIN_KEY)
        headers = {"X-Api-Key": ADMIN_KEY}
        with httpx.Client(base_url=proc.base_url, headers=headers, timeout=10) as api:
            for key, name in (("billing", "Billing"), ("web", "Web shop")):
                body = {"key": key, "name": name, "expected_period_sec": 3600}
                created = api.post("/services", json=body)
                assert created.status_code == 201, created.text
            assert api.post("/heartbeat/web").status_code == 200
            assert api.post("/heartbeat/billing/fail", content=b"oops").status_code == 200
            page = {"slug": "acme", "title": "Acme status", "service_keys": ["billing", "web"]}
            assert api.post("/status-pages", json=page).status_code == 201
            token = api.get("/services/web/badge").json()["token"]
        yield proc, token
    finally:
        for proc in launcher.procs:
            proc.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_status_page_without_javascript_at_375_px(
    server: tuple[Proc, str], browser: Browser, scheme: Literal["light", "dark"]
) -> None:
    proc, _ = server
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 375, "height": 800}, color_scheme=scheme
    )
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        response = page.goto(f"{proc.base_url}/status/acme")
        assert response is not None and response.status == 200
        expect(page).to_have_title("Acme status")
        expect(page.get_by_role("heading", name="Acme status")).to_be_visible()
        expect(page.get_by_text("Some services are down")).to_be_visible()
        billing = page.get_by_role("region", name="Billing")
        expect(billing.locator(".state")).to_have_text("✕ Down")
        web = page.get_by_role("region", name="Web shop")
        expect(web.locator(".state")).to_have_text("✓ Operational")
        expect(page.get_by_text("is down since")).to_be_visible()
        expect(page.locator("svg.bar")).to_have_count(2)
        expect(page.locator("svg.bar").first).to_have_attribute("role", "img")
        # Nothing wider than the phone: no sideways scrolling.
        width = page.locator("main").bounding_box()
        assert width is not None and width["width"] <= 375
    finally:
        context.close()
    assert errors == []


def test_a_badge_loads_as_an_image(server: tuple[Proc, str], browser: Browser) -> None:
    proc, token = server
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content(
            f'<img id="status" alt="status" src="{proc.base_url}/badge/{token}/status.svg">'
            f'<img id="uptime" alt="uptime" src="{proc.base_url}/badge/{token}/uptime/30d.svg">'
        )
        for name in ("status", "uptime"):
            image = page.locator(f"#{name}")
            expect(image).to_be_visible()
            loaded = image.evaluate("img => img.complete && img.naturalWidth")
            assert loaded > 40, name
    finally:
        context.close()
