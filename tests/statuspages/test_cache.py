"""The per-process page cache: how long a version read is trusted, and its bounds."""

from __future__ import annotations

from heartwatch.statuspages.cache import PageCache, Rendered
from heartwatch.statuspages.public import accepts_gzip, matches


def _page(version: str, at: float) -> Rendered:
    return Rendered(version, f'"{version}"', b"<html>", b"", at)


def test_a_version_read_is_trusted_for_fresh_s_only() -> None:
    cache = PageCache(fresh_s=1.0)
    assert cache.fresh("a", 0.0) is None
    cache.put("a", _page("v1", 10.0))
    assert cache.fresh("a", 10.5) == _page("v1", 10.0)
    assert cache.fresh("a", 11.0) is None  # stale: read the version again
    assert cache.get("a") == _page("v1", 10.0)  # ... and keep the rendering if it is equal


def test_the_cache_holds_at_most_size_pages_and_forgets_missing_ones() -> None:
    cache = PageCache(fresh_s=1.0, size=2)
    for slug in ("a", "b", "c"):
        cache.lock(slug)
        cache.put(slug, _page(slug, 0.0))
    assert cache.get("a") is None and cache.get("c") is not None
    lock = cache.lock("missing")
    assert cache.lock("missing") is lock
    cache.forget("missing")
    assert cache.lock("missing") is not lock


def test_if_none_match() -> None:
    assert matches('"v1"', '"v1"')
    assert matches('W/"v1"', '"v1"')
    assert matches('"v0", "v1"', '"v1"')
    assert matches("*", '"v1"')
    assert not matches('"v2"', '"v1"')
    assert not matches(None, '"v1"')
    assert not matches("", '"v1"')


def test_accept_encoding() -> None:
    assert accepts_gzip("gzip, deflate, br")
    assert accepts_gzip("br;q=1.0, gzip;q=0.8")
    assert accepts_gzip("*")
    assert not accepts_gzip("gzip;q=0")
    assert not accepts_gzip("br")
    assert not accepts_gzip(None)
