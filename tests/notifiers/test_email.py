"""Email through a real SMTP server (aiosmtpd on 127.0.0.1): plain, STARTTLS and TLS
with a certificate from a throwaway CA, logins, and SMTP replies sorted by their code
into retry (4xx) or not (5xx)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import aiohttp
import pytest
import trustme

from heartwatch.domain.network import NetworkPolicy
from heartwatch.notifiers.base import DeliveryError, NotifyContext, masked
from heartwatch.notifiers.email import EmailNotifier, EmailSettings
from heartwatch.notifiers.registry import NotifierRegistry
from tests.fakes.net import client_ssl, server_ssl
from tests.fakes.smtp import SmtpServer
from tests.notifiers.conftest import SERVICE_URL, down_message

FROM = "Heartwatch <alerts@heartwatch.example>"
TO = ["oncall@example.com", "Bob Ops <bob@example.com>"]


def settings(server: SmtpServer, **fields: object) -> EmailSettings:
    config: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "from_address": FROM,
        "to": TO,
    }
    return EmailSettings.model_validate({**config, **fields})


async def send_failing(
    server: SmtpServer,
    ctx: NotifyContext,
    notifier: EmailNotifier | None = None,
    **fields: object,
) -> DeliveryError:
    with pytest.raises(DeliveryError) as raised:
        await (notifier or EmailNotifier()).send(down_message(), settings(server, **fields), ctx)
    return raised.value


@pytest.fixture
def starttls_server(ca: trustme.CA) -> Iterator[SmtpServer]:
    with SmtpServer(
        tls="starttls", ssl_context=server_ssl(ca), credentials={"alerts": "s3cret-pass"}
    ) as server:
        yield server


@pytest.fixture
def trusting(ca: trustme.CA) -> EmailNotifier:
    """Trusts the test CA for SMTP, as a system trusts the public ones."""
    return EmailNotifier(client_ssl(ca))


@pytest.fixture
def trusting_ctx(http_session: aiohttp.ClientSession) -> NotifyContext:
    return NotifyContext(http_session, timeout_s=5.0)


async def test_the_mail_arrives_with_the_title_as_subject(
    smtp_server: SmtpServer, ctx: NotifyContext
) -> None:
    message = down_message()
    await EmailNotifier().send(message, settings(smtp_server), ctx)

    [mail] = smtp_server.received
    assert mail.mail_from == "alerts@heartwatch.example"
    assert mail.rcpt_tos == ["oncall@example.com", "bob@example.com"]
    assert (mail.tls, mail.login) == (False, None)
    headers = mail.message
    assert headers["Subject"] == "payments is DOWN"
    assert headers["From"] == FROM
    assert headers["To"] == "oncall@example.com, Bob Ops <bob@example.com>"
    assert headers["Auto-Submitted"] == "auto-generated"
    assert headers["X-Heartwatch-Event"] == "down"
    assert headers["X-Heartwatch-Service"] == "payments"
    assert headers["Message-ID"].endswith("@heartwatch.example>")
    assert headers["Date"]
    assert mail.message.get_content_type() == "text/plain"
    assert mail.message.get_content() == message.body + "\n"


async def test_a_link_missing_from_the_body_is_added(
    smtp_server: SmtpServer, ctx: NotifyContext
) -> None:
    message = down_message(title="café ☕ is\nDOWN", body="Status: down — since 11:58")
    await EmailNotifier().send(message, settings(smtp_server), ctx)
    [mail] = smtp_server.received
    assert mail.message["Subject"] == "café ☕ is DOWN"  # a header holds no line break
    assert mail.message.get_content() == f"Status: down — since 11:58\n\n{SERVICE_URL}\n"


async def test_line_breaks_never_reach_a_header(
    smtp_server: SmtpServer, ctx: NotifyContext
) -> None:
    message = down_message(title="payments\r\nBcc: x@evil.example", service_key="pay\nments")
    await EmailNotifier().send(message, settings(smtp_server), ctx)
    [mail] = smtp_server.received
    assert mail.message["Subject"] == "payments Bcc: x@evil.example"
    assert mail.message["X-Heartwatch-Service"] == "pay ments"
    assert mail.message["Bcc"] is None
    assert mail.rcpt_tos == ["oncall@example.com", "bob@example.com"]


async def test_starttls_with_a_login_on_a_verified_certificate(
    starttls_server: SmtpServer, trusting: EmailNotifier, trusting_ctx: NotifyContext
) -> None:
    await trusting.send(
        down_message(),
        settings(starttls_server, security="starttls", username="alerts", password="s3cret-pass"),
        trusting_ctx,
    )
    [mail] = starttls_server.received
    assert (mail.tls, mail.login) == (True, "alerts")


async def test_an_untrusted_certificate_is_refused(
    starttls_server: SmtpServer, ctx: NotifyContext
) -> None:
    error = await send_failing(
        starttls_server, ctx, security="starttls", username="alerts", password="s3cret-pass"
    )
    assert not error.retryable
    assert error.message == (
        f"SMTP server 127.0.0.1:{starttls_server.port}: TLS certificate verify failed: "
        "unable to get local issuer certificate"
    )
    assert starttls_server.received == []


async def test_validate_certs_off_accepts_a_self_signed_server(
    starttls_server: SmtpServer, ctx: NotifyContext
) -> None:
    await EmailNotifier().send(
        down_message(),
        settings(
            starttls_server,
            security="starttls",
            username="alerts",
            password="s3cret-pass",
            validate_certs=False,
        ),
        ctx,
    )
    assert [mail.tls for mail in starttls_server.received] == [True]


async def test_a_wrong_password_is_not_retryable(
    starttls_server: SmtpServer, trusting: EmailNotifier, trusting_ctx: NotifyContext
) -> None:
    error = await send_failing(
        starttls_server,
        trusting_ctx,
        trusting,
        security="starttls",
        username="alerts",
        password="wrong",
    )
    assert not error.retryable
    assert error.message == (
        f"SMTP server 127.0.0.1:{starttls_server.port} refused the login: "
        "535 «5.7.8 Authentication credentials invalid»"
    )
    assert "wrong" not in error.message


async def test_implicit_tls(
    ca: trustme.CA, trusting: EmailNotifier, trusting_ctx: NotifyContext
) -> None:
    with SmtpServer(tls="implicit", ssl_context=server_ssl(ca)) as server:
        await trusting.send(down_message(), settings(server, security="tls"), trusting_ctx)
    assert [mail.tls for mail in server.received] == [True]


async def test_starttls_asked_of_a_server_without_it(
    smtp_server: SmtpServer, ctx: NotifyContext
) -> None:
    error = await send_failing(smtp_server, ctx, security="starttls")
    assert not error.retryable
    assert error.message == (
        f"SMTP server 127.0.0.1:{smtp_server.port}: SMTP STARTTLS extension not supported "
        "by server."
    )


async def test_tls_asked_of_a_plain_server(smtp_server: SmtpServer, ctx: NotifyContext) -> None:
    error = await send_failing(smtp_server, ctx, security="tls")
    assert not error.retryable
    assert error.message.startswith(
        f"SMTP server 127.0.0.1:{smtp_server.port}: TLS handshake failed: "
    )
    assert error.message.endswith("(is `security` right for this port?)")


async def test_a_temporary_refusal_is_retryable(
    smtp_server: SmtpServer, ctx: NotifyContext
) -> None:
    smtp_server.fail_next(1, 451, "4.3.0 Try again later")
    error = await send_failing(smtp_server, ctx)
    assert error.retryable
    assert error.message == (
        f"SMTP server 127.0.0.1:{smtp_server.port} refused the sender: 451 «4.3.0 Try again later»"
    )
    await EmailNotifier().send(down_message(), settings(smtp_server), ctx)
    assert len(smtp_server.received) == 1


async def test_a_permanent_refusal_is_not(smtp_server: SmtpServer, ctx: NotifyContext) -> None:
    smtp_server.fail_next(1, 550, "5.7.1 Sender rejected")
    error = await send_failing(smtp_server, ctx)
    assert not error.retryable


@pytest.mark.parametrize(("code", "retryable"), [(550, False), (450, True)])
async def test_every_recipient_refused(ctx: NotifyContext, code: int, retryable: bool) -> None:
    refuse = {
        "oncall@example.com": (code, "5.1.1 No such user"),
        "bob@example.com": (code, "5.1.1 No such user"),
    }
    with SmtpServer(refuse=refuse) as server:
        error = await send_failing(server, ctx)
    assert error.retryable is retryable
    assert error.message == (
        f"SMTP server 127.0.0.1:{server.port} refused every recipient: "
        f"oncall@example.com ({code} «5.1.1 No such user»); "
        f"bob@example.com ({code} «5.1.1 No such user»)"
    )


async def test_one_recipient_refused_is_reported_but_not_resent(ctx: NotifyContext) -> None:
    with SmtpServer(refuse={"bob@example.com": (550, "5.1.1 No such user")}) as server:
        error = await send_failing(server, ctx)
    # The others got it: a retry would send it to them twice.
    assert not error.retryable
    assert error.message == (
        f"SMTP server 127.0.0.1:{server.port} refused recipients: "
        "bob@example.com (550 «5.1.1 No such user»)"
    )
    assert [mail.rcpt_tos for mail in server.received] == [["oncall@example.com"]]


async def test_an_unreachable_server_is_retryable(ctx: NotifyContext, closed_port: int) -> None:
    unreachable = EmailSettings(
        host="127.0.0.1", port=closed_port, security="none", from_address=FROM, to=TO
    )
    with pytest.raises(DeliveryError) as raised:
        await EmailNotifier().send(down_message(), unreachable, ctx)
    assert raised.value.retryable
    assert raised.value.message.startswith(
        f"SMTP server 127.0.0.1:{closed_port}: Error connecting to 127.0.0.1 on port "
        f"{closed_port}: "
    )


def test_settings_defaults_and_masking() -> None:
    valid = NotifierRegistry(discover=False).validate(
        "email",
        {
            "host": "smtp.example.com",
            "username": "alerts",
            "password": "correct horse battery staple",
            "from_address": " alerts@example.com ",
            "to": ["Ops <ops@example.com>"],
            "security": "TLS",
        },
    )
    assert isinstance(valid, EmailSettings)
    assert valid.effective_port == 465
    assert masked(valid) == {
        "host": "smtp.example.com",
        "port": None,
        "security": "tls",
        "username": "alerts",
        "password": "••••aple",
        "from_address": "alerts@example.com",
        "to": ["Ops <ops@example.com>"],
        "validate_certs": True,
    }
    ports = [
        EmailSettings(host="h", security=security, from_address="a@b", to=["c@d"]).effective_port
        for security in ("none", "starttls", "tls")
    ]
    assert ports == [25, 587, 465]


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"to": []}, "to: List should have at least 1 item"),
        ({"to": ["oncall"]}, "to: 'oncall' is not one email address such as"),
        ({"to": ["a@example.com, b@example.com"]}, "is not one email address"),
        (
            {"from_address": "a@example.com\r\nBcc: victim@example.com"},
            "from_address: 'a@example.com\\r\\nBcc: victim@example.com' has a line break",
        ),
        ({"host": "smtp example.com"}, "host: 'smtp example.com' is not a host name"),
        ({"security": "ssl"}, "security: Input should be 'none', 'starttls' or 'tls'"),
        ({"port": 0}, "port: Input should be greater than or equal to 1"),
        ({"username": "alerts"}, "username and password go together"),
        (
            {"username": "a", "password": "p", "security": "none"},
            "a password needs security starttls or tls",
        ),
    ],
)
def test_invalid_settings_are_refused_clearly(fields: dict[str, object], problem: str) -> None:
    config = {"host": "smtp.example.com", "from_address": "a@example.com", "to": ["b@example.com"]}
    with pytest.raises(ValueError, match=re.escape(problem)):
        NotifierRegistry(discover=False).validate("email", {**config, **fields})


async def test_the_smtp_host_is_held_to_the_network_policy(ctx: NotifyContext) -> None:
    # aiosmtplib connects by itself: the host is judged by what it resolves to, first.
    # (Denied here: loopback, where the test server listens.)
    strict = NotifyContext(ctx.http, network=NetworkPolicy.of(deny="127.0.0.0/8"))
    with SmtpServer() as server:
        for host in ("localhost", "127.0.0.1"):
            unreachable = EmailSettings(
                host=host, port=server.port, security="none", from_address=FROM, to=TO
            )
            with pytest.raises(DeliveryError) as raised:
                await EmailNotifier().send(down_message(), unreachable, strict)
            assert raised.value.message == (
                f"SMTP server {host}:{server.port}: refused to connect: "
                "address 127.0.0.1 is in a denied network (127.0.0.0/8)"
            )
        assert server.received == []
