"""HTTPS checks against real TLS servers whose certificates a throwaway CA (trustme)
issues: verification on and off, and the certificate expiry warning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import trustme
from aiohttp import web

from heartwatch.checkers.base import CheckContext, Outcome, Probe
from heartwatch.checkers.http import HttpChecker, HttpSettings
from tests.checkers.conftest import Serve, server_ssl


def app(*, keep_alive: bool = True) -> web.Application:
    async def ok(_: web.Request) -> web.Response:
        response = web.Response(text="ok")
        if not keep_alive:
            response.force_close()  # "Connection: close": the socket is gone at once
        return response

    application = web.Application()
    application.router.add_get("/", ok)
    return application


async def check(ctx: CheckContext, url: str, **fields: Any) -> Outcome:
    return await HttpChecker().probe(Probe(url, 2.0, HttpSettings(**fields)), ctx)


def whole_seconds(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


async def test_untrusted_certificate_is_down_with_verification_on(
    ctx: CheckContext, serve: Serve, ca: trustme.CA
) -> None:
    url = await serve(app(), ssl_context=server_ssl(ca))
    outcome = await check(ctx, url)
    assert (outcome.up, outcome.failed_assertion) == (False, "tls")
    assert outcome.error == "TLS: certificate verify failed: unable to get local issuer certificate"


async def test_untrusted_certificate_is_up_with_verification_off(
    ctx: CheckContext, serve: Serve, ca: trustme.CA
) -> None:
    not_after = datetime.now(UTC) + timedelta(days=90)
    url = await serve(app(), ssl_context=server_ssl(ca, not_after=not_after))
    outcome = await check(ctx, url, verify_tls=False)
    assert (outcome.up, outcome.http_status) == (True, 200)
    # read from the certificate's bytes, although it was not verified
    assert outcome.cert_expires_at == whole_seconds(not_after)


async def test_trusted_certificate_is_up_and_its_expiry_recorded(
    trusting_ctx: CheckContext, serve: Serve, ca: trustme.CA
) -> None:
    not_after = datetime.now(UTC) + timedelta(days=200)
    url = await serve(app(), ssl_context=server_ssl(ca, not_after=not_after))
    outcome = await check(trusting_ctx, url)
    assert outcome.up, outcome.error
    assert outcome.cert_expires_at == whole_seconds(not_after)


async def test_certificate_expiring_soon_is_down(
    trusting_ctx: CheckContext, serve: Serve, ca: trustme.CA
) -> None:
    not_after = datetime.now(UTC) + timedelta(days=3, hours=1)
    url = await serve(app(), ssl_context=server_ssl(ca, not_after=not_after))
    outcome = await check(trusting_ctx, url, cert_expiry_days=7)
    assert (outcome.up, outcome.failed_assertion, outcome.http_status) == (
        False,
        "certificate",
        200,
    )
    when = not_after.strftime("%Y-%m-%d %H:%M UTC")
    assert outcome.error == f"certificate expires in 3 days ({when}), within 7 days"
    assert outcome.cert_expires_at == whole_seconds(not_after)
    assert (await check(trusting_ctx, url, cert_expiry_days=2)).up


async def test_expiry_is_read_when_the_server_closes_the_connection(
    trusting_ctx: CheckContext, serve: Serve, ca: trustme.CA
) -> None:
    # The response's own connection is gone by the time the checker looks: the
    # certificate is then read over a connection of its own.
    not_after = datetime.now(UTC) + timedelta(hours=5, minutes=30)
    url = await serve(app(keep_alive=False), ssl_context=server_ssl(ca, not_after=not_after))
    outcome = await check(trusting_ctx, url, cert_expiry_days=1)
    assert outcome.error is not None and outcome.error.startswith("certificate expires in 5 hours")
    assert outcome.cert_expires_at == whole_seconds(not_after)


async def test_expired_certificate(ctx: CheckContext, serve: Serve, ca: trustme.CA) -> None:
    not_after = datetime.now(UTC) - timedelta(days=1)
    url = await serve(
        app(),
        ssl_context=server_ssl(ca, not_before=not_after - timedelta(days=30), not_after=not_after),
    )
    outcome = await check(ctx, url, verify_tls=False, cert_expiry_days=10)
    when = not_after.strftime("%Y-%m-%d %H:%M UTC")
    assert (outcome.error, outcome.failed_assertion) == (
        f"certificate expired on {when}",
        "certificate",
    )


@pytest.mark.parametrize("keep_alive", [True, False])
async def test_cert_expiry_on_plain_http_cannot_pass(
    ctx: CheckContext, serve: Serve, keep_alive: bool
) -> None:
    url = await serve(app(keep_alive=keep_alive))
    outcome = await check(ctx, url, cert_expiry_days=10)
    assert (outcome.up, outcome.failed_assertion) == (False, "certificate")
    assert outcome.error == "cannot read the TLS certificate (is the endpoint https?)"


async def test_https_to_a_plain_http_port(ctx: CheckContext, serve: Serve) -> None:
    url = await serve(app())
    outcome = await check(ctx, url.replace("http://", "https://"))
    assert (outcome.up, outcome.failed_assertion) == (False, "tls")
    assert outcome.error is not None and outcome.error.startswith("TLS: handshake with 127.0.0.1:")
