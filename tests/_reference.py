"""Independent reference computations for engine tests (plain NumPy, no shrinkage code).

The objective and its optimality conditions are re-derived here from DESIGN.md, so that a
mistake in the engine's own certificate cannot hide a wrong solution.
"""

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp


def standardization(X, w, standardize, fit_intercept):
    w = w / w.sum()
    mean = w @ X
    sd = np.sqrt(w @ (X - mean) ** 2)
    scale = sd if standardize else np.ones(X.shape[1])
    center = mean if fit_intercept else np.zeros(X.shape[1])
    return w, center, scale


def mean_loss(family, y, eta, w):
    if family == "gaussian":
        return 0.5 * w @ (y - eta) ** 2
    if family == "binomial":
        return w @ (np.logaddexp(0, eta) - y * eta)
    if family == "poisson":
        return w @ (np.exp(eta) - y * eta)
    if family == "multinomial":
        return w @ (logsumexp(eta, axis=1) - np.sum(y * eta, axis=1))
    raise ValueError(family)


def loss_residual(family, y, eta):
    """-d loss / d eta."""
    if family == "gaussian":
        return y - eta
    if family == "binomial":
        return y - 1 / (1 + np.exp(-eta))
    if family == "poisson":
        return y - np.exp(eta)
    if family == "multinomial":
        P = np.exp(eta - logsumexp(eta, axis=1, keepdims=True))
        return y - P
    raise ValueError(family)


def objective(family, X, y, b0, b, lam, l1_ratio, w=None, pf=None, standardize=True,
              fit_intercept=True, grouped=True):
    n, p = X.shape
    w = np.ones(n) if w is None else np.asarray(w, float)
    pf = np.ones(p) if pf is None else np.asarray(pf, float)
    w, _, scale = standardization(X, w, standardize, fit_intercept)
    eta = X @ b + b0
    bs = b * (scale[:, None] if b.ndim == 2 else scale)
    if b.ndim == 2:
        l1 = np.sqrt((bs**2).sum(1)) if grouped else np.abs(bs).sum(1)
        l2 = (bs**2).sum(1)
    else:
        l1, l2 = np.abs(bs), bs**2
    pen = lam * np.sum(pf * (l1_ratio * l1 + 0.5 * (1 - l1_ratio) * l2))
    return mean_loss(family, y, eta, w) + pen


def kkt_residual(family, X, y, b0, b, lam, l1_ratio, w=None, pf=None, standardize=True,
                 fit_intercept=True, lower=None, upper=None, centred=False):
    """Largest violation of the optimality conditions, in standardized-gradient units.

    For each coefficient: ``g_j - l2_j b_j`` must lie in ``l1_j * subdiff|b_j|`` (plus the
    normal cone of the box); the intercept gradient must vanish. ``centred``: the feature
    gradients are taken about the columns' weighted means (the solvers' parametrisation;
    about 0 they differ by the mean times the intercept's gradient, which a column far
    from zero turns into a large number).
    """
    n, p = X.shape
    w = np.ones(n) if w is None else np.asarray(w, float)
    pf = np.ones(p) if pf is None else np.asarray(pf, float)
    w, _, scale = standardization(X, w, standardize, fit_intercept)
    eta = X @ b + b0
    r = loss_residual(family, y, eta)
    g = (X - w @ X / w.sum() if centred else X).T @ (w * r)
    l1 = lam * l1_ratio * pf * scale
    l2 = lam * (1 - l1_ratio) * pf * scale**2
    z = g - l2 * b
    viol = np.where(b > 0, np.abs(z - l1),
                    np.where(b < 0, np.abs(z + l1), np.maximum(np.abs(z) - l1, 0)))
    lo = np.full(p, -np.inf) if lower is None else np.broadcast_to(lower, (p,))
    hi = np.full(p, np.inf) if upper is None else np.broadcast_to(upper, (p,))
    push_up = np.where(b > 0, z - l1, np.where(b < 0, z + l1, np.maximum(z - l1, 0)))
    push_dn = np.where(b > 0, z - l1, np.where(b < 0, z + l1, np.minimum(z + l1, 0)))
    viol = np.where((b >= hi) & (push_up >= 0) & (push_dn >= 0), 0.0, viol)
    viol = np.where((b <= lo) & (push_dn <= 0) & (push_up <= 0), 0.0, viol)
    sc = np.where(scale > 0, scale, 1.0)
    out = np.max(viol / sc) if p else 0.0
    if fit_intercept:
        out = max(out, abs(np.sum(w * r)))
    return out


