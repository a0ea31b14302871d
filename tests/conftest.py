"""Shared fixtures: real databases on both backends.

PostgreSQL tests run against the real server (HEARTWATCH_TEST_POSTGRES_URL, default the
machine's local server with trust auth). Each test run creates its own throwaway database
and drops it afterwards, so runs never see each other's data. An unreachable server is a
failure, not a skip: set HEARTWATCH_TEST_POSTGRES=skip to opt out deliberately.

The migrations run once per run (per xdist worker), not once per test: SQLite tests get a
copy of a migrated template file, PostgreSQL tests share the worker's migrated database
and empty its tables first (a DELETE of the few rows a test leaves is cheaper than a
TRUNCATE or a fresh `CREATE DATABASE ... TEMPLATE`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from sqlalchemy import delete
from sqlalchemy.engine import make_url

from heartwatch.store.database import Database
from heartwatch.store.migrate import upgrade
from heartwatch.store.models import Base

# The browser fixture (Debian's chromium through Playwright), for any test that needs it.
pytest_plugins = ("tests.browser",)

PG_ADMIN_URL = os.environ.get(
    "HEARTWATCH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _admin(*statements: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(PG_ADMIN_URL), timeout=10)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


def worker_id() -> str:
    """The pytest-xdist worker running this process ("gw0", ...), "main" without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def create_pg_database(prefix: str = "hw_test") -> str:
    """Create an empty database on the test server; returns its SQLAlchemy async URL."""
    name = f"{prefix}_{worker_id()}_{uuid.uuid4().hex[:12]}"
    try:
        # A commit need not wait for its WAL flush on a database that is dropped after the
        # run: what the tests can observe is the same, minus a disk flush per transaction.
        asyncio.run(
            _admin(
                f'CREATE DATABASE "{name}"',
                f'ALTER DATABASE "{name}" SET synchronous_commit = off',
            )
        )
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL at {PG_ADMIN_URL} is unreachable ({exc!r}); the PostgreSQL tests "
            "need it (set HEARTWATCH_TEST_POSTGRES=skip to skip them deliberately)",
            pytrace=False,
        )
    url = make_url(PG_ADMIN_URL).set(drivername="postgresql+asyncpg", database=name)
    return url.render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _migrate(url: str) -> None:
    db = Database(url)
    try:
        await upgrade(db)
        await _clear(db)  # (rows a migration may add are not what a test starts from)
    finally:
        await db.dispose()


# How xdist hands out the tests (`pytest_xdist_make_scheduler`). The end-to-end tests
# mostly wait on their heartwatch processes (and a chat's rate limit), the others keep a
# core busy. So the end-to-end tests go in lanes, each lane to one worker that runs its
# tests one after another, while the remaining workers (`-n` in pyproject.toml) take the
# other tests one by one, and lanes that are done join them.
E2E_LANES = 3
# Modules whose tests share a module-scoped server: each is a lane of its own, whole
# (else every worker would start its own server). `xdist_group` would say it, but
# pytest-xdist 3.8 does not apply it under pytest 9.
ONE_WORKER_MODULES = frozenset({"tests/e2e/test_clients.py", "tests/web/test_browser.py"})
# Roughly how long an end-to-end test takes, to balance the lanes.
E2E_SECONDS = {
    "test_down_recovery_and_the_daily_summary_reach_telegram": 20.0,  # the chat's rate
    "test_api_and_worker_as_separate_processes_share_one_clock": 8.0,  # three processes
    "test_the_worker_watches_itself_and_a_dead_worker_shows_as_silent": 8.0,
}
E2E_DEFAULT_SECONDS = 4.0


def e2e_lanes(nodeids: list[str]) -> dict[str, str]:
    """The lane of each end-to-end test: longest first, each onto the lane that has the
    least to do so far."""

    def seconds(nodeid: str) -> float:
        name = nodeid.split("::", 1)[1].split("[", 1)[0]
        return E2E_SECONDS.get(name, E2E_DEFAULT_SECONDS)

    tests = [
        n for n in nodeids if n.startswith("tests/e2e/") and _module(n) not in ONE_WORKER_MODULES
    ]
    load = [0.0] * E2E_LANES
    lanes: dict[str, str] = {}
    for nodeid in sorted(tests, key=seconds, reverse=True):
        lane = load.index(min(load))
        load[lane] += seconds(nodeid)
        lanes[nodeid] = f"e2e-lane-{lane}"
    return lanes


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's scope scheduling (largest units first), with the units described above."""
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    scheduling = LoadScopeScheduling(config, log)
    lanes: dict[str, str] | None = None

    def unit_of(nodeid: str) -> str:
        nonlocal lanes
        if lanes is None:  # (the collection is known by the first call)
            lanes = e2e_lanes(list(scheduling.collection))
        module = _module(nodeid)
        return module if module in ONE_WORKER_MODULES else lanes.get(nodeid, nodeid)

    scheduling._split_scope = unit_of  # how LoadFileScheduling differs, too
    return scheduling


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """One throwaway PostgreSQL database for the whole run (per xdist worker), migrated once."""
    if os.environ.get("HEARTWATCH_TEST_POSTGRES") == "skip":
        pytest.skip("HEARTWATCH_TEST_POSTGRES=skip")
    url = create_pg_database()
    asyncio.run(_migrate(url))
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    param: str = request.param
    return param


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'heartwatch.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


async def _clear(db: Database) -> None:
    async with db.writing() as session:
        for table in reversed(Base.metadata.sorted_tables):
            await session.execute(delete(table))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite file that each SQLite test gets a copy of. Closed cleanly
    (its WAL checkpointed into it), so the one file is the whole database."""
    path = tmp_path_factory.mktemp("template") / "heartwatch.db"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


def _sqlite_copy(template: Path, url: str) -> None:
    path = make_url(url).database
    assert path is not None
    shutil.copyfile(template, path)


@pytest.fixture
async def database(db_url: str, backend: str, sqlite_template: Path) -> AsyncIterator[Database]:
    """A migrated, empty database on each backend (SQLite file, real PostgreSQL)."""
    if backend == "sqlite":
        _sqlite_copy(sqlite_template, db_url)
    db = Database(db_url)
    if backend != "sqlite":
        await _clear(db)  # what the worker's previous test left
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def sqlite_database(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Database]:
    """For tests about behaviour that does not depend on the backend."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'heartwatch.db'}"
    _sqlite_copy(sqlite_template, url)
    db = Database(url)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def http_target() -> AsyncIterator[str]:
    """A real local service to probe: /ok answers 200 "ok", /fail 503, /slow after 2 s."""

    async def ok(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def fail(_: web.Request) -> web.Response:
        return web.Response(status=503, text="overloaded")

    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.Response(text="late")

    app = web.Application()
    app.router.add_get("/ok", ok)
    app.router.add_get("/fail", fail)
    app.router.add_get("/slow", slow)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
