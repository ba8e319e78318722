"""The report's statistics: evidently's distances as it computes them, ROC AUC as scikit-learn does, binned shares,
and the training histogram read only when it is whole."""

from __future__ import annotations

import math
import random
import subprocess
import sys
from typing import Any

import pytest
from sklearn.metrics import roc_auc_score

from app.monitoring.statistics import (
    EMPTY_SHARE,
    STD_FLOOR,
    histogram,
    jensen_shannon,
    roc_auc,
    shares_of,
    wasserstein_normed,
)

HISTOGRAM = {"edges": [0, 1, 2, 4], "counts": [3, 0, 5], "means": [0.5, 1.5, 3]}


def test_roc_auc_equals_scikit_learn_with_ties() -> None:
    rng = random.Random(7)
    labels = [rng.random() < 0.3 for _ in range(500)]
    scores = [round(min(max(rng.gauss(0.6 if label else 0.4, 0.2), 0.0), 1.0), 1) for label in labels]
    assert roc_auc(scores, [int(label) for label in labels]) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert roc_auc([0.1, 0.4, 0.4, 0.9], [0, 0, 1, 1]) == 0.875  # the tie at 0.4 counts half


def test_jensen_shannon_is_in_natural_log_and_zero_for_the_same_shares() -> None:
    assert jensen_shannon([1, 2, 3], [10, 20, 30]) == pytest.approx(0.0, abs=1e-7)  # counts or shares alike
    apart = jensen_shannon([1, 0], [0, 1])
    assert 0.8 < apart < math.sqrt(math.log(2))  # natural log: at most sqrt(ln 2), where base 2 reaches 1


def test_jensen_shannon_counts_a_bin_one_side_never_saw_as_evidentlys_small_share() -> None:
    assert jensen_shannon([5, 0], [3, 3]) == pytest.approx(jensen_shannon([1, EMPTY_SHARE], [0.5, 0.5]), abs=1e-12)


def test_wasserstein_normed_is_the_shift_over_the_reference_std() -> None:
    means, counts = [1.0, 2.0, 3.0], [10, 20, 10]
    shifted = [m + 0.5 for m in means]
    assert wasserstein_normed((means, counts), (shifted, counts), 2.0) == pytest.approx(0.25)
    # Empty bins weigh nothing, however far their means lie.
    assert wasserstein_normed(([0.0, 9e9], [5, 0]), ([1.0, -9e9], [5, 0]), 1.0) == pytest.approx(1.0)


def test_a_tiny_std_is_raised_to_the_floor() -> None:
    assert wasserstein_normed(([0.0], [1]), ([1.0], [1]), 0.0) == pytest.approx(1 / STD_FLOOR)


def test_shares_of_nothing_counted_are_zeros() -> None:
    assert shares_of([1, 3]) == [0.25, 0.75]
    assert shares_of([0, 0]) == [0.0, 0.0]


def test_a_whole_histogram_is_read_as_floats_and_counts() -> None:
    assert histogram({"x": {"histogram": HISTOGRAM}}, "x") == ([0.0, 1.0, 2.0, 4.0], [3, 0, 5], [0.5, 1.5, 3.0])


@pytest.mark.parametrize(
    "distribution",
    [
        None,
        {},
        {"x": "not a spec"},
        {"x": {"mean": 1.0}},
        {"x": {"histogram": {**HISTOGRAM, "edges": [0, 1, 2]}}},
        {"x": {"histogram": {**HISTOGRAM, "means": [0.5]}}},
        {"x": {"histogram": {**HISTOGRAM, "counts": [0, 0, 0]}}},
        {"x": {"histogram": {"edges": [0], "counts": [], "means": []}}},
        {"x": {"histogram": {**HISTOGRAM, "counts": "3,0,5"}}},
    ],
)
def test_a_missing_or_broken_histogram_is_none(distribution: Any) -> None:
    assert histogram(distribution, "x") is None


def test_scipy_is_imported_only_when_a_figure_is_computed() -> None:
    code = (
        "import sys\n"
        "import app.monitoring.statistics as s\n"
        "assert 'scipy' not in sys.modules, 'imported'\n"
        "s.jensen_shannon([1], [1])\n"
        "assert 'scipy' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
