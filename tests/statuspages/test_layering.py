"""The public pages sit on top, like the API: no module of `heartwatch.statuspages`
imports the store or SQLAlchemy (a schema may name a row type for the type checker)."""

from __future__ import annotations

import ast
from pathlib import Path

import heartwatch.statuspages
from tests.api.test_layering import _imports, _problem

PACKAGE = Path(heartwatch.statuspages.__file__).parent


def test_statuspages_import_neither_the_store_nor_sqlalchemy() -> None:
    wrong: list[str] = []
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) >= 5
    for path in modules:
        name = path.relative_to(PACKAGE).as_posix()
        for module, type_only in _imports(ast.parse(path.read_text(), str(path))):
            if problem := _problem(name, module, type_only):
                wrong.append(f"{name} imports {module}: {problem}")
    assert wrong == []
