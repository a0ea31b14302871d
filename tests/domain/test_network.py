"""The network policy's rules: which addresses are refused, in every spelling."""

from __future__ import annotations

import ipaddress

import pytest

from heartwatch.config import Settings
from heartwatch.domain.network import (
    DEFAULT_POLICY,
    NetworkPolicy,
    literal_address,
    parse_networks,
)

METADATA = "address 169.254.169.254 is in a denied network (169.254.0.0/16)"


@pytest.mark.parametrize(
    "host",
    [
        "169.254.169.254",
        "2852039166",  # decimal
        "0xa9fea9fe",  # hex
        "0xA9.0xFE.0xA9.0xFE",
        "0251.0376.0251.0376",  # octal
        "169.254.43518",  # fewer parts
        "169.254.169.254.",  # a trailing dot
        "::ffff:169.254.169.254",  # v4-mapped IPv6
        "[::ffff:a9fe:a9fe]",  # ... in URL brackets, in hex
    ],
)
def test_the_metadata_address_is_refused_in_every_spelling(host: str) -> None:
    assert DEFAULT_POLICY.host_denial(host) == METADATA


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("169.254.0.1", "169.254.0.0/16"),
        ("fe80::1", "fe80::/10"),
        ("fe80::1%eth0", "fe80::/10"),
        ("fd00:ec2::254", "fd00:ec2::254/128"),
        ("100.100.100.200", "100.100.100.200/32"),
    ],
)
def test_the_default_denied_ranges(address: str, network: str) -> None:
    reason = DEFAULT_POLICY.denial(address)
    assert reason is not None and reason.endswith(f"is in a denied network ({network})")


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "::1", "10.0.0.5", "192.168.1.10", "172.16.0.1", "8.8.8.8", "2001:db8::1"],
)
def test_loopback_private_and_public_addresses_stay_allowed(address: str) -> None:
    assert DEFAULT_POLICY.denial(address) is None


@pytest.mark.parametrize(
    "host", ["example.com", "metadata.google.internal", "db-1", "cafe", "a.b", "1e100.net"]
)
def test_a_name_is_not_an_address(host: str) -> None:
    # (judged by what it resolves to, when it is connected to)
    assert literal_address(host) is None
    assert DEFAULT_POLICY.host_denial(host) is None


def test_literal_addresses_are_read_as_the_resolver_reads_them() -> None:
    assert literal_address("2130706433") == ipaddress.ip_address("127.0.0.1")
    assert literal_address("127.1") == ipaddress.ip_address("127.0.0.1")
    assert literal_address("[::1]") == ipaddress.ip_address("::1")
    assert literal_address("256.1.1.1") is None


def test_an_operator_tightens_and_relaxes() -> None:
    policy = NetworkPolicy.of(deny="10.0.0.0/8, 192.168.1.7", allow="169.254.170.2/32")
    assert policy.denial("10.1.2.3") == "address 10.1.2.3 is in a denied network (10.0.0.0/8)"
    assert policy.denial("192.168.1.7") is not None
    assert policy.denial("192.168.1.8") is None
    # the defaults stay denied; an allowed network wins over them
    assert policy.denial("169.254.169.254") == METADATA
    assert policy.denial("169.254.170.2") is None  # (ECS's task metadata, say)
    assert NetworkPolicy.of(allow="169.254.0.0/16 fe80::/10").denial("169.254.169.254") is None
    assert NetworkPolicy.of(deny="127.0.0.0/8").host_denial("0x7f000001") == (
        "address 127.0.0.1 is in a denied network (127.0.0.0/8)"
    )


def test_networks_are_parsed_from_a_list() -> None:
    assert parse_networks("") == ()
    assert parse_networks(" 10.1.2.3/8 ,fd00::/8  1.2.3.4") == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("fd00::/8"),
        ipaddress.ip_network("1.2.3.4/32"),
    )
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33' is not a network in CIDR notation"):
        parse_networks("10.0.0.0/33")


def test_the_settings() -> None:
    settings = Settings.model_validate(
        {"HEARTWATCH_PROBE_DENY_NETWORKS": "10.0.0.0/8", "HEARTWATCH_PROBE_ALLOW_NETWORKS": ""}
    )
    assert settings.network_policy.denial("10.9.9.9") is not None
    assert settings.network_policy.denial("169.254.169.254") == METADATA
    with pytest.raises(ValueError, match="'nope' is not a network"):
        Settings.model_validate({"HEARTWATCH_PROBE_ALLOW_NETWORKS": "nope"})
