"""The notifier registry: built-ins, plugins found through a real entry point (a
distribution written to disk as pip would install it), and config validation."""

from __future__ import annotations

import traceback

import pytest

from heartwatch.notifiers.base import DeliveryError, NotifyContext, deliver, masked
from heartwatch.notifiers.registry import (
    NotifierRegistry,
    NotifierUnavailable,
    UnknownNotifierType,
)
from heartwatch.notifiers.telegram import TelegramNotifier
from tests.fakes.receiver import Receiver
from tests.notifiers.conftest import down_message
from tests.plugin_packages import InstallPackage, install_package  # noqa: F401 - a fixture

PLUGIN = """
import json

from pydantic import SecretStr

from heartwatch.notifiers.base import (
    DeliveryError, Message, Notifier, NotifierSettings, NotifyContext,
)


class SignalSettings(NotifierSettings):
    url: str
    api_key: SecretStr


class SignalNotifier(Notifier):
    type = "signal"
    Settings = SignalSettings
    rate_per_minute = 12

    async def send(self, message: Message, settings: NotifierSettings, ctx: NotifyContext) -> None:
        assert isinstance(settings, SignalSettings)
        if message.title == "crash":
            raise RuntimeError("signal-cli died, key " + settings.api_key.get_secret_value())
        async with ctx.http.post(
            settings.url,
            data=json.dumps({"message": message.text()}),
            headers={"X-Api-Key": settings.api_key.get_secret_value()},
        ) as response:
            if response.status >= 300:
                raise DeliveryError(f"signal answered {response.status}", retryable=False)


class TelegramImpostor(SignalNotifier):
    type = "telegram"


class Abstract(Notifier):
    type = "abstract"


class NotANotifier:
    type = "nope"


class NoRate(SignalNotifier):
    type = "norate"
    rate_per_minute = 0
"""

ENTRY_POINTS = """
[heartwatch.notifiers]
signal = hw_notify_plugin:SignalNotifier
impostor = hw_notify_plugin:TelegramImpostor
abstract = hw_notify_plugin:Abstract
nope = hw_notify_plugin:NotANotifier
norate = hw_notify_plugin:NoRate
broken = hw_notify_broken:Notifier
missing = hw_notify_no_such_module:Notifier
quitter = hw_notify_quitting:Notifier
"""

API_KEY = "sig-0123456789-abcdef"


MODULES = {
    "hw_notify_plugin": PLUGIN,
    "hw_notify_broken": "import hw_dependency_not_installed\n",
    "hw_notify_quitting": "import sys\nsys.exit(3)\n",
}


@pytest.fixture
def installed_plugins(
    install_package: InstallPackage,  # noqa: F811 - the fixture imported above
) -> None:
    install_package("hw-notify-plugins", MODULES, ENTRY_POINTS)


def test_builtins_and_their_rates() -> None:
    registry = NotifierRegistry(discover=False)
    assert registry.types() == {"telegram", "slack", "webhook", "email", "pagerduty", "apprise"}
    assert registry.unavailable == {}  # the dev install has apprise
    assert isinstance(registry.get("telegram"), TelegramNotifier)
    assert registry.get("telegram") is registry.get("telegram")  # built once
    rates = {name: registry.get(name).rate_per_minute for name in sorted(registry.types())}
    assert rates == {
        "apprise": 30,
        "email": 60,
        "pagerduty": 120,
        "slack": 60,
        "telegram": 20,
        "webhook": 600,
    }


def test_an_unknown_type_is_a_clear_lookup_and_value_error() -> None:
    registry = NotifierRegistry(discover=False)
    with pytest.raises(KeyError) as raised:
        registry.get("carrier-pigeon")
    assert isinstance(raised.value, UnknownNotifierType)
    assert not isinstance(raised.value, NotifierUnavailable)
    assert str(raised.value) == (
        "unknown notifier type 'carrier-pigeon': known types are apprise, email, pagerduty, "
        "slack, telegram, webhook"
    )
    with pytest.raises(ValueError, match="unknown notifier type 'carrier-pigeon'"):
        registry.validate("carrier-pigeon", {})