def multinomial_certificate(X, y, w, off, path, grouped, pf):
    """The multinomial certificate of every point of ``path``, from scratch: the largest
    KKT violation over features (of the group norm when ``grouped``, else the largest over
    classes), divided by the column's spread ``s_j`` (standardized units), and the
    intercepts' gradient ``|sum_i w_i (Y_ik - P_ik)| / W``, over the largest standardized
    feature gradient at the null model (every coefficient zero, intercepts fitted; with
    unpenalised features, ``pf == 0``, those fitted too: the path's start); ``pf``
    the penalty factors. Gradient ``G = Xc^T (w (Y - P)) / W`` with ``Xc`` the columns
    centred at their weighted means with an intercept (else uncentred); ``s_j`` the
    root weighted mean square of ``Xc``'s column whatever ``path.standardize`` (the
    certificate's unit, engine.problem.Problem: ``cert_scale``), while the penalty acts on
    the weighted standard deviations when ``path.standardize``, else 1."""
    W = w.sum()
    K = path.classes.size
    Y = np.eye(K)[np.searchsorted(path.classes, y)]
    xm = w @ X / W if path.fit_intercept else np.zeros(X.shape[1])
    Xc = X - xm
    sdev = np.sqrt(w @ ((X - w @ X / W) ** 2) / W)
    sd = sdev if path.standardize else np.ones(X.shape[1])
    s = np.sqrt(w @ (Xc * Xc) / W)
    o = 0.0 if off is None else off

    def grad(b0, B):
        eta = o + b0 + X @ B
        P = np.exp(eta - logsumexp(eta, axis=1, keepdims=True))
        Q = w[:, None] * (Y - P) / W
        return Q.sum(axis=0), Xc.T @ Q

    def size(G):
        return np.sqrt(np.sum(G * G, axis=1)) if grouped else np.abs(G).max(axis=1)

    pbar = w @ Y / W
    null_b0 = np.log(pbar) - np.log(pbar).mean() if off is None else None
    if not path.fit_intercept:
        null_b0 = np.zeros(K)
    elif null_b0 is None:  # Newton on the intercepts with the offset
        null_b0 = np.zeros(K)
        for _ in range(50):
            g0, _ = grad(null_b0, np.zeros((X.shape[1], K)))
            eta = o + null_b0
            P = np.exp(eta - logsumexp(eta, axis=1, keepdims=True))
            H = (np.diag((w / W) @ P) - np.einsum("i,ik,ic->kc", w / W, P, P))
            null_b0 = null_b0 + np.linalg.pinv(H) @ g0
    live = sdev > 0
    B0 = np.zeros((X.shape[1], K))
    free = np.flatnonzero(np.asarray(pf) == 0)
    if free.size:  # the start: intercepts and unpenalised features fitted (scipy, BFGS)
        n_b0 = K if path.fit_intercept else 0

        def unpack(t):
            B = np.zeros((X.shape[1], K))
            B[free] = t[n_b0:].reshape(free.size, K)
            return (t[:n_b0] if n_b0 else np.zeros(K)), B

        def nll(t):
            b0, B = unpack(t)
            eta = o + b0 + X @ B
            val = w @ (logsumexp(eta, axis=1) - np.sum(Y * eta, axis=1)) / W
            Q = w[:, None] * (Y - np.exp(eta - logsumexp(eta, axis=1, keepdims=True))) / W
            return val, -np.concatenate([Q.sum(axis=0)[:n_b0], (X.T @ Q)[free].ravel()])

        t0 = np.concatenate([null_b0[:n_b0], np.zeros(free.size * K)])
        t = minimize(nll, t0, jac=True, method="BFGS", options={"gtol": 1e-13}).x
        null_b0, B0 = unpack(t)
    top = (size(grad(null_b0, B0)[1])[live] / s[live]).max()
    certs = []
    for lam, b0, B in zip(path.lams, path.intercepts, path.coefs):
        g0, G = grad(b0, B)
        l1 = lam * path.l1_ratio * pf * sd
        l2 = lam * (1 - path.l1_ratio) * pf * sd * sd
        Z = G - l2[:, None] * B
        if grouped:
            nb = np.sqrt(np.sum(B * B, axis=1))
            unit = np.divide(B, nb[:, None], out=np.zeros_like(B), where=nb[:, None] > 0)
            viol = np.where(nb > 0, np.sqrt(np.sum((Z - l1[:, None] * unit) ** 2, axis=1)),
                            np.maximum(np.sqrt(np.sum(Z * Z, axis=1)) - l1, 0))
        else:
            dev = np.where(B != 0, Z - l1[:, None] * np.sign(B),
                           np.sign(Z) * np.maximum(np.abs(Z) - l1[:, None], 0))
            viol = np.abs(dev).max(axis=1)
        viol = viol[live] / s[live]
        certs.append(max(viol.max(initial=0.0), np.abs(g0).max() if path.fit_intercept else 0)
                     / top)
    return np.array(certs)


def group_design(n=120, sizes=(3, 2, 4, 1, 5), seed=0):
    """Five groups (sizes 1 to 5), correlated columns inside the first, responses of the
    three families driven by two groups: ``(X, labels, {family: y})``."""
    rng = np.random.default_rng(seed)
    p = sum(sizes)
    X = rng.standard_normal((n, p)) + 0.5 * rng.standard_normal((n, 1))
    X[:, 1] = X[:, 0] + 0.3 * rng.standard_normal(n)  # correlated inside a group
    X *= rng.uniform(0.5, 3.0, p)
    labels = np.repeat(np.arange(len(sizes)), sizes)
    beta = np.zeros(p)
    beta[:3] = [1.0, -0.7, 0.4]
    beta[5:9] = [0.5, 0.0, -0.6, 0.3]
    eta = X @ beta / 2
    y = eta + rng.standard_normal(n)
    yb = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    yp = rng.poisson(np.exp(0.3 * eta)).astype(float)
    return X, labels, {"gaussian": y, "binomial": yb, "poisson": yp}


def concave_rho(kind, t, lam, gamma):
    """MCP (``kind`` "mcp") or SCAD penalty of ``t >= 0`` (ncvreg's parameterisation)."""
    if kind == "mcp":
        return lam * t - t * t / (2 * gamma) if t <= gamma * lam else gamma * lam**2 / 2
    if t <= lam:
        return lam * t
    if t <= gamma * lam:
        return (2 * gamma * lam * t - t * t - lam**2) / (2 * (gamma - 1))
    return lam**2 * (gamma + 1) / 2


def concave_slope(kind, t, lam, gamma):
    """``d rho / dt`` at ``t >= 0`` (its right derivative at 0)."""
    if kind == "mcp":
        return max(lam - t / gamma, 0.0)
    return lam if t <= lam else max(gamma * lam - t, 0.0) / (gamma - 1)
