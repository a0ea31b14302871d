"""The bot is a client of the REST API: none of its modules imports the server's layers
(the store, the services, the runtime, the API's app or the worker)."""

from __future__ import annotations

import ast
from pathlib import Path

import heartwatch.bot
from tests.api.test_layering import _imports, _under

BOT = Path(heartwatch.bot.__file__).parent
SERVER_SIDE = (
    "heartwatch.store",
    "heartwatch.services",
    "heartwatch.runtime",
    "heartwatch.api",
    "heartwatch.worker",
    "sqlalchemy",
)


def test_the_bot_imports_nothing_of_the_server_side() -> None:
    modules = sorted(BOT.glob("*.py"))
    assert len(modules) >= 5
    wrong = [
        f"{path.name} imports {module}"
        for path in modules
        for module, _ in _imports(ast.parse(path.read_text(), str(path)))
        if any(_under(module, side) for side in SERVER_SIDE)
    ]
    assert wrong == []
