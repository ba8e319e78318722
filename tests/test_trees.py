"""The tree scorer's own parts: the quadrature its explanations integrate with."""

from __future__ import annotations

import math

import pytest

from app.backends.trees import quadrature


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8])
def test_quadrature_integrates_polynomials_below_twice_its_points_exactly(count: int) -> None:
    points, weights = quadrature(count)
    assert all(0 < t < 1 for t in points) and math.fsum(weights) == pytest.approx(1, abs=1e-14)
    for degree in range(2 * count):
        # The permutation weights it stands for: the Beta integral of t^k (1 - t)^(n - k), k! (n - k)! / (n + 1)!
        for k in range(degree + 1):
            exact = math.factorial(k) * math.factorial(degree - k) / math.factorial(degree + 1)
            total = math.fsum(w * t**k * (1 - t) ** (degree - k) for t, w in zip(points, weights, strict=True))
            assert total == pytest.approx(exact, rel=1e-12)
    beyond = math.fsum(w * t ** (2 * count) for t, w in zip(points, weights, strict=True))
    assert beyond != pytest.approx(1 / (2 * count + 1), rel=1e-12)  # one degree more is no longer exact
