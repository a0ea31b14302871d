"""Plugin packages installed for a test: a distribution written to disk as `pip install`
leaves it (modules plus a .dist-info with entry_points.txt) in a directory put on
sys.path, so the registries find it through the real entry point machinery.

    from tests.plugin_packages import install_package  # noqa: F401 - a fixture

    def test_x(install_package: InstallPackage) -> None:
        install_package("hw-demo", {"hw_demo": SOURCE}, "[heartwatch.checkers]\\n...")
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

# (distribution name, module name -> source, the text of entry_points.txt)
InstallPackage = Callable[[str, Mapping[str, str], str], None]


@pytest.fixture
def install_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InstallPackage]:
    """Installs distributions until the test ends, then forgets their modules."""
    imported: list[str] = []

    def install(name: str, modules: Mapping[str, str], entry_points: str) -> None:
        for module, source in modules.items():
            (tmp_path / f"{module}.py").write_text(source)
            imported.append(module)
        dist_info = tmp_path / f"{name.replace('-', '_')}-1.0.dist-info"
        dist_info.mkdir()
        metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
        (dist_info / "METADATA").write_text(metadata)
        (dist_info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
        monkeypatch.syspath_prepend(str(tmp_path))  # also invalidates the import caches

    yield install
    for module in imported:
        sys.modules.pop(module, None)
