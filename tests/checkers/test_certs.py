"""Reading a certificate's expiry from its DER bytes, checked against `cryptography`."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime

import pytest
import trustme
from cryptography import x509

from heartwatch.checkers.certs import der_not_after


@pytest.mark.parametrize(
    "not_after",
    [
        datetime(2031, 5, 17, 8, 30, 15, tzinfo=UTC),  # UTCTime (before 2050)
        datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2050, 1, 1, 0, 0, 0, tzinfo=UTC),  # GeneralizedTime (2050 on)
        datetime(3000, 1, 1, tzinfo=UTC),  # trustme's default
    ],
)
def test_not_after_matches_cryptography(ca: trustme.CA, not_after: datetime) -> None:
    pem = ca.issue_cert("example.test", not_after=not_after).cert_chain_pems[0].bytes()
    der = ssl.PEM_cert_to_DER_cert(pem.decode())
    assert der_not_after(der) == not_after
    assert der_not_after(der) == x509.load_pem_x509_certificate(pem).not_valid_after_utc


@pytest.mark.parametrize(
    "der", [b"", b"\x30\x03\x02\x01", b"\x04\x02hi", b"\x30\x84\xff\xff\xff\xff"]
)
def test_garbage_is_refused(der: bytes) -> None:
    with pytest.raises(ValueError, match="DER"):
        der_not_after(der)
