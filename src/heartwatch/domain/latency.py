"""Latency percentiles that can be merged across hours.

An hour's p99 cannot be averaged into a month's p99. Each hour keeps a histogram over
logarithmic buckets instead (every bucket 5% wider than the one below, so a percentile
read from it is within 2.5% of the true value); histograms add up, and a window's
percentiles are read from the sum.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

_GROWTH = 1.05
_LOG_GROWTH = math.log(_GROWTH)
# Latencies below 0.01 ms land in bucket "0"; they are not worth telling apart.
_FLOOR_MS = 0.01

PERCENTILES = (50.0, 95.0, 99.0)


def bucket_of(latency_ms: float) -> int:
    if latency_ms <= _FLOOR_MS:
        return 0
    return max(1, math.ceil(math.log(latency_ms / _FLOOR_MS) / _LOG_GROWTH))


def bucket_value(bucket: int) -> float:
    """A bucket's representative latency: the geometric middle of its bounds."""
    if bucket <= 0:
        return 0.0
    return float(_FLOOR_MS * _GROWTH ** (bucket - 0.5))


def histogram(latencies: Iterable[float]) -> dict[str, int]:
    """{bucket: count}, with string keys so it round-trips through JSON unchanged."""
    counts: dict[str, int] = {}
    for ms in latencies:
        key = str(bucket_of(ms))
        counts[key] = counts.get(key, 0) + 1
    return counts


def merge(into: dict[str, int], other: Mapping[str, int]) -> None:
    for key, count in other.items():
        into[key] = into.get(key, 0) + count


def percentile_of_histogram(counts: Mapping[str, int], pct: float) -> float | None:
    """Nearest-rank percentile, read from a histogram."""
    total = sum(counts.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(pct / 100.0 * total))
    seen = 0
    for bucket in sorted(int(k) for k in counts):
        seen += counts[str(bucket)]
        if seen >= rank:
            return bucket_value(bucket)
    raise AssertionError("unreachable: ranks never exceed the total")


def percentile(sorted_values: Sequence[float], pct: float) -> float | None:
    """Exact nearest-rank percentile of sorted values (None for none)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]
