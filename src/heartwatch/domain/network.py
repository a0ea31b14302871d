"""Which addresses heartwatch may connect to on an admin's behalf (probes, webhook-style
channels), with no I/O.

A cloud machine answers its metadata service (instance credentials, user data) at a
link-local address, 169.254.169.254 and friends: a probe or a webhook pointed there
would hand it to whoever can read the check's result or the channel's test error. Those
ranges are refused by default; loopback and private networks are not (checking a service
on the same machine or the same LAN is what heartwatch is for).

The rule applies to an address, never to a name: a name is judged by what it resolves
to, at connect time (`heartwatch.netguard`). A host written as an address, in any of the
spellings the C resolver accepts (`2852039166`, `0xa9fea9fe`, `0251.0376.0251.0376`,
`169.254.43518`, `::ffff:169.254.169.254`), is recognised here so that it can be refused
when it is configured, with a clear message, instead of only when it is checked.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Refused unless allowed: the link-local ranges (where AWS, GCP, Azure, OpenStack, ...
# serve instance metadata), AWS's IPv6 metadata address, Alibaba Cloud's metadata address.
DEFAULT_DENY: Final[tuple[IPNetwork, ...]] = (
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("fd00:ec2::254/128"),
    ipaddress.ip_network("100.100.100.200/32"),
)

# The characters of an IPv4 address in the forms inet_aton takes (decimal, octal, hex,
# fewer than four parts); anything else is a name.
_IPV4_ISH = re.compile(r"[0-9A-Fa-fXx.]+")


class DeniedAddress(OSError):
    """A connection refused by the network policy; its text says which address and why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def parse_networks(text: str | Iterable[str] | None) -> tuple[IPNetwork, ...]:
    """CIDR networks from a comma- or space-separated list (`"10.0.0.0/8, fd00::/8"`); a
    single address is its own /32 (or /128). ValueError naming the item that is not one."""
    if text is None:
        return ()
    items = text.replace(",", " ").split() if isinstance(text, str) else list(text)
    networks: list[IPNetwork] = []
    for item in items:
        try:
            # strict=False: "10.1.2.3/8" means the network it is in, as people write it.
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"{item!r} is not a network in CIDR notation (such as 10.0.0.0/8 or fd00::/8)"
            ) from None
    return tuple(networks)


def address_of(text: str) -> IPAddress:
    """An address as a socket reports it (`"fe80::1%eth0"` included); ValueError if it
    is not one."""
    return ipaddress.ip_address(text.split("%", 1)[0])


def literal_address(host: str) -> IPAddress | None:
    """The address `host` spells, in any form a resolver would take as an address rather
    than a name; None for a name. IPv6 may come in brackets, as in a URL."""
    text = host.strip().rstrip(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            return address_of(text)
        except ValueError:
            return None
    if not _IPV4_ISH.fullmatch(text):
        return None
    try:
        # inet_aton is what getaddrinfo uses for a numeric host: "2852039166",
        # "0xa9fea9fe" and "169.254.43518" all mean 169.254.169.254 to it.
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        return None


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """Networks refused and networks allowed; an allowed network wins over a denied one,
    so an operator can open one metadata-looking address their setup really uses."""

    deny: tuple[IPNetwork, ...] = DEFAULT_DENY
    allow: tuple[IPNetwork, ...] = ()

    @classmethod
    def of(cls, deny: str | None = None, allow: str | None = None) -> NetworkPolicy:
        """The default denied ranges plus `deny`, with `allow` as exceptions (the
        `HEARTWATCH_PROBE_DENY_NETWORKS` / `..._ALLOW_NETWORKS` settings)."""
        return cls(deny=DEFAULT_DENY + parse_networks(deny), allow=parse_networks(allow))

    def denial(self, address: IPAddress | str) -> str | None:
        """Why a connection to `address` is refused, or None when it is allowed."""
        try:
            ip = address_of(address) if isinstance(address, str) else address
        except ValueError:
            return None  # not an address (a Unix socket path): nothing to judge
        # ::ffff:a.b.c.d reaches a.b.c.d: judge it as that.
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in network for network in self.allow):
            return None
        for network in self.deny:
            if ip in network:
                return f"address {ip} is in a denied network ({network})"
        return None

    def host_denial(self, host: str) -> str | None:
        """`denial` for a host written as an address (in any spelling); None for a name,
        which is judged when it is resolved."""
        ip = literal_address(host)
        return None if ip is None else self.denial(ip)


DEFAULT_POLICY: Final = NetworkPolicy()
