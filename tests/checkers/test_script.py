"""The script checker with real subprocesses."""

from __future__ import annotations

import asyncio
import os
import shlex
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from heartwatch.checkers.base import CheckContext, Outcome, Probe
from heartwatch.checkers.script import TAIL_BYTES, ScriptChecker, ScriptSettings


@pytest.fixture
def allowed(http_session: aiohttp.ClientSession) -> CheckContext:
    return CheckContext(http=http_session, allow_scripts=True)


def python(code: str, *args: str) -> str:
    return shlex.join([sys.executable, "-c", code, *args])


async def run(
    ctx: CheckContext, command: str, timeout_s: float = 5.0, *, shell: bool = False
) -> Outcome:
    endpoint = ScriptChecker.parse_endpoint(command)
    return await ScriptChecker().probe(Probe(endpoint, timeout_s, ScriptSettings(shell=shell)), ctx)


def is_dead(pid: int) -> bool:
    """No such process, or a zombie waiting for a reaper (pid 1 in a container may
    never reap it, but it runs no more)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


async def is_gone(pid: int) -> bool:
    # SIGKILL is sent by the time the check returns, but the kernel may take a moment
    # to tear down a process that is not our child (we cannot wait() for it).
    for _ in range(100):
        if is_dead(pid):
            return True
        await asyncio.sleep(0.01)
    return False


async def test_disabled_unless_the_operator_allows(ctx: CheckContext, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    outcome = await run(ctx, f"touch {marker}")
    assert (outcome.up, outcome.failed_assertion) == (False, "disabled")
    assert outcome.error is not None and "HEARTWATCH_ALLOW_SCRIPT_CHECKS=true" in outcome.error
    assert not marker.exists()


async def test_exit_zero_is_up(allowed: CheckContext) -> None:
    outcome = await run(allowed, python("print('all good')"))
    assert (outcome.up, outcome.detail, outcome.error) == (True, "all good\n", None)
    assert outcome.latency_ms is not None and outcome.latency_ms > 0


async def test_exit_status_is_down_with_the_last_line(allowed: CheckContext) -> None:
    code = (
        "import sys; print('checking'); print('CRITICAL - disk 97%', file=sys.stderr); sys.exit(3)"
    )
    outcome = await run(allowed, python(code))
    assert (outcome.up, outcome.failed_assertion) == (False, "exit_status")
    assert outcome.error == "exit status 3: «CRITICAL - disk 97%»"
    assert outcome.detail == "checking\nCRITICAL - disk 97%\n"  # stdout and stderr, in order


async def test_killed_by_a_signal(allowed: CheckContext) -> None:
    outcome = await run(allowed, "kill -TERM $$", shell=True)
    assert outcome.error == "killed by signal SIGTERM"


async def test_timeout_kills_the_whole_process_group(allowed: CheckContext, tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    code = (
        "import subprocess, sys; child = subprocess.Popen(['sleep', '30']); "
        "open(sys.argv[1], 'w').write(str(child.pid)); print('started', flush=True); child.wait()"
    )
    started = time.perf_counter()
    outcome = await run(allowed, python(code, str(pid_file)), timeout_s=0.5)
    assert time.perf_counter() - started < 2
    assert (outcome.up, outcome.error, outcome.failed_assertion) == (
        False,
        "timeout after 500 ms",
        "timeout",
    )
    assert outcome.detail == "started\n"  # what it said before it was killed
    assert await is_gone(int(pid_file.read_text()))  # the grandchild too, not just the script


async def test_no_background_child_outlives_the_check(allowed: CheckContext) -> None:
    outcome = await run(allowed, "sleep 30 & echo $!", shell=True)
    assert outcome.up and outcome.detail is not None
    assert await is_gone(int(outcome.detail))


async def test_output_keeps_only_the_tail(allowed: CheckContext) -> None:
    outcome = await run(allowed, python("for i in range(20000): print(f'line {i}')"))
    assert outcome.up and outcome.detail is not None
    assert outcome.detail.startswith("…")
    assert len(outcome.detail.encode()) <= TAIL_BYTES + len("…".encode())
    assert outcome.detail.endswith("line 19998\nline 19999\n")


async def test_command_not_found(allowed: CheckContext) -> None:
    outcome = await run(allowed, "/nonexistent/check_thing -w 1")
    assert (outcome.up, outcome.error, outcome.failed_assertion) == (
        False,
        "command not found: /nonexistent/check_thing",
        "exec",
    )


async def test_no_shell_unless_asked(allowed: CheckContext) -> None:
    # Without shell, "|" is just an argument to echo; with it, a pipe.
    assert (await run(allowed, "echo a | tr a b")).detail == "a | tr a b\n"
    assert (await run(allowed, "echo a | tr a b", shell=True)).detail == "b\n"


async def test_the_workers_secrets_stay_out_of_the_script(
    allowed: CheckContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEARTWATCH_DATABASE_URL", "postgresql://u:secret@db/hw")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:secret")
    monkeypatch.setenv("CHECK_TARGET", "visible")
    code = "import os; print([v for k, v in os.environ.items() if k != 'PYTEST_CURRENT_TEST'])"
    seen = (await run(allowed, python(code))).detail
    assert seen is not None and "visible" in seen and "secret" not in seen
    assert (await run(allowed, "sh -c 'echo $CHECK_TARGET'")).detail == "visible\n"
    assert "PATH" in os.environ  # and PATH still reaches it (commands are found above)