@pytest.mark.usefixtures("installed_plugins")
def test_a_plugin_is_discovered_and_broken_ones_are_skipped() -> None:
    registry = NotifierRegistry()
    assert "signal" in registry.types()
    assert registry.get("signal").rate_per_minute == 12
    # a plugin cannot take over a built-in type
    assert isinstance(registry.get("telegram"), TelegramNotifier)
    problems = "\n".join(registry.problems)
    assert len(registry.problems) == 7, problems
    expected = [
        "notifier plugin impostor = hw_notify_plugin:TelegramImpostor: type 'telegram' is "
        "already provided by heartwatch.notifiers.telegram.TelegramNotifier",
        "notifier plugin abstract = hw_notify_plugin:Abstract: failed to load: TypeError",
        "notifier plugin nope = hw_notify_plugin:NotANotifier: <class "
        "'hw_notify_plugin.NotANotifier'> is not a subclass of "
        "heartwatch.notifiers.base.Notifier",
        "notifier plugin norate = hw_notify_plugin:NoRate: hw_notify_plugin.NoRate."
        "rate_per_minute must be a positive number",
        "notifier plugin broken = hw_notify_broken:Notifier: failed to load: "
        "ModuleNotFoundError: No module named 'hw_dependency_not_installed'",
        "notifier plugin missing = hw_notify_no_such_module:Notifier: failed to load: "
        "ModuleNotFoundError",
        "notifier plugin quitter = hw_notify_quitting:Notifier: failed to load: SystemExit: 3",
    ]
    for line in expected:
        assert line in problems


@pytest.mark.usefixtures("installed_plugins")
async def test_a_plugin_delivers_and_its_secrets_are_masked(
    receiver: Receiver, ctx: NotifyContext
) -> None:
    registry = NotifierRegistry()
    config = {"url": receiver.url("/v2/send"), "api_key": API_KEY}
    settings = registry.validate("signal", config)
    assert masked(settings) == {"url": receiver.url("/v2/send"), "api_key": "••••cdef"}

    await deliver(registry.get("signal"), down_message(), settings, ctx)
    [request] = receiver.received
    assert request.json() == {"message": down_message().text()}
    assert request.headers["X-Api-Key"] == API_KEY


@pytest.mark.usefixtures("installed_plugins")
async def test_a_crashing_plugin_is_a_retryable_delivery_error_without_its_secret(
    ctx: NotifyContext,
) -> None:
    registry = NotifierRegistry()
    settings = registry.validate("signal", {"url": "http://127.0.0.1:9/", "api_key": API_KEY})
    with pytest.raises(DeliveryError) as raised:
        await deliver(registry.get("signal"), down_message(title="crash"), settings, ctx)
    assert raised.value.retryable
    assert raised.value.message == (
        "signal notifier crashed: RuntimeError: signal-cli died, key ••••"
    )
    # Nor in the traceback a log line would show.
    assert API_KEY not in "".join(traceback.format_exception(raised.value))


@pytest.mark.usefixtures("installed_plugins")
def test_plugin_settings_are_validated_like_the_built_ins() -> None:
    with pytest.raises(ValueError, match=r"^invalid signal settings: api_key: Field required$"):
        NotifierRegistry().validate("signal", {"url": "http://x/"})


def test_validation_messages_never_quote_the_input() -> None:
    # pydantic would quote a wrong-typed value in full; the API shows these messages.
    expected = r"^invalid slack settings: webhook_url: Input should be a valid string$"
    with pytest.raises(ValueError, match=expected):
        NotifierRegistry(discover=False).validate(
            "slack", {"webhook_url": ["https://hooks.slack.com/services/T0/B0/s3cr3t"]}
        )


def test_settings_must_be_an_object() -> None:
    with pytest.raises(ValueError, match=r"^invalid email settings: expected an object of "):
        NotifierRegistry(discover=False).validate("email", ["smtp.example.com"])  # type: ignore[arg-type]
