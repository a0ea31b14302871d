"""Script checks: run a command, exit status 0 is up (Nagios-style plugins work as is).

Off unless the operator sets HEARTWATCH_ALLOW_SCRIPT_CHECKS=true: otherwise anyone who
may edit a service could run any command as the worker's user. POSIX only: the command
runs in its own process group so that a timeout kills everything it started, not just
the shell in front.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import time
from typing import BinaryIO

from pydantic import Field, StrictBool

from heartwatch.checkers.base import CheckContext, Checker, CheckerSettings, Outcome, Probe
from heartwatch.domain.service_types import ServiceType
from heartwatch.domain.snippets import quote

TAIL_BYTES = 4096
LAST_LINE_CHARS = 200
# Variables holding the worker's own configuration and secrets; a check script has no
# business reading the database password or the bot token.
_PRIVATE_ENV_PREFIX = "HEARTWATCH_"
_PRIVATE_ENV = frozenset({"DATABASE_URL", "TELEGRAM_BOT_TOKEN"})
# After the command exits (or is killed), how long its output may take to drain.
_DRAIN_S = 1.0
# Both when a script service is registered and when one is checked (it may have been
# registered while they were on).
SCRIPTS_DISABLED = (
    "script checks are disabled on this server: set HEARTWATCH_ALLOW_SCRIPT_CHECKS=true to run them"
)


class ScriptSettings(CheckerSettings):
    # Run the endpoint with /bin/sh -c (pipes, &&, $VARS); otherwise it is split like a
    # shell would (shlex) and run directly, with no shell to inject into.
    shell: StrictBool = Field(False)


class ScriptChecker(Checker):
    type = ServiceType.SCRIPT
    Settings = ScriptSettings

    @classmethod
    def parse_endpoint(cls, endpoint: str) -> str:
        command = endpoint.strip()
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise ValueError(f"cannot split the command line {endpoint!r}: {exc}") from None
        if not argv:
            raise ValueError("must be a command line, such as /usr/lib/nagios/check_disk -w 10%")
        return command

    async def probe(self, probe: Probe, ctx: CheckContext) -> Outcome:
        settings = probe.settings
        if not isinstance(settings, ScriptSettings):
            raise TypeError(f"script checks need ScriptSettings, got {type(settings).__name__}")
        if not ctx.allow_scripts:
            return Outcome(up=False, error=SCRIPTS_DISABLED, failed_assertion="disabled")
        argv = ["/bin/sh", "-c", probe.endpoint] if settings.shell else shlex.split(probe.endpoint)
        started = time.perf_counter()
        # Our own pipe, not asyncio's PIPE: Process.wait() also waits for its pipes to
        # close, and a background child holding stdout would make an exited script look
        # like a hung one.
        read_fd, write_fd = os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=write_fd,
                stderr=write_fd,  # one stream, in the order it was written
                start_new_session=True,  # its own process group, killed as a whole
                env=_script_env(),
            )
        except OSError as exc:
            os.close(read_fd)
            why = "command not found" if isinstance(exc, FileNotFoundError) else exc.strerror
            return Outcome(up=False, error=f"{why or exc}: {argv[0]}", failed_assertion="exec")
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)  # the child has its copy; EOF comes when it is gone
        tail = _Tail(TAIL_BYTES)
        reader = asyncio.create_task(tail.collect(os.fdopen(read_fd, "rb", buffering=0)))
        latency_ms: float | None = None
        try:
            async with asyncio.timeout(probe.timeout_s):
                returncode = await process.wait()
                latency_ms = (time.perf_counter() - started) * 1000
        except TimeoutError:
            returncode = None
        except BaseException:  # cancelled: kill and go, asyncio still reaps the child
            _kill_group(process)
            reader.cancel()
            raise
        # Also after a normal exit: a check must not leave a background child behind.
        _kill_group(process)
        if process.returncode is None:
            await process.wait()
        await _drain(reader)
        detail = tail.text()
        if returncode is None:
            error = f"timeout after {probe.timeout_s * 1000:.0f} ms"
            return Outcome(up=False, error=error, failed_assertion="timeout", detail=detail)
        if returncode == 0:
            return Outcome(up=True, latency_ms=latency_ms, detail=detail)
        return Outcome(
            up=False,
            latency_ms=latency_ms,
            error=_exit_reason(returncode, tail.last_line()),
            failed_assertion="exit_status",
            detail=detail,
        )


class _Tail:
    """The last `size` bytes of a stream: scripts can be chatty, only the end matters."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.buffer = bytearray()
        self.truncated = False

    async def collect(self, pipe: BinaryIO) -> None:
        """Read `pipe` to its end, then close it."""
        loop = asyncio.get_running_loop()
        stream = asyncio.StreamReader(loop=loop)
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(stream, loop=loop), pipe
        )
        try:
            while chunk := await stream.read(65536):
                self.buffer += chunk
                if len(self.buffer) > self.size:
                    del self.buffer[: len(self.buffer) - self.size]
                    self.truncated = True
        finally:
            transport.close()

    def text(self) -> str | None:
        if not self.buffer:
            return None
        text = self.buffer.decode(errors="replace")
        return "…" + text if self.truncated else text

    def last_line(self) -> str:
        lines = self.buffer.decode(errors="replace").strip().splitlines()
        line = lines[-1].strip() if lines else ""
        return line if len(line) <= LAST_LINE_CHARS else line[: LAST_LINE_CHARS - 1] + "…"


def _exit_reason(returncode: int, last_line: str) -> str:
    if returncode < 0:
        try:
            reason = f"killed by signal {signal.Signals(-returncode).name}"
        except ValueError:
            reason = f"killed by signal {-returncode}"
    else:
        reason = f"exit status {returncode}"
    return f"{reason}: {quote(last_line)}" if last_line else reason


def _kill_group(process: asyncio.subprocess.Process) -> None:
    # The group id is the leader's pid (start_new_session); the group outlives the
    # leader while any of its children run.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


async def _drain(reader: asyncio.Task[None]) -> None:
    # The group is dead, so the pipe is at EOF at once, unless a child escaped into a
    # session of its own and still holds it: then stop listening rather than wait on it.
    try:
        async with asyncio.timeout(_DRAIN_S):
            await asyncio.shield(reader)
    except TimeoutError:
        reader.cancel()


def _script_env() -> dict[str, str]:
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_PRIVATE_ENV_PREFIX) and name not in _PRIVATE_ENV
    }
