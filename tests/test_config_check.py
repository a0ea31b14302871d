"""Unknown HEARTWATCH_* variables are warned about, with the name most likely meant."""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.testing import capture_logs

from heartwatch import cli
from heartwatch.config_check import known_variables, warnings


def test_a_mistyped_variable_is_named_with_the_one_meant(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("HEARTWATCH_CHEK_INTERVAL_SECONDS=3\nHEARTWATCH_PORT=9000\n")
    lines = warnings(
        {
            "HEARTWATCH_DATABSE_URL": "sqlite:///x.db",
            "HEARTWATCH_PING_KEY": "0123456789",
            "HEARTWATCH_QQQZZZ": "1",
            "PATH": "/bin",
        },
        env_file,
    )
    assert lines == [
        f"unknown setting HEARTWATCH_CHEK_INTERVAL_SECONDS (in {env_file}) is ignored: "
        "did you mean HEARTWATCH_CHECK_INTERVAL_SECONDS?",
        "unknown setting HEARTWATCH_DATABSE_URL (in the environment) is ignored: "
        "did you mean HEARTWATCH_DATABASE_URL?",
        "unknown setting HEARTWATCH_QQQZZZ (in the environment) is ignored",
    ]


def test_every_documented_variable_is_known() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    known = known_variables()
    for name in ("HEARTWATCH_MIN_PERIOD_SECONDS", "HEARTWATCH_PING_KEY", "HEARTWATCH_URL"):
        assert name in known and name in readme


def test_the_command_line_warns_at_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HEARTWATCH_PEROID", "60")
    with capture_logs() as logs:
        cli._warn_unknown_variables()
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == [
        "unknown setting HEARTWATCH_PEROID (in the environment) is ignored"
    ]
