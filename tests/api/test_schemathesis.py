"""Schemathesis over the app's own OpenAPI, against a real server on 127.0.0.1.

Every operation gets a few generated requests, valid ones and invalid ones, sent once
with an admin key and once with none: no answer may be a 5xx, and every answer must be
one the operation documents (status code, content type, and the body's schema where
the operation declares one). Bounded and derandomized (the same requests on every run):
a smoke test of the whole surface that the suite can afford, not a search of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from heartwatch.api.app import create_app, create_asgi_app
from heartwatch.api.auth import REAL_TIME
from heartwatch.config import Settings
from heartwatch.domain.auth import Role
from heartwatch.runtime import Runtime
from heartwatch.store.database import Database
from heartwatch.store.migrate import upgrade

# Per operation and generation mode (some 50 operations, valid and invalid requests).
EXAMPLES = {"admin": 5, "anonymous": 3}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class LiveServer:
    """heartwatch's API served by uvicorn in a thread of its own (its own event loop),
    with an admin key made before it starts."""

    settings: Settings
    url: str = ""
    admin_key: str = ""
    spec: dict[str, Any] = field(default_factory=dict)
    _server: uvicorn.Server | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _failed: list[BaseException] = field(default_factory=list)

    async def _serve(self) -> None:
        url = self.settings.database_url
        assert url is not None
        await upgrade(db := Database(url))
        await db.dispose()
        async with Runtime.open(self.settings) as runtime:
            _, self.admin_key = await runtime.authn.create_key(
                "fuzz", Role.ADMIN, None, REAL_TIME.now()
            )
            self.spec = create_app(runtime).openapi()
            config = uvicorn.Config(
                create_asgi_app(runtime),
                host="127.0.0.1",
                port=0,
                lifespan="off",
                log_config=None,
                access_log=False,
            )
            self._server = uvicorn.Server(config)
            serving = asyncio.ensure_future(self._server.serve())
            # uvicorn tells that it listens by a flag only.
            while not self._server.started and not serving.done():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            if self._server.started:
                port = self._server.servers[0].sockets[0].getsockname()[1]
                self.url = f"http://127.0.0.1:{port}"
            self._ready.set()
            await serving

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # handed to the test thread
            self._failed.append(exc)
        finally:
            self._ready.set()

    def __enter__(self) -> LiveServer:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(60)
        if self._failed or not self.url:
            raise RuntimeError(f"the server did not start: {self._failed!r}")
        return self

    def __exit__(self, *_: object) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(30)


@pytest.fixture
def live(db_url: str) -> Iterator[LiveServer]:
    """`db_url`: a new SQLite file, or the worker's PostgreSQL database (what other tests
    left there does not matter here)."""
    with LiveServer(Settings.model_validate({"database_url": db_url})) as server:
        yield server


def fuzz(
    operation: Any, mode: GenerationMode, live: LiveServer, principal: str, failures: list[str]
) -> None:
    """One operation in one generation mode; its failures, described, into `failures`."""
    # (Both headers: Schemathesis fills in every declared security scheme itself.)
    headers = (
        {"Authorization": f"Bearer {live.admin_key}", "X-Api-Key": live.admin_key}
        if principal == "admin"
        else {}
    )
    session = requests.Session()

    @settings(
        max_examples=EXAMPLES[principal],
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), _=st.just(None))
    def run(case: Any, _: None) -> None:
        response = case.call(base_url=live.url, session=session, headers=headers)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as exc:
            failures.append(f"{operation.label} ({mode.value}): {exc}"[:2000])

    # Unsatisfiable: nothing to make invalid (an operation without parameters or body).
    with contextlib.suppress(Unsatisfiable):
        run()


def run_operations(live: LiveServer, principal: str) -> list[str]:
    """Every operation, in both generation modes; the failures, described."""
    schema = schemathesis.openapi.from_dict(live.spec)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz(operation, mode, live, principal, failures)
    return failures


# Anonymous requests are refused before the database is asked anything but the key, so
# PostgreSQL runs the admin's pass only (its NUL cases have their own tests on it:
# test_hostile_input.py).
@pytest.mark.parametrize(
    ("backend", "principal"),
    [("sqlite", "admin"), ("sqlite", "anonymous"), ("postgresql", "admin")],
)
def test_no_generated_request_is_a_server_error_or_undocumented(
    live: LiveServer, backend: str, principal: str
) -> None:
    failures = run_operations(live, principal)
    assert failures == [], "\n\n".join(failures)
