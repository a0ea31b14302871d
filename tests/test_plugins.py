"""The one plugin registry type, on a kind of plugin of its own ("widgets"): what every
kind gets (built-ins, discovery through a real entry point group, the refusals, settings
validation) and the hooks a kind uses for what is its own."""

from __future__ import annotations

import builtins
from typing import ClassVar

import pytest
from pydantic import BaseModel, ConfigDict, field_validator

from heartwatch.plugins import PluginKind, PluginRegistry, UnknownPluginType
from tests.plugin_packages import InstallPackage, install_package  # noqa: F401 - a fixture

GROUP = "heartwatch.tests.widgets"


class WidgetSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Widget:
    # (The builtin is spelled out: inside this class body `type` is the attribute.)
    type: ClassVar[str]
    Settings: ClassVar[builtins.type[WidgetSettings]] = WidgetSettings
    size: ClassVar[int] = 1


class GearSettings(WidgetSettings):
    teeth: int = 12
    label: str = ""

    @field_validator("label")
    @classmethod
    def _no_crash(cls, value: str) -> str:
        if value == "crash":
            raise KeyError("a plugin bug")
        return value


class Gear(Widget):
    type = "gear"
    Settings = GearSettings


class Spring(Widget):
    type = "spring"


class UnknownWidgetType(UnknownPluginType):
    pass


WIDGETS: PluginKind[Widget] = PluginKind(
    noun="widget",
    configures="machines",
    group=GROUP,
    base=Widget,
    settings_base=WidgetSettings,
    unknown=UnknownWidgetType,
    make_builtins=lambda: (Gear(), Spring()),
)


class WidgetRegistry(PluginRegistry[Widget]):
    kind = WIDGETS

    def _class_problem(self, cls: type) -> str | None:
        return None if getattr(cls, "size", 0) > 0 else "a widget has a size"


PLUGIN = """
from heartwatch.plugins import PluginKind
from tests.test_plugins import Widget, WidgetSettings


class LeverSettings(WidgetSettings):
    length: float


class Lever(Widget):
    type = "lever"
    Settings = LeverSettings


class GearImpostor(Lever):
    type = "gear"


class Nameless(Widget):
    pass


class BadSettings(Widget):
    type = "bad-settings"
    Settings = dict


class Tiny(Widget):
    type = "tiny"
    size = 0


class NotAWidget:
    type = "nope"
"""

ENTRY_POINTS = f"""
[{GROUP}]
lever = hw_widgets:Lever
impostor = hw_widgets:GearImpostor
nameless = hw_widgets:Nameless
bad-settings = hw_widgets:BadSettings
tiny = hw_widgets:Tiny
nope = hw_widgets:NotAWidget
broken = hw_widgets_broken:Widget
quitter = hw_widgets_quitting:Widget
"""


MODULES = {
    "hw_widgets": PLUGIN,
    "hw_widgets_broken": "import hw_widget_dependency_not_installed\n",
    "hw_widgets_quitting": "import sys\nsys.exit(3)\n",
}


@pytest.fixture
def installed_widgets(
    install_package: InstallPackage,  # noqa: F811 - the fixture imported above
) -> None:
    install_package("hw-widgets", MODULES, ENTRY_POINTS)


def test_the_builtins_of_the_kind_by_type() -> None:
    registry = WidgetRegistry(discover=False)
    assert registry.types() == {"gear", "spring"}
    assert isinstance(registry.get("gear"), Gear)
    assert registry.get("gear") is registry.get("gear")  # built once
    assert registry.problems == []


def test_builtins_given_replace_the_kinds_own() -> None:
    gear = Gear()
    registry = WidgetRegistry([gear], discover=False)
    assert registry.types() == {"gear"}
    assert registry.get("gear") is gear


def test_an_unknown_type_is_the_kinds_lookup_and_value_error() -> None:
    registry = WidgetRegistry(discover=False)
    with pytest.raises(UnknownWidgetType) as raised:
        registry.get("cog")
    assert isinstance(raised.value, KeyError)
    assert isinstance(raised.value, ValueError)
    # Not quoted as a KeyError would be.
    assert str(raised.value) == "unknown widget type 'cog': known types are gear, spring"


