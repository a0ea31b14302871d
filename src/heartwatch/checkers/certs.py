"""When does the peer's TLS certificate expire?

`SSLObject.getpeercert()` only decodes the certificate when it was verified; with
verification off (self-signed endpoints, `verify_tls: false`) it returns `{}`. Those are
exactly the certificates people forget to renew, so the expiry is read from the DER
bytes (`getpeercert(binary_form=True)`, available in both modes) with the few lines of
ASN.1 below instead of adding a dependency: it only walks to `validity.notAfter`.
"""

from __future__ import annotations

import asyncio
import ssl
from datetime import UTC, datetime

from heartwatch import netguard
from heartwatch.domain.network import DEFAULT_POLICY, NetworkPolicy

_SEQUENCE = 0x30
_UTC_TIME = 0x17
_GENERALIZED_TIME = 0x18
_EXPLICIT_0 = 0xA0  # tbsCertificate.version, optional


def peer_cert_not_after(transport: asyncio.BaseTransport | None) -> datetime | None:
    """The expiry of the certificate on a TLS transport; None if not TLS or unreadable."""
    if transport is None:
        return None
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    try:
        return der_not_after(der)
    except ValueError:
        return None


def der_not_after(der: bytes) -> datetime:
    """`notAfter` of a DER X.509 certificate (RFC 5280 section 4.1); ValueError if the
    bytes are not one."""
    try:
        return _not_after(der)
    except IndexError:
        raise ValueError("truncated DER") from None


def _not_after(der: bytes) -> datetime:
    tag, start, _ = _tlv(der, 0)  # Certificate
    _expect(tag, _SEQUENCE)
    tag, pos, _ = _tlv(der, start)  # tbsCertificate
    _expect(tag, _SEQUENCE)
    tag, _, end = _tlv(der, pos)
    if tag == _EXPLICIT_0:
        tag, _, end = _tlv(der, end)
    # now at serialNumber; skip it, the signature algorithm and the issuer
    for _skip in range(2):
        tag, _, end = _tlv(der, end)
    tag, validity, _ = _tlv(der, end)
    _expect(tag, _SEQUENCE)
    _, _, not_before_end = _tlv(der, validity)
    tag, start, end = _tlv(der, not_before_end)
    return _time(tag, der[start:end].decode("ascii"))


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the element at `pos`."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise ValueError("truncated DER")
    return tag, pos, pos + length


def _expect(tag: int, wanted: int) -> None:
    if tag != wanted:
        raise ValueError(f"unexpected DER tag {tag:#x}, wanted {wanted:#x}")


def _time(tag: int, text: str) -> datetime:
    if not text.endswith("Z"):
        raise ValueError(f"certificate time {text!r} is not UTC")
    utc = text[:-1] + "+0000"
    if tag == _UTC_TIME:  # YYMMDDHHMMSSZ; RFC 5280: YY >= 50 means 19YY
        parsed = datetime.strptime(utc, "%y%m%d%H%M%S%z")
        if parsed.year >= 2050:
            parsed = parsed.replace(year=parsed.year - 100)
    elif tag == _GENERALIZED_TIME:  # YYYYMMDDHHMMSSZ
        parsed = datetime.strptime(utc, "%Y%m%d%H%M%S%z")
    else:
        raise ValueError(f"unexpected time tag {tag:#x}")
    return parsed.astimezone(UTC)


async def fetch_not_after(
    host: str, port: int, timeout_s: float, network: NetworkPolicy = DEFAULT_POLICY
) -> datetime | None:
    """Connect (where `network` allows), shake hands, read the certificate's expiry,
    hang up; None on failure.

    Verification is off on purpose: this only reads the date (the check's own request
    already verified the certificate, or was told not to)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout_s):
            _, writer = await netguard.open_connection(
                host, port, network, ssl=context, server_hostname=host
            )
            return peer_cert_not_after(writer.transport)
    except (OSError, TimeoutError):
        return None
    finally:
        if writer is not None:
            writer.close()
