"""Prior <-> penalty helpers: exact inverses, MAP equivalence, words."""

import numpy as np
import pytest
from scipy.integrate import quad

from shrinkage.bayes import implied_prior, penalty_from_prior


def test_gaussian_prior_numbers_and_words():
    pr = implied_prior(0.03, noise_sd=1.2, n_samples=100)
    assert pr.kind == "gaussian"
    np.testing.assert_allclose(pr.gaussian_sd, 1.2 / np.sqrt(100 * 0.03))
    text = pr.describe()
    assert text.startswith("lam = 0.03 on standardized features is a Gaussian prior with sd")
    assert "0.693" in text and "noise sd 1.2" in text
    assert str(pr) == text


def test_laplace_and_elastic_net_priors():
    lap = implied_prior(0.05, l1_ratio=1.0, noise_sd=2.0, n_samples=50, standardize=False)
    np.testing.assert_allclose(lap.laplace_scale, 4.0 / (50 * 0.05))
    np.testing.assert_allclose(lap.sd(), np.sqrt(2) * lap.laplace_scale)
    assert "Laplace prior with scale 1.6" in lap.describe() and "raw features" in lap.describe()
    en = implied_prior(0.05, l1_ratio=0.5, noise_sd=2.0, n_samples=50)
    # the quadrature sd equals a direct integral of the product density
    dens = lambda t: np.exp(en.log_density(t))  # noqa: E731
    m2 = quad(lambda t: t * t * dens(t), -np.inf, np.inf)[0] / quad(dens, -np.inf, np.inf)[0]
    np.testing.assert_allclose(en.sd(), np.sqrt(m2), rtol=1e-5)
    assert "Laplace kernel" in en.describe() and "l1_ratio = 0.5" in en.describe()
    np.testing.assert_allclose(en.sd(feature_scale=[1.0, 2.0]), [en.sd(), en.sd() / 2])


@pytest.mark.parametrize("a", [0.0, 0.3, 1.0])
def test_penalty_from_prior_inverts(a):
    pr = implied_prior(0.07, l1_ratio=a, noise_sd=0.8, n_samples=30)
    lam, l1r = penalty_from_prior(gaussian_sd=pr.gaussian_sd, laplace_scale=pr.laplace_scale,
                                  noise_sd=0.8, n_samples=30)
    np.testing.assert_allclose([lam, l1r], [0.07, a], atol=1e-12)


def test_log_posterior_is_scaled_objective():
    """-log lik - log prior = (W / sigma^2) * objective + const, for any b."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), rng.normal(size=20)
    lam, a, sigma = 0.1, 0.4, 0.9
    pr = implied_prior(lam, l1_ratio=a, noise_sd=sigma, n_samples=20)
    diffs = []
    for _ in range(4):
        b = rng.normal(size=3)
        nlp = ((y - X @ b) ** 2).sum() / (2 * sigma**2) - pr.log_density(b).sum()
        obj = ((y - X @ b) ** 2).mean() / 2 + lam * (a * np.abs(b).sum() + (1 - a) / 2 * b @ b)
        diffs.append(nlp - 20 / sigma**2 * obj)
    np.testing.assert_allclose(diffs, 0, atol=1e-10)


def test_bad_input():
    with pytest.raises(ValueError, match="give gaussian_sd"):
        penalty_from_prior(n_samples=10)
    with pytest.raises(ValueError, match="noise_sd"):
        implied_prior(0.1, noise_sd=0, n_samples=10)
    with pytest.raises(ValueError, match="l1_ratio"):
        implied_prior(0.1, l1_ratio=2, n_samples=10)
