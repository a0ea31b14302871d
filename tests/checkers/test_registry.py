"""The checker registry: built-ins, plugins found through a real entry point (a
distribution written to disk as pip would install it), and settings validation."""

from __future__ import annotations

import re
from typing import Any

import pytest

from heartwatch.checkers.base import CheckContext
from heartwatch.checkers.http import HttpChecker, HttpSettings
from heartwatch.checkers.registry import CheckerRegistry, UnknownCheckerType
from heartwatch.checkers.runner import run_check
from tests.plugin_packages import InstallPackage, install_package  # noqa: F401 - a fixture

PLUGIN = """
from heartwatch.checkers.base import CheckContext, Checker, CheckerSettings, Outcome, Probe


class DemoSettings(CheckerSettings):
    greeting: str = "hello"


class DemoChecker(Checker):
    type = "demo"
    Settings = DemoSettings

    @classmethod
    def parse_endpoint(cls, endpoint: str) -> str:
        if endpoint == "demo:crash":
            raise KeyError("a plugin bug")
        if not endpoint.startswith("demo:"):
            raise ValueError("must start with demo:")
        return endpoint

    async def probe(self, probe: Probe, ctx: CheckContext) -> Outcome:
        if probe.endpoint == "demo:boom":
            raise RuntimeError("boom")
        assert isinstance(probe.settings, DemoSettings)
        return Outcome(up=True, detail=probe.settings.greeting)


class HttpImpostor(DemoChecker):
    type = "http"


class Abstract(Checker):
    type = "abstract"


class NotAChecker:
    type = "nope"
"""

ENTRY_POINTS = """
[heartwatch.checkers]
demo = hw_demo_plugin:DemoChecker
impostor = hw_demo_plugin:HttpImpostor
abstract = hw_demo_plugin:Abstract
nope = hw_demo_plugin:NotAChecker
broken = hw_broken_plugin:Checker
missing = hw_no_such_module:Checker
quitter = hw_quitting_plugin:Checker
"""


MODULES = {
    "hw_demo_plugin": PLUGIN,
    "hw_broken_plugin": "import hw_dependency_that_is_not_installed\n",
    "hw_quitting_plugin": "import sys\nsys.exit(3)\n",
}


@pytest.fixture
def installed_plugins(
    install_package: InstallPackage,  # noqa: F811 - the fixture imported above
) -> None:
    install_package("hw-demo-plugins", MODULES, ENTRY_POINTS)


def test_builtins() -> None:
    registry = CheckerRegistry(discover=False)
    assert registry.types() == {"http", "tcp", "script"}
    assert isinstance(registry.get("http"), HttpChecker)
    assert registry.get("http") is registry.get("http")  # built once


def test_unknown_type_is_a_clear_lookup_and_value_error() -> None:
    registry = CheckerRegistry(discover=False)
    with pytest.raises(KeyError) as raised:
        registry.get("gopher")
    assert str(raised.value) == "unknown checker type 'gopher': known types are http, script, tcp"
    with pytest.raises(ValueError, match="unknown checker type 'gopher'"):
        registry.validate_settings("gopher", "x", {})
    assert isinstance(raised.value, UnknownCheckerType)


@pytest.mark.usefixtures("installed_plugins")
def test_a_plugin_is_discovered_and_broken_ones_are_skipped() -> None:
    registry = CheckerRegistry()
    assert registry.types() == {"http", "tcp", "script", "demo"}
    # a plugin cannot take over a built-in type
    assert isinstance(registry.get("http"), HttpChecker)
    problems = "\n".join(registry.problems)
    assert len(registry.problems) == 6, problems
    assert (
        "impostor = hw_demo_plugin:HttpImpostor: type 'http' is already provided by "
        "heartwatch.checkers.http.HttpChecker"
    ) in problems
    assert "abstract = hw_demo_plugin:Abstract: failed to load: TypeError" in problems
    assert (
        "nope = hw_demo_plugin:NotAChecker: <class 'hw_demo_plugin.NotAChecker'> is not" in problems
    )
    assert (
        "broken = hw_broken_plugin:Checker: failed to load: ModuleNotFoundError: "
        "No module named 'hw_dependency_that_is_not_installed'"
    ) in problems
    assert "missing = hw_no_such_module:Checker: failed to load: ModuleNotFoundError" in problems
    assert "quitter = hw_quitting_plugin:Checker: failed to load: SystemExit: 3" in problems


@pytest.mark.usefixtures("installed_plugins")
async def test_a_plugin_runs_and_one_that_raises_is_down(ctx: CheckContext) -> None:
    registry = CheckerRegistry()
    demo = registry.get("demo")
    endpoint, settings = registry.validate_settings("demo", "demo:ok", {"greeting": "hi"})
    outcome, attempts = await run_check(
        demo, endpoint, settings, ctx, timeout_ms=1000, retry_count=0, retry_backoff_ms=0
    )
    assert (outcome.up, outcome.detail, attempts) == (True, "hi", 1)
    assert outcome.latency_ms is not None  # measured for a plugin that does not

    outcome, attempts = await run_check(
        demo, "demo:boom", settings, ctx, timeout_ms=1000, retry_count=1, retry_backoff_ms=1
    )
    assert (outcome.up, outcome.error, outcome.failed_assertion, attempts) == (
        False,
        "checker crashed: RuntimeError: boom",
        "crash",
        2,
    )


