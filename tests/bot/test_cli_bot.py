"""`heartwatch bot` without a token says what it needs and exits, starting nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_bot_without_a_token_says_what_to_set(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "HEARTWATCH_"))}
    done = subprocess.run(
        [sys.executable, "-m", "heartwatch", "bot"],
        cwd=tmp_path,  # (no .env here)
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "the bot needs TELEGRAM_BOT_TOKEN" in done.stderr
