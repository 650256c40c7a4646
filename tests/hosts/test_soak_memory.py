"""The soak's memory verdict (tests/hosts/soak.py), on made-up samples: no hosts needed."""

from __future__ import annotations

import pytest

from tests.hosts.soak import GROWTH_BOUND, memory_figures


def test_growth_is_the_last_minutes_largest_sample_over_the_last_warm_up_sample() -> None:
    samples = {"h1:7": [(10.0, 100 * 1024), (120.0, 110 * 1024), (550.0, 112 * 1024), (590.0, 111 * 1024)]}
    figures = memory_figures(samples, warm_until=120, last_from=540)
    assert figures == {"h1:7": {"warm_mib": 110.0, "end_mib": 112.0, "growth": 1.018}}
    assert figures["h1:7"]["growth"] <= GROWTH_BOUND


def test_a_worker_that_leaks_is_reported_past_the_bound() -> None:
    samples = {"h2:9": [(100.0, 100 * 1024), (580.0, 125 * 1024)]}
    assert memory_figures(samples, warm_until=120, last_from=540)["h2:9"]["growth"] > GROWTH_BOUND


def test_a_worker_replaced_mid_run_is_an_error_not_a_flat_line() -> None:
    samples = {"h1:7": [(10.0, 100 * 1024), (100.0, 100 * 1024)], "h1:8": [(560.0, 90 * 1024)]}
    with pytest.raises(AssertionError, match="was not sampled through the run"):
        memory_figures(samples, warm_until=120, last_from=540)
