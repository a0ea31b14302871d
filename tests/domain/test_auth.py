"""Access control rules: what each role may do, the API key format, names, lifetimes."""

from __future__ import annotations

import string
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heartwatch.domain.auth import (
    KEY_ID_LENGTH,
    KEY_LENGTH,
    KEY_PREFIX,
    KEY_SECRET_LENGTH,
    Access,
    AuthMode,
    InvalidName,
    InvalidPassword,
    KeyParts,
    Role,
    check_name,
    check_password,
    fold_name,
    generate_key,
    hash_secret,
    is_loopback,
    may,
    may_run_open,
    new_session_token,
    parse_key,
    parse_lifetime,
    secret_matches,
    sees_secrets,
)

PROPERTY = settings(max_examples=200, deadline=None)


def test_admin_may_do_everything() -> None:
    assert all(may(Role.ADMIN, access) for access in Access)


def test_read_may_only_read() -> None:
    assert [a for a in Access if may(Role.READ, a)] == [Access.READ]


def test_every_role_has_its_grants() -> None:
    # A role added without its line in the grant table would fail here, not at a request.
    for role in Role:
        assert may(role, Access.READ)


def test_a_generated_key_has_the_documented_shape() -> None:
    parts, key = generate_key()
    prefix, key_id, secret = key.split("_")
    assert prefix == KEY_PREFIX == "hwk"
    assert (key_id, secret) == parts
    assert len(key_id) == KEY_ID_LENGTH == 12
    assert len(secret) == KEY_SECRET_LENGTH
    assert len(key) == KEY_LENGTH
    assert set(key_id + secret) <= set(string.ascii_letters + string.digits)


def test_generated_keys_differ() -> None:
    keys = {generate_key()[1] for _ in range(200)}
    assert len(keys) == 200
    assert len({k.split("_")[1] for k in keys}) == 200


def test_generated_keys_parse_back() -> None:
    for _ in range(1000):
        parts, key = generate_key()
        assert parse_key(key) == parts


_KEY_CHARS = string.ascii_letters + string.digits


@PROPERTY
@given(
    st.text(_KEY_CHARS, min_size=KEY_ID_LENGTH, max_size=KEY_ID_LENGTH),
    st.text(_KEY_CHARS, min_size=KEY_SECRET_LENGTH, max_size=KEY_SECRET_LENGTH),
)
def test_any_key_of_the_alphabet_parses_back(key_id: str, secret: str) -> None:
    assert parse_key(f"hwk_{key_id}_{secret}") == KeyParts(key_id, secret)


@PROPERTY
@given(st.text())
def test_garbage_never_raises_and_rarely_parses(text: str) -> None:
    parsed = parse_key(text)
    if parsed is not None:
        assert text == f"hwk_{parsed.id}_{parsed.secret}"


@PROPERTY
@given(st.binary(max_size=120))
def test_header_bytes_never_raise(raw: bytes) -> None:
    # What a server hands on from a header: bytes decoded as latin-1.
    assert parse_key(raw.decode("latin-1")) is None or raw.isascii()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hwk_",
        "hwk__",
        "HWK_abcdefghijkl_" + "a" * 43,
        "hwk_abcdefghijk_" + "a" * 44,  # 11 + 44: the right length, split wrongly
        "hwk_abcdefghijkl_" + "a" * 42 + "_",
        "hwk_abcdefghijkl_" + "a" * 42 + "-",
        "hwk_abcdefghijkl_" + "a" * 42 + "é",
        "hwk_abcdefghijkl_" + "a" * 42 + "\n",
        " hwk_abcdefghijkl_" + "a" * 42,
        "hwk_abcdefghijkl_" + "a" * 42 + "٣",  # a digit, but not an ASCII one
        "hwk_abcdefghijkl_" + "a" * 43 + "a",
    ],
)
def test_malformed_keys_are_refused(text: str) -> None:
    assert parse_key(text) is None


def test_a_well_formed_key_parses() -> None:
    assert parse_key("hwk_abcdefghijkl_" + "A1" * 21 + "z") == KeyParts(
        "abcdefghijkl", "A1" * 21 + "z"
    )


def test_secret_hash_is_sha256_hex_and_matches_only_its_secret() -> None:
    stored = hash_secret("s3cret")
    assert len(stored) == 64
    assert set(stored) <= set("0123456789abcdef")
    assert secret_matches("s3cret", stored)
    assert not secret_matches("s3cret!", stored)
    assert not secret_matches("s3cret", stored.upper())
    assert not secret_matches("s3cret", "")
    assert not secret_matches("s3cret", "ü" * 64)  # a non-ASCII stored value: no TypeError


def test_session_tokens_are_long_and_distinct() -> None:
    tokens = {new_session_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(len(t) >= 43 for t in tokens)


@pytest.mark.parametrize(
    ("given_name", "kept"),
    [("grafana", "grafana"), ("  CI deploy  ", "CI deploy"), ("Jürgen", "Jürgen")],
)
def test_names_are_kept_trimmed(given_name: str, kept: str) -> None:
    assert check_name(given_name, "key") == kept


@pytest.mark.parametrize("bad", ["", "   ", "x" * 101, "a\nb", "a\tb", "a\u200bb", "a\x00b"])
def test_names_that_would_hide_in_a_listing_are_refused(bad: str) -> None:
    with pytest.raises(InvalidName):
        check_name(bad, "user")


def test_folded_names_compare_case_and_width_insensitively() -> None:
    assert fold_name("Alice") == fold_name("ALICE") == fold_name("\uff21lice")
    assert fold_name("Straße") == fold_name("STRASSE")
    assert fold_name("alice") != fold_name("alice2")


@PROPERTY
@given(st.text(max_size=50))
def test_folding_never_raises_and_is_stable(text: str) -> None:
    assert fold_name(fold_name(text)) == fold_name(text)


def test_password_length_bounds() -> None:
    assert check_password("8 chars!") == "8 chars!"
    for bad in ("short", "x" * 1025):
        with pytest.raises(InvalidPassword):
            check_password(bad)


@pytest.mark.parametrize(
    ("text", "lifetime"),
    [
        ("90d", timedelta(days=90)),
        ("12h", timedelta(hours=12)),
        ("30m", timedelta(minutes=30)),
        ("2w", timedelta(weeks=2)),
        (" 1d ", timedelta(days=1)),
    ],
)
def test_lifetimes(text: str, lifetime: timedelta) -> None:
    assert parse_lifetime(text) == lifetime


@pytest.mark.parametrize("bad", ["", "d", "0d", "-1d", "1y", "1.5d", "99999w", "1 d", "1D"])
def test_bad_lifetimes_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid lifetime"):
        parse_lifetime(bad)


def test_who_sees_a_services_secrets() -> None:
    assert sees_secrets(Role.ADMIN)
    assert not sees_secrets(Role.READ)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        (" LOCALHOST ", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("192.168.1.10", False),
        ("heartwatch.example", False),
        ("localhost.example", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_may_run_open() -> None:
    assert may_run_open("127.0.0.1", AuthMode.AUTO)
    assert not may_run_open("0.0.0.0", AuthMode.AUTO)
    assert may_run_open("0.0.0.0", AuthMode.OFF)
