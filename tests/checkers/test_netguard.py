"""The network policy applied at connect time, against real servers on 127.0.0.x.

The denied network in these tests is a loopback one (127.0.0.1/32) where a real server
listens: a refusal is then proven by the server never hearing from us, and a mistake
could not send anything off this machine. The default (metadata) ranges are checked
where no connection is made: the socket factory, the resolver, the registry."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from heartwatch import netguard
from heartwatch.checkers.base import CheckContext, Outcome, Probe
from heartwatch.checkers.http import HttpChecker, HttpSettings
from heartwatch.checkers.registry import CheckerRegistry
from heartwatch.checkers.tcp import TcpChecker, TcpSettings
from heartwatch.domain.network import DEFAULT_POLICY, DeniedAddress, NetworkPolicy
from tests.checkers.conftest import ServeRaw

DENY_ONE = NetworkPolicy.of(deny="127.0.0.1/32")
DENIED = "address 127.0.0.1 is in a denied network (127.0.0.1/32)"


class FakeResolver(AbstractResolver):
    """Names to addresses, as a DNS server of the test's choosing would answer."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names = names

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.names:
            raise OSError(f"unknown name {host}")
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in self.names[host]
        ]

    async def close(self) -> None:
        pass


class Target:
    """A real HTTP server on one loopback address that counts what reaches it."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.redirect_to: str | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        if self.redirect_to is not None:
            raise web.HTTPFound(self.redirect_to)
        return web.Response(text="ok")


async def _serve(address: str) -> tuple[web.AppRunner, Target, int]:
    target = Target()
    app = web.Application()
    app.router.add_get("/{path:.*}", target.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, 0))
    await web.SockSite(runner, sock).start()
    return runner, target, sock.getsockname()[1]


@pytest.fixture
async def servers() -> AsyncIterator[tuple[tuple[Target, int], tuple[Target, int]]]:
    """One server on 127.0.0.1 (denied by DENY_ONE), one on 127.0.0.2 (allowed)."""
    one = await _serve("127.0.0.1")
    two = await _serve("127.0.0.2")
    try:
        yield (one[1], one[2]), (two[1], two[2])
    finally:
        await one[0].cleanup()
        await two[0].cleanup()


def guarded(policy: NetworkPolicy, names: dict[str, list[str]] | None = None) -> Any:
    resolver = FakeResolver(names) if names is not None else None
    return aiohttp.ClientSession(
        connector=netguard.guarded_connector(policy, resolver=resolver),
        cookie_jar=aiohttp.DummyCookieJar(),
    )


async def http_check(session: aiohttp.ClientSession, url: str, policy: NetworkPolicy) -> Outcome:
    ctx = CheckContext(http=session, network=policy)
    return await HttpChecker().probe(Probe(url, 2.0, HttpSettings()), ctx)


@pytest.mark.parametrize("host", ["127.0.0.1", "0x7f000001", "[::ffff:127.0.0.1]"])
async def test_an_address_is_refused_in_every_spelling_it_connects_with(
    servers: Any, host: str
) -> None:
    (target, port), _ = servers
    url = f"http://{host}:{port}/x"
    async with guarded(DEFAULT_POLICY) as session:  # the spelling does reach the server
        assert (await http_check(session, url, DEFAULT_POLICY)).up
    assert target.hits == ["/x"]
    async with guarded(DENY_ONE) as session:
        outcome = await http_check(session, url, DENY_ONE)
    assert (outcome.up, outcome.failed_assertion) == (False, "denied")
    error = outcome.error or ""
    assert error.startswith("refused to connect to ") and error.endswith(f":{port}: {DENIED}")
    assert target.hits == ["/x"]  # nothing more reached it


async def test_a_name_that_resolves_to_a_denied_address_is_refused(servers: Any) -> None:
    (target, port), _ = servers
    async with guarded(DENY_ONE, {"metadata.test": ["127.0.0.1"]}) as session:
        outcome = await http_check(session, f"http://metadata.test:{port}/", DENY_ONE)
    assert (outcome.up, outcome.failed_assertion) == (False, "denied")
    assert outcome.error == f"refused to connect to metadata.test:{port}: {DENIED}"
    assert target.hits == []


async def test_a_name_with_a_denied_and_an_allowed_address_uses_the_allowed_one(
    servers: Any,
) -> None:
    (one, _), (two, port) = servers
    names = {"both.test": ["127.0.0.1", "127.0.0.2"]}
    async with guarded(DENY_ONE, names) as session:
        outcome = await http_check(session, f"http://both.test:{port}/", DENY_ONE)
    assert outcome.up, outcome.error
    assert (one.hits, two.hits) == ([], ["/"])


async def test_a_redirect_to_a_denied_address_is_refused(servers: Any) -> None:
    (one, denied_port), (two, port) = servers
    two.redirect_to = f"http://127.0.0.1:{denied_port}/secret"
    async with guarded(DENY_ONE) as session:
        outcome = await http_check(session, f"http://127.0.0.2:{port}/", DENY_ONE)
    assert (outcome.up, outcome.failed_assertion) == (False, "denied")
    assert DENIED in (outcome.error or "")
    assert (one.hits, two.hits) == ([], ["/"])


async def test_tcp_checks_go_through_the_policy(serve_raw: ServeRaw) -> None:
    connected: list[bool] = []

    async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connected.append(True)
        writer.close()

    port = await serve_raw(accept)  # on 127.0.0.1
    async with aiohttp.ClientSession() as session:
        for policy, up in ((DEFAULT_POLICY, True), (NetworkPolicy.of(deny="127.0.0.0/8"), False)):
            ctx = CheckContext(http=session, network=policy)
            for endpoint in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::ffff:7f00:1]:{port}"):
                parsed = TcpChecker.parse_endpoint(endpoint)
                outcome = await TcpChecker().probe(Probe(parsed, 2.0, TcpSettings()), ctx)
                assert outcome.up is up, (endpoint, outcome)
                if not up:
                    assert outcome.failed_assertion == "denied"
                    assert outcome.error == (
                        f"refused to connect to {endpoint}: "
                        "address 127.0.0.1 is in a denied network (127.0.0.0/8)"
                    )
    assert len(connected) == 3  # only the allowed ones arrived


def test_the_socket_factory_refuses_the_metadata_ranges() -> None:
    make = netguard.socket_factory(DEFAULT_POLICY)
    for family, sockaddr in (
        (socket.AF_INET, ("169.254.169.254", 80)),
        (socket.AF_INET6, ("::ffff:169.254.169.254", 80, 0, 0)),
        (socket.AF_INET6, ("fe80::1%lo", 80, 0, 1)),
    ):
        with pytest.raises(DeniedAddress, match="is in a denied network"):
            make((family, socket.SOCK_STREAM, 6, "", sockaddr))
    make((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80))).close()


async def test_the_resolver_refuses_a_name_for_the_metadata_service() -> None:
    resolver = netguard.GuardedResolver(
        DEFAULT_POLICY, FakeResolver({"evil.test": ["169.254.169.254"]})
    )
    with pytest.raises(
        DeniedAddress, match=r"address 169\.254\.169\.254 is in a denied network \(169\.254"
    ):
        await resolver.resolve("evil.test", 80)


@pytest.mark.parametrize(
    ("checker", "endpoint", "address"),
    [
        ("http", "http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http", "http://2852039166/", "169.254.169.254"),
        ("http", "http://0xa9fea9fe/", "169.254.169.254"),
        ("http", "https://0251.0376.0251.0376/", "169.254.169.254"),
        ("http", "http://[::ffff:169.254.169.254]/", "169.254.169.254"),
        ("http", "http://[fe80::1]:8080/", "fe80::1"),
        ("tcp", "169.254.169.254:80", "169.254.169.254"),
        ("tcp", "[fe80::a9fe:a9fe]:22", "fe80::a9fe:a9fe"),
    ],
)
def test_a_probe_at_a_denied_address_is_refused_when_configured(
    checker: str, endpoint: str, address: str
) -> None:
    with pytest.raises(ValueError, match=rf"^endpoint: address {address} is in a denied network"):
        CheckerRegistry(discover=False).validate_settings(checker, endpoint, {})
    # ... unless the operator allows it; a name is judged when it is connected to
    allowing = CheckerRegistry(discover=False, network=NetworkPolicy.of(allow="::/0 0.0.0.0/0"))
    assert allowing.validate_settings(checker, endpoint, {})[0] == endpoint
    CheckerRegistry(discover=False).validate_settings("http", "http://metadata.internal/", {})
