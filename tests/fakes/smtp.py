"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives.

    with SmtpServer() as smtp:                      # or the `smtp_server` fixture
        ... send to smtp.host:smtp.port ...
        [mail] = smtp.received
        assert mail.message["Subject"] == "payments is DOWN"

`tls="starttls"` offers STARTTLS (and then requires it), `tls="implicit"` speaks TLS from
the first byte; both need `ssl_context` (a server context, e.g. `tests.fakes.net.server_ssl`).
`credentials={"user": "password"}` requires a login (offered only over TLS, as real
servers do). `refuse={"bob@example.com": (550, "5.1.1 No such user")}` refuses a
recipient; `fail_next(n, 451, "4.3.0 Try again later")` answers MAIL FROM with an error.

aiosmtpd runs its own event loop in a thread, so the server works the same under any
test loop; what it records is appended from that thread.
"""

from __future__ import annotations

import email
import email.policy
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from types import TracebackType
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.fakes.net import bound_socket, port_of


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    # Whether the session was encrypted (STARTTLS or implicit TLS) when the mail came.
    tls: bool
    # Who logged in, if anyone.
    login: str | None


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_MAIL(
        self,
        smtp: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        failure = self.server._take_failure()
        if failure is not None:
            return failure
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        smtp: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        refusal = self.server.refuse.get(address.lower())
        if refusal is not None:
            code, text = refusal
            return f"{code} {text}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        # SMTP's CRLF line ends as Python's, so tests compare with plain strings.
        content = (envelope.original_content or b"").replace(b"\r\n", b"\n")
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        login = session.auth_data if session.authenticated else None
        transport = smtp.transport
        self.server.received.append(
            ReceivedMail(
                mail_from=envelope.mail_from or "",
                rcpt_tos=list(envelope.rcpt_tos),
                message=message,
                # Either TLS: STARTTLS upgraded the transport, or it was TLS from the start.
                tls=transport is not None and transport.get_extra_info("ssl_object") is not None,
                login=login.login.decode() if isinstance(login, LoginPassword) else None,
            )
        )
        return "250 Message accepted for delivery"


class _Controller(Controller):
    """aiosmtpd's controller on a socket bound here: port 0 is free for sure, where
    picking a number and hoping would race with everything else on the machine."""

    def __init__(self, handler: _Handler, **kwargs: Any) -> None:
        self._sock = bound_socket()
        super().__init__(handler, hostname="127.0.0.1", port=port_of(self._sock), **kwargs)

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


class SmtpServer:
    def __init__(
        self,
        *,
        tls: Literal["none", "starttls", "implicit"] = "none",
        ssl_context: ssl.SSLContext | None = None,
        credentials: dict[str, str] | None = None,
        refuse: dict[str, tuple[int, str]] | None = None,
    ) -> None:
        if tls != "none" and ssl_context is None:
            raise ValueError(f"tls={tls!r} needs a server ssl_context")
        self.received: list[ReceivedMail] = []
        self.refuse = {address.lower(): reply for address, reply in (refuse or {}).items()}
        self.credentials = credentials
        self._failures: list[str] = []
        self._lock = threading.Lock()
        options: dict[str, Any] = {}
        if tls == "starttls":
            options.update(tls_context=ssl_context, require_starttls=True)
        elif tls == "implicit":
            options["ssl_context"] = ssl_context
        if credentials is not None:
            options.update(
                authenticator=self._authenticate, auth_required=True, auth_require_tls=True
            )
        self._controller = _Controller(_Handler(self), **options)
        self.host = "127.0.0.1"
        self.port = self._controller.port

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def fail_next(self, n: int, code: int, text: str) -> None:
        """Answer the next `n` MAIL FROM commands with `code text`."""
        with self._lock:
            self._failures.extend([f"{code} {text}"] * n)

    def _take_failure(self) -> str | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if self.credentials is None or not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        return AuthResult(
            success=self.credentials.get(login) == password, handled=False, auth_data=auth_data
        )


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A plain SMTP server (no TLS, no login) that keeps what it receives."""
    with SmtpServer() as server:
        yield server
