"""The benchmark's arithmetic."""

from __future__ import annotations

from toolkit.bench import percentile


def test_percentiles_are_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert [percentile(values, f) for f in (0.01, 0.5, 0.95, 0.99, 1.0)] == [1, 50, 95, 99, 100]
    assert percentile([7.0], 0.99) == 7.0
    assert [percentile([1.0, 2.0, 3.0, 4.0], f) for f in (0.5, 0.75, 0.76)] == [2, 3, 4]
