"""Email, through an SMTP server (aiosmtplib): plain, STARTTLS or TLS from the start.

An SMTP reply code says whether to retry: 4xx is temporary (greylisting, a full queue),
5xx permanent (an unknown mailbox, a refused login). The subject is the message's title
and the body plain text, which every mail client and pager gateway shows as it is.
"""

from __future__ import annotations

import email.utils
import re
import ssl
from email.message import EmailMessage
from typing import Annotated, Any, Final, Literal

import aiosmtplib
from pydantic import Field, SecretStr, field_validator, model_validator

from heartwatch import __version__, netguard
from heartwatch.domain.snippets import quote
from heartwatch.notifiers.base import (
    DeliveryError,
    Destination,
    Message,
    Notifier,
    NotifierSettings,
    NotifyContext,
)

Security = Literal["none", "starttls", "tls"]
DEFAULT_PORTS: Final[dict[str, int]] = {"none": 25, "starttls": 587, "tls": 465}
# What an address must look like once parsed: one @, something either side, no spaces.
# (Deliverability is the server's to judge; this catches typos and header injection.)
_ADDR_SPEC = re.compile(r"[^@\s]+@[^@\s]+")
_HOST = re.compile(r"[A-Za-z0-9.\-:\[\]_]+")


def check_address(value: str) -> str:
    """One address, `alerts@example.com` or `Heartwatch <alerts@example.com>`, in its
    canonical form; ValueError otherwise."""
    text = value.strip()
    if any(char in text for char in "\r\n\0"):
        raise ValueError(f"{text!r} has a line break in it")
    parsed = email.utils.getaddresses([text])
    if len(parsed) != 1 or not _ADDR_SPEC.fullmatch(parsed[0][1]):
        raise ValueError(f"{text!r} is not one email address such as alerts@example.com")
    name, address = parsed[0]
    return email.utils.formataddr((name, address)) if name else address


