"""The interface itself: messages, masking, Retry-After, and `deliver`'s guarantees
(only DeliveryErrors, bounded in time, no secret in an error text)."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from heartwatch.notifiers.base import (
    DeliveryError,
    Message,
    Notifier,
    NotifierSettings,
    NotifyContext,
    deliver,
    is_masked,
    keep_secrets,
    mask_secret,
    masked,
    parse_retry_after,
    retryable_status,
)
from heartwatch.notifiers.telegram import TelegramSettings
from tests.notifiers.conftest import AT, down_message


def test_a_message_is_checked_and_kept_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    message = down_message(at=datetime(2026, 1, 5, 13, 0, tzinfo=paris))
    assert message.at == AT
    assert message.at.tzinfo is UTC
    assert message.text() == f"payments is DOWN\n{message.body}"
    assert down_message(body="").text() == "payments is DOWN"
    with pytest.raises(ValueError, match="unknown event 'exploded': one of silent, down,"):
        down_message(event="exploded")
    with pytest.raises(ValueError, match=r"^Message\.at must be timezone-aware$"):
        down_message(at=datetime(2026, 1, 5, 12, 0))


@pytest.mark.parametrize(
    ("secret", "shown"),
    [
        ("", "••••"),
        ("hunter2", "••••"),
        ("fifteen-chars!!", "••••"),
        ("sixteen-chars!!!", "••••s!!!"),
        ("123456789:AAHfakeTokenForHeartwatchTests_abcdefg", "••••defg"),
    ],
)
def test_mask_secret_shows_the_tail_of_long_secrets_only(secret: str, shown: str) -> None:
    assert mask_secret(SecretStr(secret)) == shown
    assert is_masked(shown)


class Nested(NotifierSettings):
    name: str
    when: datetime
    token: SecretStr
    tokens: list[SecretStr]
    headers: dict[str, SecretStr]
    maybe: SecretStr | None = None


def _nested() -> Nested:
    return Nested(
        name="ops",
        when=AT,
        token=SecretStr("token-0123456789-abcd"),
        tokens=[SecretStr("short"), SecretStr("another-long-secret-wxyz")],
        headers={"Authorization": SecretStr("Bearer 0123456789abcdef")},
    )


def test_masked_is_json_and_hides_every_secret() -> None:
    settings = _nested()
    shown = masked(settings)
    assert shown == {
        "name": "ops",
        "when": "2026-01-05T12:00:00Z",
        "token": "••••abcd",
        "tokens": ["••••", "••••wxyz"],
        "headers": {"Authorization": "••••cdef"},
        "maybe": None,
    }
    assert "0123456789" not in json.dumps(shown)
    assert "0123456789" not in repr(settings) + str(settings)


def test_settings_are_frozen_and_refuse_unknown_fields() -> None:
    settings = TelegramSettings(bot_token=SecretStr("1:abc"), chat_id="1")
    with pytest.raises(ValueError, match="frozen"):
        settings.chat_id = "2"  # type: ignore[misc]
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        TelegramSettings.model_validate({"bot_token": "1:abc", "chat_id": "1", "x": 1})


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (408, True),
        (409, False),
        (422, False),
        (425, True),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (599, True),
    ],
)
def test_retryable_status(status: int, retryable: bool) -> None:
    assert retryable_status(status) is retryable


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("", None),
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        ("soon", None),
        ("nan", None),
        ("Mon, 05 Jan 2026 12:01:30 GMT", 90.0),
        ("Mon, 05 Jan 2026 11:00:00 GMT", 0.0),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=AT) == seconds


class Scripted(Notifier[NotifierSettings]):
    """Does what the test says: hang, crash, or fail as told."""

    type = "scripted"

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour

    async def send(self, message: Message, settings: NotifierSettings, ctx: NotifyContext) -> None:
        if self.behaviour == "hang":
            await asyncio.sleep(3600)
        if self.behaviour == "crash":
            raise KeyError("missing")
        if self.behaviour == "refused":
            raise DeliveryError("nope", retryable=False, retry_after=None)


class NestedNotifier(Notifier[Nested]):
    type = "nested"

    async def send(self, message: Message, settings: Nested, ctx: NotifyContext) -> None:
        raise DeliveryError(f"sent as {settings.name}", retryable=False)


def test_the_settings_model_is_the_type_argument() -> None:
    assert NestedNotifier.Settings is Nested
    assert Scripted.Settings is NotifierSettings

    class Inherited(NestedNotifier):
        type = "inherited"

    assert Inherited.Settings is Nested

    class Explicit(Notifier):  # type: ignore[type-arg] # a plugin without a type argument
        type = "explicit"
        Settings = TelegramSettings

        async def send(self, message: Message, settings: Any, ctx: NotifyContext) -> None:
            pass

    assert Explicit.Settings is TelegramSettings


async def test_deliver_hands_a_notifier_its_own_settings(ctx: NotifyContext) -> None:
    settings = Nested.model_validate(
        {"name": "ops", "when": AT, "token": "t" * 16, "tokens": [], "headers": {}}
    )
    with pytest.raises(DeliveryError, match=r"^sent as ops$"):
        await deliver(NestedNotifier(), down_message(), settings, ctx)
    with pytest.raises(DeliveryError, match=r"^nested notifier needs Nested, got "):
        await deliver(NestedNotifier(), down_message(), NotifierSettings(), ctx)


async def test_deliver_passes_a_delivery_error_through(ctx: NotifyContext) -> None:
    with pytest.raises(DeliveryError) as raised:
        await deliver(Scripted("refused"), down_message(), NotifierSettings(), ctx)
    assert (raised.value.message, raised.value.retryable) == ("nope", False)
    await deliver(Scripted("ok"), down_message(), NotifierSettings(), ctx)


async def test_deliver_turns_a_crash_into_a_retryable_error(ctx: NotifyContext) -> None:
    with pytest.raises(DeliveryError) as raised:
        await deliver(Scripted("crash"), down_message(), NotifierSettings(), ctx)
    assert raised.value.retryable
    assert raised.value.message == "scripted notifier crashed: KeyError: 'missing'"
    assert isinstance(raised.value.__cause__, KeyError)


async def test_deliver_bounds_a_hanging_notifier(
    http_session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("heartwatch.notifiers.base._GRACE_S", 0.1)
    ctx = NotifyContext(http_session, timeout_s=0.1)
    with pytest.raises(DeliveryError) as raised:
        await deliver(Scripted("hang"), down_message(), NotifierSettings(), ctx)
    assert raised.value.retryable
    assert raised.value.message == "scripted notifier did not finish within 0.2 s"


async def test_deliver_refuses_settings_of_another_type(ctx: NotifyContext) -> None:
    notifier = Scripted("ok")
    notifier.Settings = Nested  # type: ignore[misc]
    with pytest.raises(DeliveryError) as raised:
        await deliver(notifier, down_message(), NotifierSettings(), ctx)
    assert not raised.value.retryable
    assert raised.value.message == "scripted notifier needs Nested, got NotifierSettings"


async def test_deliver_is_cancellable(ctx: NotifyContext) -> None:
    # A worker shutting down cancels its sends; that must not become a DeliveryError.
    task = asyncio.create_task(deliver(Scripted("hang"), down_message(), NotifierSettings(), ctx))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_keep_secrets_puts_back_what_masked_showed() -> None:
    stored = _nested()
    # The client got masked(stored), changed the name and one token, sent it back.
    edited = {**masked(stored), "name": "payments-ops", "tokens": ["••••", "new-secret"]}
    merged = Nested.model_validate(keep_secrets(stored, edited))
    assert merged.name == "payments-ops"
    assert merged.token.get_secret_value() == "token-0123456789-abcd"
    assert [t.get_secret_value() for t in merged.tokens] == ["short", "new-secret"]
    assert merged.headers["Authorization"].get_secret_value() == "Bearer 0123456789abcdef"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        # reordered: "••••wxyz" now sits where "short" was
        ({"tokens": ["••••wxyz", "••••"]}, "tokens.0: '••••wxyz' is a masked secret that does"),
        ({"headers": {"X-Key": "••••cdef"}}, "headers.X-Key: '••••cdef' is a masked secret"),
        ({"maybe": "••••"}, "maybe: '••••' is a masked secret"),
    ],
)
def test_keep_secrets_refuses_a_mask_it_cannot_match(
    change: dict[str, object], problem: str
) -> None:
    stored = _nested()
    with pytest.raises(ValueError, match=re.escape(problem)):
        keep_secrets(stored, {**masked(stored), **change})
