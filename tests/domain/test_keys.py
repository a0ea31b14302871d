"""Service keys: they appear in URLs and cron lines, so only plain ASCII is allowed.

`check_key` is the rule (services, heartbeat routes); the API schemas' `Key` type applies
it through pydantic, and `KEY_PATTERN` documents it in OpenAPI. A key one path accepts
and the other rejects would be creatable but unpingable, or the reverse, so the
properties below check that they agree on arbitrary text.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from heartwatch.api.schemas import Key
from heartwatch.domain.keys import KEY_MAX_LENGTH, KEY_PATTERN, KEY_RULE, InvalidKey, check_key

ALLOWED = string.ascii_letters + string.digits + "-_."
SCHEMA_KEY: TypeAdapter[str] = TypeAdapter(Key)

PROPERTY = settings(max_examples=150, deadline=None)


def schema_accepts(key: str) -> bool:
    try:
        SCHEMA_KEY.validate_python(key)
    except ValidationError:
        return False
    return True


def check_accepts(key: str) -> bool:
    try:
        check_key(key)
    except InvalidKey:
        return False
    return True


@pytest.mark.parametrize(
    "key",
    ["billing", "a", "Z", "0", "nightly-backup", "db_dump.v2", "A-Z_a-z.0-9", "x" * KEY_MAX_LENGTH],
)
def test_plain_keys_are_accepted_unchanged(key: str) -> None:
    assert check_key(key) == key
    assert schema_accepts(key)


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty"),
        pytest.param("x" * (KEY_MAX_LENGTH + 1), id="too-long"),
        pytest.param("two words", id="space"),
        pytest.param("a/b", id="slash-splits-the-url-path"),
        pytest.param("a?b", id="query"),
        pytest.param("a#b", id="fragment"),
        pytest.param("a%20b", id="percent-escape"),
        pytest.param("a+b", id="plus"),
        pytest.param("a:b", id="colon"),
        pytest.param("a;b", id="cron-separator"),
        pytest.param("café", id="non-ascii-letter"),
        pytest.param("ключ", id="cyrillic"),
        pytest.param("\uff11\uff12\uff13", id="fullwidth-digits"),
        pytest.param("٣", id="arabic-indic-digit"),
        # `$` also matches before a trailing newline with re.match/re.search: a key with
        # a newline would break cron lines and log lines, so it must be rejected.
        pytest.param("billing\n", id="trailing-newline"),
        pytest.param("\nbilling", id="leading-newline"),
        pytest.param("bil\nling", id="inner-newline"),
        pytest.param("billing\t", id="tab"),
        pytest.param("billing\x00", id="nul"),
        # URL libraries and proxies resolve these path segments away before we see them.
        pytest.param(".", id="dot"),
        pytest.param("..", id="dot-dot"),
        pytest.param("...", id="only-dots"),
    ],
)
def test_keys_outside_the_rule_are_rejected_by_both_validators(key: str) -> None:
    with pytest.raises(InvalidKey):
        check_key(key)
    assert not schema_accepts(key)


def test_invalid_key_is_a_value_error_that_explains_the_rule() -> None:
    # A ValueError, so callers that only know the stdlib still turn it into a 4xx.
    with pytest.raises(ValueError, match="1-100 characters") as caught:
        check_key("no spaces")
    assert isinstance(caught.value, InvalidKey)
    assert KEY_RULE in str(caught.value)
    assert "'no spaces'" in str(caught.value)


def test_invalid_key_message_is_bounded_for_huge_input() -> None:
    # The message is echoed in API errors and logs: a megabyte key must not be echoed back.
    with pytest.raises(InvalidKey) as caught:
        check_key("x" * 1_000_000)
    assert len(str(caught.value)) < 300


def test_max_length_constant_matches_the_pattern() -> None:
    assert f"{{1,{KEY_MAX_LENGTH}}}" in KEY_PATTERN
    assert str(KEY_MAX_LENGTH) in KEY_RULE


@PROPERTY
@given(
    st.text(alphabet=ALLOWED, min_size=1, max_size=KEY_MAX_LENGTH).filter(lambda k: k.strip("."))
)
def test_every_key_of_allowed_characters_and_length_is_accepted(key: str) -> None:
    assert check_key(key) == key
    assert schema_accepts(key)


@PROPERTY
@given(
    st.text(alphabet=ALLOWED, max_size=KEY_MAX_LENGTH - 1),
    st.characters(exclude_characters=ALLOWED),
    st.text(alphabet=ALLOWED, max_size=KEY_MAX_LENGTH - 1),
)
def test_one_character_outside_the_rule_anywhere_rejects_the_key(
    before: str, bad: str, after: str
) -> None:
    key = before + bad + after
    assert not check_accepts(key)
    assert not schema_accepts(key)


@PROPERTY
@given(st.text(alphabet=ALLOWED, min_size=KEY_MAX_LENGTH + 1, max_size=3 * KEY_MAX_LENGTH))
def test_keys_longer_than_the_maximum_are_rejected(key: str) -> None:
    assert not check_accepts(key)
    assert not schema_accepts(key)


@PROPERTY
@given(
    st.one_of(
        st.text(max_size=KEY_MAX_LENGTH + 5),
        st.text(alphabet=ALLOWED + "\n\r\t /é", max_size=KEY_MAX_LENGTH + 5),
    )
)
def test_check_key_and_the_api_pattern_agree_on_any_text(key: str) -> None:
    assert check_accepts(key) == schema_accepts(key)