@pytest.mark.usefixtures("installed_plugins")
def test_plugin_endpoint_errors_are_value_errors() -> None:
    registry = CheckerRegistry()
    with pytest.raises(ValueError, match=r"^endpoint: must start with demo:$"):
        registry.validate_settings("demo", "http://x/", {})
    with pytest.raises(ValueError, match=r"^endpoint: demo checker failed on it: KeyError"):
        registry.validate_settings("demo", "demo:crash", {})


@pytest.mark.parametrize(
    ("checker_type", "endpoint", "fields", "message"),
    [
        (
            "http",
            "not a url",
            {},
            "endpoint: must be an absolute http(s) URL such as https://example.com/health, "
            "got 'not a url'",
        ),
        ("http", "ftp://host/x", {}, "endpoint: must be an absolute http(s) URL"),
        ("http", "http:///path", {}, "endpoint: URL 'http:///path' has no host"),
        ("http", "http://h:99999/", {}, "endpoint: URL 'http://h:99999/' has a bad port"),
        (
            "http",
            "http://h/",
            {"expect_keywrd": "x"},
            "invalid http settings: expect_keywrd: unknown setting for http checks (known: "
            "accepted_status_codes, body, cert_expiry_days, expect_keyword, "
            "expect_keyword_absent, follow_redirects, headers, json_expected, json_path, "
            "max_response_ms, method, verify_tls)",
        ),
        (
            "http",
            "http://h/",
            {"accepted_status_codes": ["abc"]},
            "invalid http settings: accepted_status_codes: 'abc' is not a status code or a "
            "range such as 200-299",
        ),
        (
            "http",
            "http://h/",
            {"accepted_status_codes": ["299-200"]},
            "accepted_status_codes: '299-200' is not a range of HTTP status codes",
        ),
        ("http", "http://h/", {"accepted_status_codes": []}, "accepted_status_codes: List should"),
        ("http", "http://h/", {"method": "FETCH"}, "method: Input should be 'GET', 'HEAD'"),
        (
            "http",
            "http://h/",
            {"json_expected": "ok"},
            "invalid http settings: json_expected needs json_path (which value to compare)",
        ),
        (
            "http",
            "http://h/",
            {"json_path": "a..b"},
            "invalid http settings: json_path: 'a..b' has an empty name at '..b'",
        ),
        ("http", "http://h/", {"headers": {"Bad Name": "x"}}, "'Bad Name' is not a valid header"),
        ("http", "http://h/", {"headers": {"X": "a\r\nb"}}, "header 'X' has a line break"),
        (
            "http",
            "http://h/",
            {"max_response_ms": 0, "cert_expiry_days": "soon"},
            "invalid http settings: max_response_ms: Input should be greater than 0; "
            "cert_expiry_days: Input should be a valid integer",
        ),
        ("tcp", "db.internal", {}, "endpoint: 'db.internal' has no port; must be host:port"),
        ("tcp", "db:70000", {}, "endpoint: 'db:70000' has a bad port"),
        ("tcp", "db:http", {}, "endpoint: 'db:http' has a bad port"),
        ("tcp", "::1:80", {}, "endpoint: IPv6 addresses need brackets, as in [::1]:6379"),
        ("tcp", "db:80/x", {}, "endpoint: must be host:port"),
        ("tcp", ":80", {}, "endpoint: ':80' has no host"),
        ("tcp", "db:1", {"expect": "x"}, "expect: unknown setting for tcp checks (known: "),
        ("script", "   ", {}, "endpoint: must be a command line"),
        ("script", 'echo "open', {}, "endpoint: cannot split the command line"),
    ],
)
def test_validation_errors_name_the_field(
    checker_type: str, endpoint: str, fields: dict[str, Any], message: str
) -> None:
    registry = CheckerRegistry(discover=False)
    with pytest.raises(ValueError, match=re.escape(message)):
        registry.validate_settings(checker_type, endpoint, fields)


def test_validation_normalises() -> None:
    registry = CheckerRegistry(discover=False)
    endpoint, settings = registry.validate_settings(
        "http",
        " https://example.com/health ",
        {"method": "head", "accepted_status_codes": [200, " 500 - 599 "], "max_response_ms": 900},
    )
    assert endpoint == "https://example.com/health"
    assert isinstance(settings, HttpSettings)
    assert settings.model_dump(mode="json", exclude_defaults=True) == {
        "method": "HEAD",
        "accepted_status_codes": ["200", "500-599"],
        "max_response_ms": 900,
    }
    assert registry.validate_settings("tcp", "[::1]:6379", {})[0] == "[::1]:6379"
    assert registry.validate_settings("script", " check_disk -w 10% ", {})[0] == (
        "check_disk -w 10%"
    )
