"""A recording HTTP receiver on 127.0.0.1: stands in for a Slack webhook, a generic
webhook, the PagerDuty Events API or the far end of an Apprise json:// URL.

    async with Receiver() as receiver:          # or the `receiver` fixture
        url = receiver.url("/hooks/abc")
        ... deliver ...
        [request] = receiver.received
        assert request.json()["title"] == "payments is DOWN"

Every request on any path with any method is recorded (also those answered with an
injected failure) and answered with `default` (200 "ok" unless changed), or with what
`reply_next` queued: `reply_next(2, Reply(429, headers={"Retry-After": "7"}))`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from tests.fakes.net import LocalServer


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: str = "ok"
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "text/plain"
    # Seconds to wait before answering (a slow or hanging service).
    delay: float = 0.0

    @classmethod
    def json(cls, status: int, data: Any, **options: Any) -> Reply:
        return cls(status, json.dumps(data), content_type="application/json", **options)


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: CIMultiDictProxy[str]
    body: bytes
    at: float  # time.monotonic()
    # What it was answered.
    status: int

    def json(self) -> Any:
        return json.loads(self.body)

    def text(self) -> str:
        return self.body.decode()


class Receiver(LocalServer):
    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply()
        self.received: list[Received] = []
        self.base_url = ""
        self._queued: list[tuple[Reply, int]] = []
        self._arrived = asyncio.Event()

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._handle)
        self.base_url = await self._serve(app)
        return self

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def reply_next(self, n: int, reply: Reply) -> None:
        """Answer the next `n` requests with `reply` (after any queued before)."""
        self._queued.append((reply, n))

    async def wait_for(self, count: int, within: float = 5.0) -> list[Received]:
        """Wait until at least `count` requests arrived; all of them."""
        async with asyncio.timeout(within):
            while len(self.received) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return list(self.received)

    def _next_reply(self) -> Reply:
        while self._queued:
            reply, remaining = self._queued[0]
            if remaining > 0:
                self._queued[0] = (reply, remaining - 1)
                return reply
            self._queued.pop(0)
        return self.default

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        reply = self._next_reply()
        self.received.append(
            Received(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=CIMultiDictProxy(CIMultiDict(request.headers)),
                body=body,
                at=time.monotonic(),
                status=reply.status,
            )
        )
        self._arrived.set()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return web.Response(
            status=reply.status,
            text=reply.body,
            headers=dict(reply.headers),
            content_type=reply.content_type,
        )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A started recording HTTP receiver answering 200 "ok" unless told otherwise."""
    async with Receiver() as started:
        yield started
