"""Structured logs (structlog) for heartwatch and for the libraries it runs (uvicorn, ...).

No line carries a credential, at any level: the libraries that would log one are held
above their debug level (statement parameters, request payloads), and every line goes
through `redaction.Redactor` on its way out."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Any

import structlog

from heartwatch.redaction import Redactor

# Loggers whose debug lines quote what they carry: statement parameters (aiosqlite: a
# key's hash, a channel's config), request payloads and URLs with credentials (apprise),
# request and response headers (httpcore), request URLs (urllib3, under apprise). Never
# below INFO, whatever the level.
_QUOTING_LOGGERS = ("aiosqlite", "asyncpg", "apprise", "httpcore", "urllib3")
# SQLAlchemy's statement log (its INFO: every statement; parameters are hidden by the
# engines anyway) stays at SQLAlchemy's own default, warnings only.
# Alembic's plugin set-up lines (a dozen at every start) likewise.
_QUIET_LOGGERS = ("sqlalchemy.engine", "sqlalchemy.pool", "alembic.runtime.plugins")
# httpx's INFO is a line per request: the worker's own heartbeat every check interval.
# Shown at debug level only.
_DEBUG_ONLY_LOGGERS = ("httpx",)


class _RedactingFormatter(structlog.stdlib.ProcessorFormatter):
    """The rendered line (a traceback included) with credentials masked."""

    def __init__(self, redactor: Redactor, **options: Any) -> None:
        super().__init__(**options)
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor(super().format(record))


def configure_logging(
    level: str = "info", fmt: str = "console", secrets: Iterable[str | None] = ()
) -> None:
    """`secrets`: values masked wherever they appear (the ping key, the admin key, ...)."""
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderers: list[structlog.typing.Processor] = (
        # JSON: the exception as structured data, not just `"exc_info": true`.
        [structlog.processors.dict_tracebacks, structlog.processors.JSONRenderer()]
        if fmt == "json"
        # Console: plain tracebacks. The default (rich) one prints every local variable,
        # which for a failed batch of a thousand heartbeats is megabytes per error.
        else [
            structlog.dev.ConsoleRenderer(
                colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
            )
        ]
    )
    structlog.configure(
        # filter_by_level first: a disabled debug line (one per check) costs a level
        # comparison, not a run through the timestamping and rendering chain.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler()
    handler.setFormatter(
        _RedactingFormatter(
            Redactor(secrets),
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderers],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in _QUOTING_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    for name in _DEBUG_ONLY_LOGGERS:
        logging.getLogger(name).setLevel(
            logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING
        )
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
