"""The dashboard reaches the database only through services, as the API does: no module
under `src/heartwatch/web/` imports the store or SQLAlchemy (not even for types)."""

from __future__ import annotations

import ast
from pathlib import Path

import heartwatch.web
from tests.api.test_layering import _imports, _under

WEB = Path(heartwatch.web.__file__).parent


def test_the_dashboard_imports_neither_the_store_nor_sqlalchemy() -> None:
    modules = sorted(WEB.rglob("*.py"))
    assert len(modules) >= 5
    wrong = [
        f"{path.name} imports {module}"
        for path in modules
        for module, _ in _imports(ast.parse(path.read_text(), str(path)))
        if _under(module, "heartwatch.store") or _under(module, "sqlalchemy")
    ]
    assert wrong == []
