"""The figures the report compares with: distances between distributions, ROC AUC, and binned shares; pure functions.

scipy (requirements-monitor.txt) is imported inside the functions that use it, when a report is made: serving never
imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

STD_FLOOR = 0.001  # evidently's floor of the standard deviation that norms the Wasserstein distance
EMPTY_SHARE = 1e-4  # evidently's share for a bin or category one side never saw


def jensen_shannon(reference: Sequence[float], live: Sequence[float]) -> float:
    """The Jensen-Shannon distance (natural log) of two distributions over the same bins, as shares or counts;
    a bin one side never saw counts as EMPTY_SHARE, as evidently does."""
    from scipy.spatial.distance import jensenshannon  # type: ignore[import-untyped]

    def shares(counts: Sequence[float]) -> list[float]:
        total = sum(counts)
        return [c / total if c > 0 else EMPTY_SHARE for c in counts]

    return float(jensenshannon(shares(reference), shares(live)))


def wasserstein_normed(
    reference: tuple[list[float], list[int]], live: tuple[list[float], list[int]], std: float
) -> float:
    """The Wasserstein distance between two binned distributions (each bin's mean, weighted by its count), divided
    by the reference's standard deviation (at least STD_FLOOR)."""
    from scipy.stats import wasserstein_distance  # type: ignore[import-untyped]

    (u_means, u_counts), (v_means, v_counts) = reference, live
    u = [(m, c) for m, c in zip(u_means, u_counts, strict=True) if c > 0]
    v = [(m, c) for m, c in zip(v_means, v_counts, strict=True) if c > 0]
    distance = wasserstein_distance(
        u_values=[m for m, _ in u], v_values=[m for m, _ in v], u_weights=[c for _, c in u], v_weights=[c for _, c in v]
    )
    return float(distance) / max(std, STD_FLOOR)


def roc_auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """The area under the ROC curve: the Mann-Whitney U of the positives' scores over the negatives', ties
    counted half, divided by the pairs."""
    from scipy.stats import mannwhitneyu

    positive = [s for s, label in zip(scores, labels, strict=True) if label]
    negative = [s for s, label in zip(scores, labels, strict=True) if not label]
    found = mannwhitneyu(positive, negative, alternative="two-sided", method="asymptotic")
    return float(found.statistic) / (len(positive) * len(negative))


def shares_of(counts: Sequence[float]) -> list[float]:
    """Each count's share of the total; all 0.0 when nothing was counted."""
    total = sum(counts)
    return [c / total if total else 0.0 for c in counts]


def histogram(distribution: Any, name: str) -> tuple[list[float], list[int], list[float]] | None:
    """A number's training histogram (edges, counts, means) when the artifact's distribution has a usable one."""
    spec = distribution.get(name) if isinstance(distribution, dict) else None
    found = spec.get("histogram") if isinstance(spec, dict) else None
    if not isinstance(found, dict):
        return None
    edges, counts, means = found.get("edges"), found.get("counts"), found.get("means")
    if not (isinstance(edges, list) and isinstance(counts, list) and isinstance(means, list)):
        return None
    if not counts or len(edges) != len(counts) + 1 or len(means) != len(counts) or sum(counts) <= 0:
        return None
    return [float(e) for e in edges], [int(c) for c in counts], [float(m) for m in means]
