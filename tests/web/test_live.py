"""The live stream over a real HTTP server (uvicorn on 127.0.0.1): the state's version
when the stream opens, keep-alives only while nothing changes, a new version within the
tick of a change, and the current state again on reconnecting."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from heartwatch.api.app import create_asgi_app
from heartwatch.runtime import Runtime
from heartwatch.web import live
from tests.e2e.conftest import free_port

STREAM = {"Accept": "text/event-stream"}


@pytest.fixture
async def base_url(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    monkeypatch.setattr(live, "KEEPALIVE_S", 0.5)
    port = free_port()
    config = uvicorn.Config(
        create_asgi_app(runtime), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(30):
        while not server.started:  # noqa: ASYNC110 (uvicorn sets a flag; it has no event)
            await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _next(lines: AsyncIterator[str]) -> dict[str, Any]:
    """The next message: an event's fields, or {"comment": ...} for a keep-alive."""
    message: dict[str, Any] = {}
    async for line in lines:
        if line == "":
            if message:
                return message
            continue
        if line.startswith(":"):
            message["comment"] = line[1:].strip()
        else:
            name, _, value = line.partition(": ")
            message[name] = value
    raise AssertionError("the stream ended")


async def test_the_event_stream(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        await http.post("/heartbeat/billing?period=60")
        async with http.stream("GET", "/ui/events", headers=STREAM) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()
            assert await _next(lines) == {"retry": "1000"}
            first = await _next(lines)
            assert first["event"] == "state"
            state = json.loads(first["data"])
            assert state["version"] == first["id"]
            assert state["counts"]["alive"] == 1
            # Nothing changes: keep-alives, nothing else.
            for _ in range(2):
                assert await _next(lines) == {"comment": "keep-alive"}
            changed = time.monotonic()
            await http.post("/heartbeat/billing/fail")
            while "event" not in (message := await _next(lines)):
                pass
            assert time.monotonic() - changed < 2 * live.TICK_S + 1
            assert json.loads(message["data"])["down"] == 1
            assert message["id"] != first["id"]
        # Reconnecting (as EventSource does, with the last id): the state as it is now.
        again = {"Last-Event-ID": message["id"], **STREAM}
        async with http.stream("GET", "/ui/events", headers=again) as stream:
            lines = stream.aiter_lines()
            await _next(lines)  # retry
            assert (await _next(lines))["id"] == message["id"]
