"""The network policy (`domain.network`) applied where connections are made: to every
address a connection is about to be opened to, after the name was resolved. A check made
when a probe or a channel is configured would not be enough: a name can resolve
somewhere else by the time it is used, and a redirect can point anywhere.

- HTTP (probes, webhook, Slack, PagerDuty, Telegram): `guarded_connector`, an aiohttp
  connector whose resolver leaves denied addresses out and whose socket factory
  refuses them (aiohttp hands it every address it tries, a literal one included:
  `http://0xa9fea9fe/`, `http://[::ffff:169.254.169.254]/`).
- TCP checks and the certificate read: `open_connection`, which resolves, drops denied
  addresses and connects to what is left.

A refusal is a `DeniedAddress` (an OSError), so callers report it where they report any
other connection failure, with its text: "address 169.254.169.254 is in a denied
network (169.254.0.0/16)".
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import aiohappyeyeballs
import aiohttp
from aiohappyeyeballs import AddrInfoType, SocketFactoryType
from aiohttp.abc import AbstractResolver, ResolveResult

from heartwatch.domain.network import DeniedAddress, NetworkPolicy

AddrInfo = AddrInfoType


def socket_factory(policy: NetworkPolicy) -> SocketFactoryType:
    """A socket factory for aiohttp / aiohappyeyeballs that refuses denied addresses."""

    def make(addr_info: AddrInfo) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        reason = policy.denial(str(sockaddr[0]))
        if reason is not None:
            raise DeniedAddress(reason)
        return socket.socket(family=family, type=type_, proto=proto)

    return make


class GuardedResolver(AbstractResolver):
    """A resolver that leaves out the denied addresses of a name, and fails with
    `DeniedAddress` (which aiohttp reports as a DNS error of the name) when that
    leaves none. The socket factory would refuse them anyway; this gives one clear
    reason instead of one refusal per address, and keeps an allowed address usable
    when a name has both kinds."""

    def __init__(self, policy: NetworkPolicy, resolver: AbstractResolver | None = None) -> None:
        self.policy = policy
        # The threaded resolver (getaddrinfo, as aiohttp does without aiodns) holds
        # nothing to release: the connector does not close a resolver it was given.
        self.resolver = resolver if resolver is not None else aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self.resolver.resolve(host, port, family)
        allowed = [r for r in results if self.policy.denial(r["host"]) is None]
        if not allowed and results:
            raise DeniedAddress(_reasons(self.policy, [r["host"] for r in results]))
        return allowed

    async def close(self) -> None:
        await self.resolver.close()


def guarded_connector(
    policy: NetworkPolicy, *, resolver: AbstractResolver | None = None, **options: Any
) -> aiohttp.TCPConnector:
    """`aiohttp.TCPConnector(**options)` that never connects to a denied address: names
    are resolved through `GuardedResolver`, and every address (a literal one too) goes
    through the guarding socket factory."""
    return aiohttp.TCPConnector(
        resolver=GuardedResolver(policy, resolver),
        socket_factory=socket_factory(policy),
        **options,
    )


def _reasons(policy: NetworkPolicy, addresses: list[str]) -> str:
    reasons: list[str] = []
    for address in addresses:
        reason = policy.denial(address)
        if reason is not None and reason not in reasons:
            reasons.append(reason)
    return "; ".join(reasons)


async def resolve(host: str, port: int, policy: NetworkPolicy) -> list[AddrInfo]:
    """`host`'s addresses for a TCP connection to `port`, the denied ones left out;
    `DeniedAddress` when that leaves none (socket.gaierror when it does not resolve)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    allowed: list[AddrInfo] = [info for info in infos if policy.denial(str(info[4][0])) is None]
    if not allowed:
        raise DeniedAddress(_reasons(policy, [str(info[4][0]) for info in infos]))
    return allowed


async def host_denial(host: str, policy: NetworkPolicy) -> str | None:
    """Why `host` (a name or an address) may not be connected to: it is, or resolves to,
    a denied address. For clients that connect by themselves (Apprise, aiosmtplib),
    checked just before they do; None also when the name does not resolve (the client
    will say so)."""
    reason = policy.host_denial(host)
    if reason is not None:
        return reason
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, 0, type=socket.SOCK_STREAM)
    except OSError:
        return None
    # Refused when any of its addresses is: the client may pick that one.
    for info in infos:
        reason = policy.denial(str(info[4][0]))
        if reason is not None:
            return reason
    return None


async def open_connection(
    host: str, port: int, policy: NetworkPolicy, **options: Any
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """`asyncio.open_connection(host, port, **options)` (`ssl`, `server_hostname`) to
    one of the allowed addresses of `host`, tried in turn (happy eyeballs)."""
    infos = await resolve(host, port, policy)
    sock = await aiohappyeyeballs.start_connection(infos, happy_eyeballs_delay=0.25)
    try:
        return await asyncio.open_connection(sock=sock, **options)
    except BaseException:
        sock.close()
        raise
