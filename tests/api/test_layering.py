"""The API reaches the database only through services: no module under
`src/heartwatch/api/` imports the store or SQLAlchemy.

Two modules hold the API's edge with SQLAlchemy, and only that: `deps.py` hands routes
the read session they pass to services (its type is SQLAlchemy's), and `errors.py` turns
the unique index's IntegrityError (a write that lost a race with another process at
commit) into a 409. Schemas may name the store's row types they render, for the type
checker only (under `if TYPE_CHECKING:`): they run no store code."""

from __future__ import annotations

import ast
from pathlib import Path

import heartwatch.api

API = Path(heartwatch.api.__file__).parent
EDGES = {"deps.py": ("sqlalchemy.ext.asyncio",), "errors.py": ("sqlalchemy.exc",)}
TYPE_ONLY = ("heartwatch.store.models",)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, type_only: bool = False) -> list[tuple[str, bool]]:
    """(module imported, whether only for the type checker) for every import."""
    found: list[tuple[str, bool]] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, type_only) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative import: spell the module out"
            module = node.module or ""
            # `from heartwatch import store` imports heartwatch.store
            found += [(f"{module}.{alias.name}", type_only) for alias in node.names]
        elif isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.body:
                found += _imports(ast.Module(body=[child], type_ignores=[]), True)
            for child in node.orelse:
                found += _imports(ast.Module(body=[child], type_ignores=[]), type_only)
        else:
            found += _imports(node, type_only)
    return found


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _problem(name: str, module: str, type_only: bool) -> str | None:
    """What is wrong with module `name` (a path under api/) importing `module`."""
    if _under(module, "heartwatch.store"):
        if not type_only or not any(_under(module, t) for t in TYPE_ONLY):
            return "the store"
        if name.startswith("routes/"):
            return "the store, in a route (a route renders what services return)"
    elif _under(module, "sqlalchemy") and not any(
        _under(module, edge) for edge in EDGES.get(name, ())
    ):
        return "SQLAlchemy"
    return None


def test_the_api_imports_neither_the_store_nor_sqlalchemy() -> None:
    wrong: list[str] = []
    modules = sorted(API.rglob("*.py"))
    assert len(modules) > 10  # the walk found the package
    for path in modules:
        name = path.relative_to(API).as_posix()
        for module, type_only in _imports(ast.parse(path.read_text(), str(path))):
            if problem := _problem(name, module, type_only):
                wrong.append(f"{name} imports {module}: {problem}")
    assert wrong == []


def test_the_walk_sees_imports_at_any_depth() -> None:
    source = (
        "import sqlalchemy\n"
        "from heartwatch import store\n"
        "if TYPE_CHECKING:\n    from heartwatch.store.models import Service\n"
        "def f():\n    from heartwatch.store.tables import core_table\n"
    )
    assert _imports(ast.parse(source)) == [
        ("sqlalchemy", False),
        ("heartwatch.store", False),
        ("heartwatch.store.models.Service", True),
        ("heartwatch.store.tables.core_table", False),
    ]
