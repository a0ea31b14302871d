"""The tiny JSON path: parsing, evaluation, JSON equality."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heartwatch.checkers.jsonpath import Missing, evaluate, json_equal, parse, show


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("status", ("status",)),
        ("data.items[0].state", ("data", "items", 0, "state")),
        ("$.a.b", ("a", "b")),
        ("$", ()),
        ("$[2]", (2,)),
        ('a["dotted.key"][-1]', ("a", "dotted.key", -1)),
        ("a['x y']", ("a", "x y")),
        ("items.0", ("items", "0")),
    ],
)
def test_parse(text: str, steps: tuple[str | int, ...]) -> None:
    assert parse(text).steps == steps


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty: use $ for the whole document"),
        ("a..b", "'a..b' has an empty name at '..b'"),
        ("a.", "'a.' has an empty name at '.'"),
        ("a[", "'a[' has a bad index at '['"),
        ("a[x]", "'a[x]' has a bad index at '[x]'"),
        ("a[0]b", "'a[0]b' needs '.' or '[' before 'b'"),
        ("$a", "'$a' needs '.' or '[' before 'a'"),
    ],
)
def test_bad_paths_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse(text)


def test_evaluate_and_where_it_stops() -> None:
    doc = {"a": {"list": [10, {"b": None}]}}
    assert evaluate(doc, parse("a.list[1].b")) is None  # present, and null
    assert evaluate(doc, parse("a.list.0")) == 10
    assert evaluate(doc, parse("a.list[-2]")) == 10
    with pytest.raises(Missing, match=r"\$\.a\.list has no item \[2\] \(it has 2 items\)"):
        evaluate(doc, parse("a.list[2]"))
    with pytest.raises(Missing, match=r"\$\.a\.list\[0\] is «10», not an object or a list"):
        evaluate(doc, parse("a.list[0].x"))


def test_json_equality_is_not_python_equality() -> None:
    assert json_equal(1, 1.0) and json_equal([1, {"a": "x"}], [1.0, {"a": "x"}])
    assert not json_equal(True, 1) and not json_equal(1, True) and not json_equal(0, False)
    assert not json_equal("1", 1) and not json_equal(None, "null")
    assert not json_equal({"a": 1}, {"a": 1, "b": 2}) and not json_equal([1], [1, 1])


def test_show() -> None:
    assert (show("ok"), show(None), show(True), show([1])) == ("'ok'", "null", "true", "[1]")
    assert show("x" * 200).endswith("…") and len(show("x" * 200)) == 80


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=10,
)
keys = st.text(st.characters(blacklist_characters="'", blacklist_categories=["Cs"]), max_size=6)


@given(st.lists(st.tuples(keys, st.integers(0, 2)), min_size=1, max_size=4), json_values)
def test_a_written_path_finds_what_was_put_there(
    route: list[tuple[str, int]], leaf: object
) -> None:
    # Build a document with `leaf` at the end of `route`, write the route as a path
    # (quoted keys, so any key works), and read it back.
    doc: object = leaf
    for key, index in reversed(route):
        doc = {key: [None] * index + [doc]}
    text = "$" + "".join(f"['{key}'][{index}]" for key, index in route)
    assert json_equal(evaluate(doc, parse(text)), leaf)
