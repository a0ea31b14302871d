"""Plugin packages installed for a test: a distribution written to disk as `pip install`
leaves it (modules plus a .dist-info with entry_points.txt) in a directory put on
sys.path, so the registries find it through the real entry point machinery."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def installed(
    where: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    name: str,
    modules: Mapping[str, str],
    entry_points: str,
) -> Iterator[None]:
    """Install distribution `name` with `modules` (module name -> source) and
    `entry_points` (the text of entry_points.txt) until the block ends."""
    for module, source in modules.items():
        (where / f"{module}.py").write_text(source)
    dist_info = where / f"{name.replace('-', '_')}-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    monkeypatch.syspath_prepend(str(where))  # also invalidates the import caches
    try:
        yield
    finally:
        for module in modules:
            sys.modules.pop(module, None)
