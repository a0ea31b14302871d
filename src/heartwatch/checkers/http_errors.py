"""Why an HTTP request failed, in words people act on ("connection refused
(127.0.0.1:8080)"), plus the name of the failed assertion; never a bare exception repr."""

from __future__ import annotations

import errno

import aiohttp

from heartwatch.domain.network import DeniedAddress
from heartwatch.domain.snippets import quote


def describe(exc: aiohttp.ClientError) -> tuple[str, str]:
    """(error text, failed_assertion) for an aiohttp client error, on one line."""
    error, assertion = _describe(exc)
    # aiohttp's parser errors span lines and point at the bad byte with a "^".
    return " ".join(error.split()).removesuffix(" ^"), assertion


def _describe(exc: aiohttp.ClientError) -> tuple[str, str]:
    # Most specific first: the certificate and DNS errors are ClientConnectorErrors too.
    # The network policy's refusal comes as either (a name's addresses all denied, or
    # an address), and says why itself.
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, DeniedAddress):
        return f"refused to connect to {exc.host}:{exc.port}: {exc.os_error}", "denied"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        cert_error = exc.certificate_error
        why = getattr(cert_error, "verify_message", None) or str(cert_error)
        return f"TLS: certificate verify failed: {why}", "tls"
    if isinstance(exc, aiohttp.ClientSSLError):
        ssl_error = exc.os_error
        why = getattr(ssl_error, "reason", None) or str(ssl_error)
        return f"TLS: handshake with {exc.host}:{exc.port} failed: {why}", "tls"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"DNS: cannot resolve {exc.host!r}: {_os_reason(exc.os_error)}", "dns"
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return f"connection refused ({exc.host}:{exc.port})", "connection"
        return f"cannot connect to {exc.host}:{exc.port}: {_os_reason(exc.os_error)}", "connection"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server closed the connection without a response", "connection"
    if isinstance(exc, aiohttp.ClientOSError | aiohttp.ClientConnectionResetError):
        if isinstance(exc, ConnectionResetError) or exc.errno == errno.ECONNRESET:
            return "connection reset by peer", "connection"
        return f"connection error: {_os_reason(exc)}", "connection"
    if isinstance(exc, aiohttp.TooManyRedirects):
        return f"too many redirects (gave up after {len(exc.history)})", "redirect"
    if isinstance(exc, aiohttp.RedirectClientError | aiohttp.NonHttpUrlClientError):
        return f"bad redirect: {quote(str(exc))}", "redirect"
    if isinstance(exc, aiohttp.ClientResponseError):
        # The server answered something that is not HTTP (BadStatusLine and friends).
        # (aiohttp's parser errors span lines and point at the bad byte with a "^")
        said = " ".join(str(exc.message).split()).removesuffix(" ^")
        return f"invalid HTTP response: {quote(said)}", "protocol"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"broken response body: {exc}", "protocol"
    return f"{type(exc).__name__}: {exc}", "connection"


def _os_reason(error: OSError) -> str:
    return error.strerror or str(error) or type(error).__name__