class EmailSettings(NotifierSettings):
    # Where the password goes, and how safely: changing any of these needs the password
    # sent again.
    host: Annotated[str, Destination()]
    # Left out: 25, 587 or 465 by `security`.
    port: Annotated[int | None, Destination(address=False)] = Field(None, ge=1, le=65535)
    security: Annotated[Security, Destination(address=False)] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    from_address: str
    to: list[str] = Field(min_length=1)
    # Off only for a server with a self-signed certificate, on a network you trust.
    validate_certs: Annotated[bool, Destination(address=False)] = True

    @field_validator("host")
    @classmethod
    def _valid_host(cls, value: str) -> str:
        host = value.strip()
        if not _HOST.fullmatch(host):
            raise ValueError(f"{value!r} is not a host name or address")
        return host

    @field_validator("security", mode="before")
    @classmethod
    def _lower_security(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("from_address")
    @classmethod
    def _valid_from(cls, value: str) -> str:
        return check_address(value)

    @field_validator("to")
    @classmethod
    def _valid_to(cls, value: list[str]) -> list[str]:
        return [check_address(item) for item in value]

    @model_validator(mode="after")
    def _credentials(self) -> EmailSettings:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together: give both or neither")
        if self.password is not None and self.security == "none":
            raise ValueError(
                "a password needs security starttls or tls: it would cross the network in clear"
            )
        return self

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else DEFAULT_PORTS[self.security]


def compose(message: Message, settings: EmailSettings) -> EmailMessage:
    mail = EmailMessage()
    # A header cannot hold a line break; a title should not have one anyway.
    mail["Subject"] = _one_line(message.title)
    mail["From"] = settings.from_address
    mail["To"] = ", ".join(settings.to)
    mail["Date"] = email.utils.formatdate(usegmt=True)
    domain = _addr_spec(settings.from_address).rpartition("@")[2]
    mail["Message-ID"] = email.utils.make_msgid(domain=domain)
    # RFC 3834: out-of-office robots must not answer an alert.
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Mailer"] = f"heartwatch/{__version__}"
    # For mail filters: route "down" differently from "recovered".
    mail["X-Heartwatch-Event"] = message.event
    if message.service_key:
        mail["X-Heartwatch-Service"] = _one_line(message.service_key)
    text = message.body or message.title
    if message.url and message.url not in text:
        text += f"\n\n{message.url}"
    mail.set_content(text + "\n")
    return mail


class EmailNotifier(Notifier[EmailSettings]):
    type = "email"
    rate_per_minute = 60.0

    def __init__(self, tls_context: ssl.SSLContext | None = None) -> None:
        # The CAs SMTP servers are verified against; None means the system's.
        self.tls_context = tls_context

    async def send(self, message: Message, settings: EmailSettings, ctx: NotifyContext) -> None:
        where = f"SMTP server {settings.host}:{settings.effective_port}"
        # aiosmtplib connects by itself: the network policy judges the host just before.
        denied = await netguard.host_denial(settings.host, ctx.network)
        if denied is not None:
            raise DeliveryError(f"{where}: refused to connect: {denied}", retryable=False)
        options: dict[str, Any] = {
            "hostname": settings.host,
            "port": settings.effective_port,
            "use_tls": settings.security == "tls",
            # Explicit either way: left at None, aiosmtplib would upgrade whenever the
            # server offers it, and "none" would then fail on a self-signed certificate.
            "start_tls": settings.security == "starttls",
            "validate_certs": settings.validate_certs,
            "timeout": ctx.timeout_s,
        }
        if settings.validate_certs and self.tls_context is not None:
            options["tls_context"] = self.tls_context
        if settings.username is not None and settings.password is not None:
            options["username"] = settings.username
            options["password"] = settings.password.get_secret_value()
        recipients = [_addr_spec(item) for item in settings.to]
        try:
            refused, _ = await aiosmtplib.send(
                compose(message, settings),
                sender=_addr_spec(settings.from_address),
                recipients=recipients,
                **options,
            )
        except aiosmtplib.SMTPException as exc:
            raise _smtp_error(where, exc) from None
        except ssl.SSLError as exc:  # a failed STARTTLS handshake is not wrapped
            raise _tls_error(where, exc) from None
        except OSError as exc:
            raise DeliveryError(f"{where}: {exc}", retryable=True) from None
        if refused:
            # Some got it: sending again would repeat it to them. The address is wrong.
            refusals = "; ".join(
                f"{address} ({response.code} {quote(response.message)})"
                for address, response in refused.items()
            )
            raise DeliveryError(f"{where} refused recipients: {refusals}", retryable=False)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _addr_spec(address: str) -> str:
    return email.utils.parseaddr(address)[1]


def _smtp_error(where: str, exc: aiosmtplib.SMTPException) -> DeliveryError:
    tls = _ssl_cause(exc)
    if tls is not None:
        return _tls_error(where, tls)
    if isinstance(exc, aiosmtplib.SMTPTimeoutError):
        return DeliveryError(f"{where}: timed out: {exc.message}", retryable=True)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refusals = "; ".join(
            f"{item.recipient} ({item.code} {quote(item.message)})" for item in exc.recipients
        )
        temporary = all(_temporary(item.code) for item in exc.recipients)
        return DeliveryError(f"{where} refused every recipient: {refusals}", retryable=temporary)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        what = {
            aiosmtplib.SMTPAuthenticationError: "refused the login",
            aiosmtplib.SMTPSenderRefused: "refused the sender",
            aiosmtplib.SMTPRecipientRefused: "refused the recipient",
            aiosmtplib.SMTPDataError: "refused the message",
        }.get(type(exc), "answered")
        return DeliveryError(
            f"{where} {what}: {exc.code} {quote(exc.message)}", retryable=_temporary(exc.code)
        )
    if isinstance(exc, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPServerDisconnected):
        return DeliveryError(f"{where}: {exc.message}", retryable=True)
    # What is left says the server lacks what the settings ask for ("STARTTLS extension
    # not supported", "AUTH extension not supported"): the settings must change.
    return DeliveryError(f"{where}: {exc.message}", retryable=False)


def _temporary(code: int) -> bool:
    return 400 <= code < 500


def _ssl_cause(exc: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _tls_error(where: str, exc: ssl.SSLError) -> DeliveryError:
    # Certificates and protocol mismatches (security "tls" on a STARTTLS port) stay
    # broken until someone changes the server or the settings.
    if isinstance(exc, ssl.SSLCertVerificationError):
        return DeliveryError(
            f"{where}: TLS certificate verify failed: {exc.verify_message}", retryable=False
        )
    return DeliveryError(
        f"{where}: TLS handshake failed: {exc.reason or exc} (is `security` right for this port?)",
        retryable=False,
    )
