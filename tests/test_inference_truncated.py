"""The truncated normal behind selective inference: against mpmath in the far tails,
the interval inversion against its definition, coverage by simulation."""

import math

import mpmath
import numpy as np
import pytest

from shrinkage.inference.truncated import (
    polyhedral_limits,
    truncated_normal_cdf,
    truncated_normal_interval,
    truncated_normal_pvalue,
)

mpmath.mp.dps = 60


def _exact_cdf(x, mean, sd, a, b):
    """In 60 digits, with the survival function above the mean (1 - tiny is 1 even there)."""
    upper = a > mean

    def tail(t):  # Phi((t - mean) / sd), or its survival function when upper
        if abs(t) == math.inf:
            return mpmath.mpf(int((t > 0) != upper))
        u = (mpmath.mpf(t) - mean) / sd
        return mpmath.ncdf(-u) if upper else mpmath.ncdf(u)

    if upper:
        return float((tail(a) - tail(x)) / (tail(a) - tail(b)))
    return float((tail(x) - tail(a)) / (tail(b) - tail(a)))


@pytest.mark.parametrize("x, mean, sd, a, b", [
    (0.3, 0.0, 1.0, -1.0, 2.0),            # the bulk
    (10.5, 0.0, 1.0, 10.0, 12.0),          # far upper tail: 1 - Phi cancels to 0
    (-39.0, 0.0, 1.0, -40.0, -38.0),       # far lower tail: Phi underflows in double
    (25.2, 0.0, 1.0, 25.0, math.inf),      # one-sided, far out
    (-3.0, 5.0, 0.5, -math.inf, -2.0),     # mean far above a lower-tail interval
    (1.0, -2.0, 3.0, 0.5, 30.0),
])
def test_cdf_matches_high_precision(x, mean, sd, a, b):
    got = truncated_normal_cdf(x, mean, sd, a, b)
    want = _exact_cdf(x, mean, sd, a, b)
    assert got == pytest.approx(want, rel=1e-9, abs=1e-14)


def test_pvalue_tails_are_computed_directly():
    # x near the top of an upper-tail interval: 1 - F is tiny and must not cancel to 0
    p = truncated_normal_pvalue(11.999, 1.0, 10.0, 12.0)
    want = 2 * (1 - _exact_cdf(11.999, 0.0, 1.0, 10.0, 12.0))
    assert p == pytest.approx(want, rel=1e-6)
    assert p > 0


@pytest.mark.parametrize("x, sd, a, b", [(0.4, 1.0, 0.2, math.inf), (3.0, 2.0, -1.0, 10.0),
                                         (-0.5, 0.3, -math.inf, 1.0)])
def test_interval_inverts_the_pivot(x, sd, a, b):
    level = 0.9
    lo, hi = truncated_normal_interval(x, sd, a, b, level)
    if math.isfinite(lo):
        assert truncated_normal_cdf(x, lo, sd, a, b) == pytest.approx(0.95, abs=1e-8)
    if math.isfinite(hi):
        assert truncated_normal_cdf(x, hi, sd, a, b) == pytest.approx(0.05, abs=1e-8)
    assert lo < x < hi or not (a < x < b)


def test_a_draw_near_the_limit_leaves_a_long_interval_on_the_far_side():
    # x just above the lower limit of [a, inf): a mean far below a explains it as well,
    # and the interval reaches far down (the exponential tail: about a - 3 / (x - a))
    a, x = 0.5, 0.51
    lo, hi = truncated_normal_interval(x, 1.0, a, math.inf, 0.9)
    assert lo < a - 100 and hi < x + 2
    assert truncated_normal_cdf(x, lo, 1.0, a, math.inf) == pytest.approx(0.95, abs=1e-8)


def test_interval_coverage_by_simulation():
    rng = np.random.default_rng(3)
    mean, sd, a, b = 0.7, 1.0, 1.0, math.inf
    draws = mean + sd * rng.standard_normal(40_000)
    draws = draws[(draws >= a) & (draws <= b)][:1500]
    hits = 0
    for x in draws:
        lo, hi = truncated_normal_interval(x, sd, a, b, 0.9)
        hits += lo <= mean <= hi
    # 1500 intervals: the binomial sd of the rate is 0.0077
    assert abs(hits / draws.size - 0.9) < 0.03


def test_polyhedral_limits_on_a_box():
    # v in R^2, constraints v0 >= 1 and v0 <= 3, v1 <= 2; eta = e0, identity covariance
    A = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    b = np.array([-1.0, 3.0, 2.0])
    v = np.array([2.0, 0.0])
    lo, hi = polyhedral_limits(A, b, v, np.array([1.0, 0.0]), 2.0)
    assert (lo, hi) == pytest.approx((1.0, 3.0))


def _exact_tails(x, a, b):
    """``(P(Z <= x), P(Z >= x))`` for a standard normal truncated to ``[a, b]``, in 360
    digits (enough for tails down to 1e-320 beside 1)."""
    with mpmath.workdps(360):
        def phi(t):
            return mpmath.mpf(int(t > 0)) if abs(t) == math.inf else mpmath.ncdf(mpmath.mpf(t))

        z = min(max(x, a), b)
        total = phi(b) - phi(a)
        return float((phi(z) - phi(a)) / total), float((phi(b) - phi(z)) / total)


def test_both_tails_match_high_precision_anywhere():
    # intervals on either side of zero, around it, half-infinite with the point far out
    # near the finite end (where the one-sided reflection once took log1p(-1))
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(300):
        centre = rng.uniform(-37.0, 37.0)
        width = 10 ** rng.uniform(-3.0, 1.7)
        a, b = centre - width * rng.uniform(0, 1), centre + width * rng.uniform(0, 1)
        kind = rng.integers(4)
        if kind == 1:
            a = -math.inf
        elif kind == 2:
            b = math.inf
        x = rng.uniform(max(a, centre - 2 * width) - 1.0, min(b, centre + 2 * width) + 1.0)
        mean, sd = rng.uniform(-3, 3), 10 ** rng.uniform(-2, 2)
        got = _tails_of(x * sd + mean, mean, sd, a * sd + mean, b * sd + mean)
        want = _exact_tails(x, a, b)
        for g, w in zip(got, want):
            if w > 1e-290:
                assert g == pytest.approx(w, rel=1e-7), (x, a, b)
                checked += 1
            else:
                assert g < 1e-280
    assert checked > 400


def _tails_of(x, mean, sd, lower, upper):
    below = truncated_normal_cdf(x, mean, sd, lower, upper)
    # the p-value is twice the smaller tail, computed directly
    p = truncated_normal_pvalue(x, sd, lower - mean, upper - mean, null=0.0) if mean == 0 else None
    above = _upper_tail(x, mean, sd, lower, upper)
    if p is not None:
        assert p == pytest.approx(min(1.0, 2 * min(below, above)), rel=1e-12)
    return below, above


def _upper_tail(x, mean, sd, lower, upper):
    # P(Z >= x) by reflection: the lower tail of -Z on [-upper, -lower]
    return truncated_normal_cdf(-x, -mean, sd, -upper, -lower)