@pytest.mark.usefixtures("installed_widgets")
def test_discovery_through_the_kinds_group_and_its_refusals() -> None:
    registry = WidgetRegistry()
    assert registry.types() == {"gear", "spring", "lever"}
    assert isinstance(registry.get("gear"), Gear)  # not taken over
    assert registry.get("lever").Settings.__name__ == "LeverSettings"
    assert sorted(registry.problems) == sorted(
        [
            "widget plugin impostor = hw_widgets:GearImpostor: type 'gear' is already "
            "provided by tests.test_plugins.Gear",
            "widget plugin nameless = hw_widgets:Nameless: hw_widgets.Nameless has no `type` name",
            "widget plugin bad-settings = hw_widgets:BadSettings: hw_widgets.BadSettings."
            "Settings is not a WidgetSettings subclass",
            "widget plugin tiny = hw_widgets:Tiny: a widget has a size",
            "widget plugin nope = hw_widgets:NotAWidget: <class 'hw_widgets.NotAWidget'> is "
            "not a subclass of tests.test_plugins.Widget",
            "widget plugin broken = hw_widgets_broken:Widget: failed to load: "
            "ModuleNotFoundError: No module named 'hw_widget_dependency_not_installed'",
            "widget plugin quitter = hw_widgets_quitting:Widget: failed to load: SystemExit: 3",
        ]
    )


@pytest.mark.usefixtures("installed_widgets")
def test_without_discovery_no_plugin_is_loaded() -> None:
    registry = WidgetRegistry(discover=False)
    assert "lever" not in registry.types()
    assert registry.problems == []


def test_settings_are_validated_into_the_model() -> None:
    registry = WidgetRegistry(discover=False)
    settings = registry.settings_of("gear", GearSettings, {"teeth": "30"})
    assert settings == GearSettings(teeth=30)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"teeth": 1, "colour": "red"},
            "invalid gear settings: colour: unknown setting for gear machines "
            "(known: label, teeth)",
        ),
        (
            {"teeth": "many", "label": ["hunter2"]},
            "invalid gear settings: teeth: Input should be a valid integer, unable to parse "
            "string as an integer; label: Input should be a valid string",
        ),
        # A plugin's own bug is a clear refusal (a 4xx), not a crash of the caller.
        ({"label": "crash"}, "invalid gear settings: the widget failed on them: KeyError"),
        (["teeth"], "invalid gear settings: expected an object of settings, got list"),
    ],
)
def test_invalid_settings_are_one_line_that_never_quotes_a_value(
    fields: object, message: str
) -> None:
    registry = WidgetRegistry(discover=False)
    with pytest.raises(ValueError, match=r"^invalid gear settings: ") as raised:
        registry.settings_of("gear", GearSettings, fields)  # type: ignore[arg-type]
    assert str(raised.value) == message
    assert "hunter2" not in str(raised.value)
    assert "many" not in str(raised.value)


class AvailableWidgets(WidgetRegistry):
    """A kind with types that can be unavailable, through the hooks (as notifiers do)."""

    def __init__(self) -> None:
        self.unavailable: dict[str, str] = {}
        super().__init__(discover=False)

    def _add(self, plugin: Widget) -> None:
        if plugin.type == "spring":
            self.unavailable[plugin.type] = "needs a coil"
        else:
            super()._add(plugin)

    def _unknown(self, plugin_type: str) -> UnknownPluginType:
        if plugin_type in self.unavailable:
            return UnknownWidgetType(f"{plugin_type} {self.unavailable[plugin_type]}")
        return super()._unknown(plugin_type)


def test_a_kind_adds_its_own_rules_through_the_hooks() -> None:
    registry = AvailableWidgets()
    assert registry.types() == {"gear"}
    with pytest.raises(UnknownWidgetType, match=r"^spring needs a coil$"):
        registry.get("spring")
    with pytest.raises(UnknownWidgetType, match=r"^unknown widget type 'cog'"):
        registry.get("cog")
