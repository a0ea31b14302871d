from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from heartwatch.domain.latency import (
    PERCENTILES,
    histogram,
    merge,
    percentile,
    percentile_of_histogram,
)

latencies = st.lists(st.floats(0.02, 60_000, allow_nan=False), min_size=1, max_size=300)


@settings(max_examples=200, deadline=None)
@given(values=latencies)
def test_histogram_percentiles_are_within_the_bucket_precision(values: list[float]) -> None:
    exact = sorted(values)
    for pct in PERCENTILES:
        true = percentile(exact, pct)
        read = percentile_of_histogram(histogram(values), pct)
        assert true is not None and read is not None
        assert abs(read - true) <= 0.025 * true + 1e-9


@settings(max_examples=100, deadline=None)
@given(a=latencies, b=latencies)
def test_histograms_merge_like_the_concatenated_data(a: list[float], b: list[float]) -> None:
    merged = histogram(a)
    merge(merged, histogram(b))
    assert merged == histogram(a + b)


def test_no_data_has_no_percentile() -> None:
    assert percentile([], 99) is None
    assert percentile_of_histogram({}, 99) is None


def test_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50 and percentile(values, 99) == 99
    assert percentile(values, 100) == 100 and percentile([7.0], 50) == 7.0
