"""Convergence diagnostics for several Markov chains: split R-hat and effective sample size.

Both follow Gelman et al., *Bayesian Data Analysis* (3rd ed., section 11.4-11.5) as
implemented in Stan: chains are split in half, the between- and within-chain variances
give ``R-hat = sqrt(var_plus / W)``, and the effective sample size sums the combined
autocorrelations with Geyer's initial monotone positive-pair sequence.
"""

from __future__ import annotations

import numpy as np

__all__ = ["rhat", "ess"]


def _chains(samples):
    x = np.asarray(samples, dtype=float)
    if x.ndim < 2:
        raise ValueError(f"samples must have shape (n_chains, n_draws, ...), got {x.shape}")
    if x.shape[1] < 4:
        raise ValueError(f"need at least 4 draws per chain, got {x.shape[1]}")
    if not np.all(np.isfinite(x)):
        raise ValueError("samples contain NaN or inf")
    return x


def _split(x):
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, x.shape[1] - half :]], axis=0)


def rhat(samples):
    """Split R-hat for each parameter.

    Parameters
    ----------
    samples : array of shape (n_chains, n_draws, ...)

    Returns
    -------
    ndarray of shape ``samples.shape[2:]`` (a float for scalar parameters). Values near 1
    mean the chains agree; above about 1.01-1.05 they have not mixed.
    """
    x = _split(_chains(samples))
    n = x.shape[1]
    B = n * np.var(x.mean(axis=1), axis=0, ddof=1)
    W = np.mean(np.var(x, axis=1, ddof=1), axis=0)
    var_plus = (n - 1) / n * W + B / n
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.sqrt(var_plus / W)
    r = np.where(W > 0, r, np.where(B > 0, np.inf, 1.0))
    return r[()] if r.ndim == 0 else r


def _autocov(x):
    """Biased autocovariance along axis 1 (by FFT), for each chain and parameter."""
    n = x.shape[1]
    xc = x - x.mean(axis=1, keepdims=True)
    size = 2 ** int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(xc, n=size, axis=1)
    return np.fft.irfft(f * np.conj(f), n=size, axis=1)[:, :n] / n


def ess(samples):
    """Effective sample size for each parameter (all chains together).

    Parameters
    ----------
    samples : array of shape (n_chains, n_draws, ...)

    Returns
    -------
    ndarray of shape ``samples.shape[2:]``; at most ``n_chains * n_draws * log10(...)``.
    """
    x = _split(_chains(samples))
    m, n = x.shape[:2]
    flat = x.reshape(m, n, -1)
    acov = _autocov(flat)  # (m, n, k)
    chain_var = acov[:, 0] * n / (n - 1)
    mean_var = chain_var.mean(axis=0)
    var_plus = mean_var * (n - 1) / n
    if m > 1:
        var_plus = var_plus + np.var(flat.mean(axis=1), axis=0, ddof=1)
    out = np.empty(flat.shape[2])
    for k in range(flat.shape[2]):
        if var_plus[k] <= 0:
            out[k] = m * n  # constant chains: every draw is as good as independent
            continue
        rho = 1.0 - (mean_var[k] - acov[:, :, k].mean(axis=0)) / var_plus[k]
        rho[0] = 1.0
        # Geyer: sum consecutive pairs while positive, forcing them to be non-increasing
        tau, prev, t = 0.0, np.inf, 0
        while t + 1 < n:
            pair = rho[t] + rho[t + 1]
            if pair <= 0:
                break
            prev = min(prev, pair)
            tau += prev
            t += 2
        tau = max(-1.0 + 2.0 * tau, 1.0 / np.log10(m * n))
        out[k] = m * n / tau
    out = out.reshape(x.shape[2:])
    return out[()] if out.ndim == 0 else out
