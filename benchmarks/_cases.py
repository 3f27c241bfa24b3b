"""Benchmark cases: data, the common strength grid, and the reference objective.

Every library is run on the *same* problem, written in shrinkage's units (docs/design.md 1)::

    F(b0, b) = (1/n) * sum_i loss(y_i, b0 + x_i . b)
               + lam * (l1_ratio * ||b||_1 + (1 - l1_ratio) / 2 * ||b||_2^2)

with unit sample weights, an unpenalised intercept, ``loss`` half the unit deviance
(squared error / 2, logistic negative log-likelihood, Poisson ``exp(eta) - y*eta - (y log y
- y)``), and ``standardize=False`` for every library. To make "no standardization" mean the
same thing everywhere, the columns of X are standardized *here*, once (dense: centred and
scaled to unit population variance; sparse: scaled only, centring would densify), and for
gaussian cases y is centred and scaled to unit population variance too (glmnet standardizes
y internally for gaussian, which changes its elastic-net objective unless ``sd(y) == 1``).

Data are generated deterministically from fixed seeds and cached as ``.npy`` files (never
pickle) so that every library's worker process loads byte-identical arrays.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp
from _user_data import (
    FAMILIES,
    binary_response,
    case_suffix,
    check_family,
    file_tag,
    infer_family,
    read_data_file,
    registered,
    remember,
)
from scipy.signal import lfilter

__all__ = [
    "Case",
    "CASES",
    "SPARSE_DATA",
    "lam_max",
    "lam_grid",
    "objective",
    "kkt_violations",
    "prepare",
    "save",
    "load",
    "fold_ids",
    "register_data",
    "add_data_arguments",
    "data_cases",
    "describe",
]

RHO = 0.5  # AR(1) correlation between neighbouring features (Toeplitz rho^|i-j|)


@dataclass(frozen=True)
class Case:
    """One benchmark problem.

    Attributes
    ----------
    name : str
        Unique key used by ``--cases``.
    family : {"gaussian", "binomial", "poisson"}
    l1_ratio : float
        1.0 for the lasso, 0.5 for the elastic net.
    data : {"wide", "tall", "sparse", "text", "factors", "pairs", "diabetes",
        "breast_cancer"} or ``"file:<path>"``
        Which design: dense p >> n with correlated features, dense n >> p, sparse CSC,
        power-law text, one-hot factors, dense p > n of near-duplicate column pairs, one of
        scikit-learn's bundled data sets, or a data file of the user's
        (:func:`register_data`).
    """

    name: str
    family: str
    l1_ratio: float
    data: str

    def shape(self, quick: bool) -> tuple[int, int] | None:
        """``(n, p)`` of the synthetic design (None for bundled data sets)."""
        return (_QUICK_SHAPES if quick else _FULL_SHAPES).get(self.data)

    def min_ratio(self, n: int, p: int) -> float:
        """``lam_min / lam_max`` of the grid: 1e-3 if n > p, else 1e-2 (docs/design.md 1)."""
        return 1e-3 if n > p else 1e-2


_FULL_SHAPES = {"wide": (200, 20_000), "tall": (100_000, 500), "sparse": (20_000, 50_000),
                "text": (20_000, 45_000), "factors": (100_000, 9_189), "pairs": (300, 20_000)}
_QUICK_SHAPES = {"wide": (50, 300), "tall": (2_000, 20), "sparse": (1_000, 300),
                 "text": (1_000, 2_000), "factors": (2_000, 632), "pairs": (300, 2_000)}
_SPARSE_DENSITY = {False: 1e-3, True: 2e-2}
_DATA_SEED = {"wide": 1, "tall": 2, "sparse": 3, "text": 4, "factors": 5, "pairs": 6}
#: the pairs design: correlation of the two columns of a pair (a feature recorded twice,
#: or two near-synonymous measurements; coordinate descent crawls along each pair)
PAIR_CORRELATION = 0.9999
#: the designs stored as CSC matrices
SPARSE_DATA = ("sparse", "text", "factors")
#: the factors design: levels per factor (full size, quick), and numeric columns
_FACTOR_LEVELS = {False: (2, 3, 4, 7, 12, 30, 100, 400, 2000, 8000),
                  True: (2, 3, 4, 7, 12, 30, 100, 400)}
_FACTOR_NUMERIC = {False: 6, True: 4}


def _all_cases() -> list[Case]:
    out = []
    datas = ["wide", "tall", "sparse", "text", "factors", "pairs", "diabetes", "breast_cancer"]
    for d in datas:
        out.append(Case(f"gaussian-lasso-{d}", "gaussian", 1.0, d))
    for d in datas:
        out.append(Case(f"gaussian-enet-{d}", "gaussian", 0.5, d))
    for d in datas:
        out.append(Case(f"binomial-l1-{d}", "binomial", 1.0, d))
    out.append(Case("poisson-l1-tall", "poisson", 1.0, "tall"))
    return out


CASES: dict[str, Case] = {c.name: c for c in _all_cases()}
_FILE = "file:"


def _add_file_cases(path: str, family: str) -> list[str]:
    names = []
    for pen, ratio in FAMILIES[family]:
        case = Case(f"{family}-{pen}-{case_suffix(path)}", family, ratio, _FILE + path)
        old = CASES.get(case.name)
        if old is not None and old != case:
            raise SystemExit(f"--data: the case name {case.name!r} of {path} is taken by "
                             f"{old.data!r}; rename the file")
        CASES[case.name] = case
        names.append(case.name)
    return names


def register_data(path: str, family: str | None = None) -> list[str]:
    """Add the cases on a data file of the user's (``_user_data``) to :data:`CASES` and to
    the environment the worker processes inherit; returns their names. The file is read
    here once, so that a bad file or family fails before any library runs."""
    path = os.path.abspath(path)
    try:
        _, y = read_data_file(path)
        family = family or infer_family(y)
        check_family(y, family, path)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    names = _add_file_cases(path, family)
    remember(path, family)
    return names


def add_data_arguments(ap) -> None:
    """``--data`` and ``--family`` (a benchmark script's parser): cases on a user's files."""
    ap.add_argument("--data", action="append", default=[], metavar="PATH",
                    help="a data file of yours (svmlight text, or .npz with y and X or a "
                    "sparse matrix's arrays; benchmarks/_user_data.py): adds cases on it "
                    "(repeatable); without --cases, only those run")
    ap.add_argument("--family", choices=sorted(FAMILIES), default=None,
                    help="family of the --data files (default: binomial when y takes "
                    "two values, else gaussian)")


def data_cases(args) -> list[str]:
    """Register the files of :func:`add_data_arguments`; returns their case names."""
    return [name for path in args.data for name in register_data(path, args.family)]


def describe(case: Case, quick: bool) -> str:
    """``n x p`` of a synthetic design, else the data set's (or file's) name."""
    shape = case.shape(quick)
    if shape:
        return "x".join(map(str, shape))
    return os.path.basename(case.data) if case.data.startswith(_FILE) else case.data


for _path, _family in registered():  # the files of the parent process (worker processes)
    _add_file_cases(_path, _family)


# ----------------------------------------------------------------------------- designs
def _ar1_design(n: int, p: int, rng: np.random.Generator) -> np.ndarray:
    """Rows with Toeplitz correlation ``corr(x_j, x_k) = RHO**|j-k|``, Fortran order.

    x_j = RHO * x_{j-1} + sqrt(1 - RHO^2) * z_j, run as an IIR filter along the features;
    the first column is a plain N(0, 1) draw so the process is stationary from the start.
    """
    z = rng.standard_normal((n, p))
    z[:, 1:] *= np.sqrt(1.0 - RHO**2)
    X = lfilter([1.0], [1.0, -RHO], z, axis=1)
    return np.asfortranarray(X)


def _pairs_design(n: int, p: int, rng: np.random.Generator) -> np.ndarray:
    """``p / 2`` standard normal columns, each followed at ``j + p / 2`` by a copy with
    correlation ``PAIR_CORRELATION`` to it, Fortran order."""
    Z = rng.standard_normal((n, p // 2))
    noise = np.sqrt(1.0 / PAIR_CORRELATION**2 - 1.0)
    return np.asfortranarray(np.hstack([Z, Z + noise * rng.standard_normal(Z.shape)]))


def _standardize_dense(X: np.ndarray) -> np.ndarray:
    """Centre and scale each column to unit population variance, in place."""
    X -= X.mean(axis=0)
    sd = X.std(axis=0)
    sd[sd == 0] = 1.0
    X /= sd
    return X


def _scale_sparse(X: sp.csc_matrix) -> sp.csc_matrix:
    """Scale each column to unit population variance without centring (stays sparse)."""
    n = X.shape[0]
    mean = np.asarray(X.mean(axis=0)).ravel()
    mean_sq = np.asarray(X.multiply(X).mean(axis=0)).ravel()
    sd = np.sqrt(np.maximum(mean_sq - mean**2, 0.0))
    sd[sd == 0] = 1.0
    X = sp.csc_matrix(X @ sp.diags(1.0 / sd))
    X.sort_indices()
    assert X.shape[0] == n
    return X


def text_design(n: int, p: int, rng: np.random.Generator):
    """A tf-idf document-term matrix with the shape of real text (CSC, float64).

    Term frequencies follow a Zipf-Mandelbrot law (``prob(rank) ~ 1 / (rank + 2.7)^1.1``:
    a few terms in most documents, most terms in a handful); document lengths are
    log-normal (median 20 tokens, from 5 to 500); each entry is ``(1 + log count) * idf``
    with ``idf = log((1 + n) / (1 + df)) + 1`` and every row scaled to unit length, as
    scikit-learn's TfidfVectorizer(sublinear_tf=True) does. About 25 stored entries per
    row (0.5 M for 20,000 documents). Returns ``(X, frequency_rank)``: the matrix with
    columns in a shuffled order (vocabularies are not sorted by frequency) and each
    column's frequency rank.
    """
    weights = 1.0 / (np.arange(p) + 2.7) ** 1.1
    weights /= weights.sum()
    lengths = np.clip(np.round(np.exp(rng.normal(np.log(20.0), 0.8, n))), 5, 500).astype(int)
    rows, cols = [], []
    for i, length in enumerate(lengths):
        terms = rng.choice(p, size=length, p=weights)
        rows.append(np.full(length, i))
        cols.append(terms)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    counts = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n, p))
    counts.sum_duplicates()
    df = np.bincount(counts.indices, minlength=p)
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    counts.data = (1.0 + np.log(counts.data)) * idf[counts.indices]
    norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
    X = sp.diags(1.0 / np.maximum(norms, 1e-300)) @ counts
    order = rng.permutation(p)
    X = sp.csc_matrix(X[:, order])
    X.sort_indices()
    return X, np.argsort(order)


def factor_design(n: int, levels, n_numeric: int, rng: np.random.Generator):
    """A design of one-hot encoded factors, as tabular data gives (CSC, float64).

    Each factor's level frequencies follow a Zipf law (``prob(level k) ~ 1 / k^1.1``: a
    few common levels, many rare ones), every level gets its indicator column (no
    reference level dropped: scikit-learn's OneHotEncoder and pandas' get_dummies by
    default, and the shrinkage CLI's encoding of three or more levels; levels that do not
    occur get none), so that each factor's columns sum to one, collinear with the
    intercept. The interaction of the fourth and sixth factors adds one column per observed
    pair of levels (nested in their main effects), and ``n_numeric`` dense columns follow,
    cycling through a log-normal income-like one, a year (mean 2012, spread 7: large next
    to its spread) and a standard normal. Returns ``(X, codes)``: the matrix and each
    factor's level per row.
    """
    codes = []
    for n_levels in levels:
        prob = 1.0 / np.arange(1, n_levels + 1) ** 1.1
        drawn = rng.choice(n_levels, size=n, p=prob / prob.sum())
        codes.append(np.unique(drawn, return_inverse=True)[1])  # the levels that occur
    pair = np.unique(codes[3] * levels[5] + codes[5], return_inverse=True)[1]
    rows = np.arange(n)
    blocks = [sp.csc_matrix((np.ones(n), (rows, c)), shape=(n, int(c.max()) + 1))
              for c in codes + [pair]]
    numeric = np.empty((n, n_numeric))
    for k in range(n_numeric):
        numeric[:, k] = (rng.lognormal(10.0, 1.0, n), 2000.0 + rng.integers(0, 25, n),
                         rng.standard_normal(n))[k % 3]
    X = sp.hstack(blocks + [sp.csc_matrix(numeric)], format="csc")
    X.sort_indices()
    return X, codes


def _factor_eta(X: sp.csc_matrix, codes, n_numeric: int, rng: np.random.Generator):
    """A linear predictor with up to five level effects per factor and three numeric
    effects (on the standardized numeric columns)."""
    eta = np.zeros(X.shape[0])
    for c in codes:
        n_levels = int(c.max()) + 1
        effect = np.zeros(n_levels)
        pick = rng.choice(n_levels, size=min(n_levels, 5), replace=False)
        effect[pick] = rng.normal(0.0, 1.0, pick.size)
        eta += effect[c]
    numeric = X[:, X.shape[1] - n_numeric:].toarray()
    numeric = (numeric - numeric.mean(axis=0)) / numeric.std(axis=0)
    return eta + numeric[:, :3] @ np.array([0.5, -0.3, 0.4])


def _text_coef(rank: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """A response driven by ``k`` terms of middling frequency (ranks 20 to 3,000)."""
    p = rank.size
    pool = np.flatnonzero((rank >= 20) & (rank < min(3000, p)))
    idx = rng.choice(pool, size=min(k, pool.size), replace=False)
    beta = np.zeros(p)
    beta[idx] = rng.choice([-1.0, 1.0], size=idx.size) * rng.uniform(1.0, 3.0, size=idx.size)
    return beta


def _true_coef(p: int, k: int, rng: np.random.Generator) -> np.ndarray:
    beta = np.zeros(p)
    idx = rng.choice(p, size=min(k, p), replace=False)
    beta[idx] = rng.choice([-1.0, 1.0], size=idx.size) * rng.uniform(0.5, 1.5, size=idx.size)
    return beta


def _response(family: str, eta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw y given a linear predictor scaled to a sensible signal strength."""
    eta = eta / max(np.std(eta), 1e-12)
    if family == "gaussian":
        return eta * 2.0 + rng.standard_normal(eta.shape)  # signal-to-noise ratio 4
    if family == "binomial":
        prob = 1.0 / (1.0 + np.exp(-2.0 * eta))
        return (rng.uniform(size=eta.shape) < prob).astype(np.float64)
    if family == "poisson":
        return rng.poisson(np.exp(0.5 + 0.5 * eta)).astype(np.float64)
    raise ValueError(f"unknown family {family!r}")


def make_data(case: Case, quick: bool, raw: bool = False):
    """Return ``(X, y)`` for ``case``: X dense Fortran float64 or CSC float64, y float64.

    ``raw=True`` gives the data a user would start from, for ``bench_path.py --defaults``:
    the design before this module's standardization (the AR(1) draw, the bundled features,
    the unscaled sparse draw, the raw tf-idf matrix) and ``y`` as generated (gaussian y not
    centred or scaled). The draws are the same as for ``raw=False``: only the final
    standardization steps are skipped.
    """
    from sklearn import datasets

    if case.data.startswith(_FILE):
        path = case.data[len(_FILE):]
        X, y = read_data_file(path)
        if case.family == "binomial":
            y = binary_response(y, path)
        if not raw:
            X = _scale_sparse(X) if sp.issparse(X) else _standardize_dense(X)
    elif case.data in ("diabetes", "breast_cancer"):
        loader = datasets.load_diabetes if case.data == "diabetes" else datasets.load_breast_cancer
        X, y = loader(return_X_y=True)
        X = np.asfortranarray(X, dtype=np.float64)
        if not raw:
            X = _standardize_dense(X)
        y = np.asarray(y, dtype=np.float64)
        if case.family == "binomial" and case.data == "diabetes":
            y = (y > np.median(y)).astype(np.float64)  # a balanced binary target
        elif case.family == "poisson":
            raise ValueError("poisson cases use synthetic counts")
    else:
        n, p = case.shape(quick)
        seed = _DATA_SEED[case.data] * 100 + {"gaussian": 0, "binomial": 1, "poisson": 2}[
            case.family
        ]
        rng = np.random.default_rng(seed)
        if case.data == "sparse":
            density = _SPARSE_DENSITY[quick]
            X0 = sp.random(
                n, p, density=density, format="csc", random_state=rng, data_rvs=rng.standard_normal
            )
            X = _scale_sparse(X0)
            beta = _true_coef(p, 100, rng)
        elif case.data == "text":
            X0, rank = text_design(n, p, rng)
            beta = _text_coef(rank, 40, rng)
            X = _scale_sparse(X0)
        elif case.data == "factors":
            # one design for every family (its width depends on the levels drawn)
            X0, codes = factor_design(n, _FACTOR_LEVELS[quick], _FACTOR_NUMERIC[quick],
                                      np.random.default_rng(_DATA_SEED["factors"] * 100))
            assert X0.shape == (n, p), X0.shape
            X = _scale_sparse(X0)
            beta = None
        else:
            X0 = _pairs_design(n, p, rng) if case.data == "pairs" else _ar1_design(n, p, rng)
            X = _standardize_dense(X0.copy(order="F") if raw else X0)
            beta = _true_coef(p, {"wide": 20, "tall": 50, "pairs": 10}[case.data], rng)
        # y is drawn from the standardized design in both modes, so raw=True changes X only
        eta = (_factor_eta(X0, codes, _FACTOR_NUMERIC[quick], rng) if beta is None
               else np.asarray(X @ beta))
        y = _response(case.family, eta, rng)
        if raw:
            X = sp.csc_matrix(X0, dtype=np.float64) if sp.issparse(X0) else X0
            if sp.issparse(X):
                X.sort_indices()
    if case.family == "gaussian" and not raw:
        y = (y - y.mean()) / y.std()
    return X, np.ascontiguousarray(y)


def fold_ids(n: int, n_folds: int = 10, seed: int = 0) -> np.ndarray:
    """The benchmark's fixed CV folds: fold ``i % n_folds`` of a seeded permutation."""
    return np.random.default_rng(seed).permutation(np.arange(n) % n_folds)


# ----------------------------------------------------------------------------- grid
def _xt(X, v: np.ndarray) -> np.ndarray:
    return np.asarray(X.T @ v).ravel()


def lam_max(X, y: np.ndarray, family: str, l1_ratio: float) -> float:
    """Smallest ``lam`` with every coefficient zero, in shrinkage's units.

    At b = 0 the optimal intercept gives fitted mean ``mean(y)`` for all three families
    (identity, logit and log links are canonical), so the gradient of the data term at
    the null model is ``-X^T (y - mean(y)) / n`` and the KKT condition
    ``|grad_j| <= lam * l1_ratio`` holds for all j exactly when
    ``lam >= max_j |x_j^T (y - mean(y))| / (n * l1_ratio)``.
    """
    del family  # the same formula holds for every canonical-link family
    n = X.shape[0]
    r = y - y.mean()
    return float(np.max(np.abs(_xt(X, r))) / (n * l1_ratio))


def lam_grid(lmax: float, min_ratio: float, n_lams: int = 100) -> np.ndarray:
    """``n_lams`` log-spaced strengths from ``lmax`` down to ``lmax * min_ratio``."""
    return lmax * np.logspace(0.0, np.log10(min_ratio), n_lams)


# ----------------------------------------------------------------------------- objective
def objective(X, y, coefs, intercepts, lams, family: str, l1_ratio: float) -> np.ndarray:
    """Primal objective F(b0, b) in shrinkage's units, one value per path point.

    Parameters
    ----------
    coefs : ndarray (L, p); intercepts : ndarray (L,); lams : ndarray (L,)

    Returns
    -------
    ndarray (L,)
        ``mean_i loss(y_i, eta_i) + lam * (l1_ratio*|b|_1 + (1-l1_ratio)/2*|b|_2^2)`` with
        the half-deviance losses of the module docstring.
    """
    coefs = np.asarray(coefs, dtype=np.float64)
    eta = np.asarray(X @ coefs.T) + np.asarray(intercepts)[None, :]  # (n, L)
    yc = y[:, None]
    if family == "gaussian":
        data = 0.5 * np.mean((yc - eta) ** 2, axis=0)
    elif family == "binomial":
        data = np.mean(np.logaddexp(0.0, eta) - yc * eta, axis=0)
    elif family == "poisson":
        ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)), 0.0)
        const = np.mean(ylogy - y)
        data = np.mean(np.exp(eta) - yc * eta, axis=0) - const
    else:
        raise ValueError(f"unknown family {family!r}")
    pen = l1_ratio * np.abs(coefs).sum(axis=1) + 0.5 * (1.0 - l1_ratio) * (coefs**2).sum(axis=1)
    return data + np.asarray(lams) * pen


def kkt_violations(X, y, coefs, intercepts, lams, family: str, l1_ratio: float,
                   l2_scale: float = 1.0):
    """Each path point's largest KKT violation in shrinkage's certificate units.

    For ``--defaults``, where every library solves the *standardized* problem on the raw
    data with its own grid and tolerance: the coefficients are read as
    ``beta_j = b_j * s_j`` on the centred, scaled columns (``s_j`` the population standard
    deviation of column ``j``; constant columns are left out), the gradient of the data
    term with respect to ``beta_j`` is ``g_j / s_j`` with ``g = Xc^T (mu - y) / n`` (``Xc``
    the centred columns: shrinkage's certificate is shift-invariant, as the problem is),
    and the violation of
    coordinate ``j`` is ``|g_j / s_j + lam (1 - l1_ratio) beta_j + lam l1_ratio
    sign(beta_j)|`` where ``beta_j != 0``, ``max(|g_j / s_j + ...| - lam l1_ratio, 0)``
    where it is zero; the intercept's is ``|mean(mu - y)|``. Each point's largest violation
    is divided by the null model's largest ``|g_j| / s_j``, as shrinkage's ``tol`` is
    (``docs/guide/speed.md``, "Tolerances"), so ``1e-6`` reads as shrinkage's default
    binomial certificate. ``l2_scale`` multiplies the ridge term for a library whose
    strength means another ridge weight (glmnet's gaussian elastic net fits ``y / sd(y)``,
    so its ridge weight in these units is ``lam (1 - l1_ratio) / sd(y)``).

    Returns
    -------
    ndarray (L,)
    """
    coefs = np.asarray(coefs, dtype=np.float64)
    n = X.shape[0]
    xm = np.asarray(X.mean(axis=0)).ravel()
    x2 = np.asarray(X.multiply(X).mean(axis=0)).ravel() if sp.issparse(X) else np.mean(
        X * X, axis=0)
    s = np.sqrt(np.maximum(x2 - xm * xm, 0.0))
    keep = s > 1e-12 * max(float(s.max()), 1e-300)
    inv = np.zeros_like(s)
    inv[keep] = 1.0 / s[keep]
    mean_link = {"gaussian": lambda e: e, "binomial": lambda e: 0.5 * (1.0 + np.tanh(0.5 * e)),
                 "poisson": np.exp}[family]
    null = float(np.max(np.abs(_xt(X, y - y.mean())) / n * inv))
    eta = np.asarray(X @ coefs.T) + np.asarray(intercepts)[None, :]  # (n, L)
    res = mean_link(eta) - y[:, None]
    # centred columns, as the penalty sees them: a column's shift moves only the intercept
    grad = (np.asarray(X.T @ res) - np.outer(xm, res.sum(axis=0))) / n * inv[:, None]
    beta = coefs.T * s[:, None]
    lam = np.asarray(lams)[None, :]
    smooth = grad + l2_scale * lam * (1.0 - l1_ratio) * beta
    l1 = lam * l1_ratio
    viol = np.where(beta != 0.0, np.abs(smooth + l1 * np.sign(beta)),
                    np.maximum(np.abs(smooth) - l1, 0.0))
    viol[~keep] = 0.0
    worst = np.maximum(viol.max(axis=0), np.abs(res.mean(axis=0)))
    return worst / null if null > 0 else worst


# ----------------------------------------------------------------------------- storage
def prepare(case: Case, quick: bool, root: str, n_lams: int = 100, raw: bool = False) -> str:
    """Generate (or reuse) the case's data and grid under ``root``; return its folder.

    ``raw=True`` stores :func:`make_data`'s raw data (``--defaults``) in its own folder.
    """
    tag = ("quick" if quick else "full") + ("-raw" if raw else "")
    data = file_tag(case.data[len(_FILE):]) if case.data.startswith(_FILE) else case.data
    folder = os.path.join(root, f"{data}-{case.family}-{tag}")
    grid_file = os.path.join(folder, f"lams-{case.l1_ratio:g}-{n_lams}.npy")
    if not os.path.exists(os.path.join(folder, "meta.json")):
        X, y = make_data(case, quick, raw=raw)
        save(folder, X, y, {"case": asdict(case), "raw": raw})
    if not os.path.exists(grid_file):
        X, y = load(folder)
        lmax = lam_max(X, y, case.family, case.l1_ratio)
        np.save(grid_file, lam_grid(lmax, case.min_ratio(*X.shape), n_lams))
    return folder


def save(folder: str, X, y, extra: dict | None = None) -> str:
    """Write ``(X, y)`` as ``.npy`` files that :func:`load` reads (meta.json written last)."""
    os.makedirs(folder, exist_ok=True)
    if sp.issparse(X):
        X = sp.csc_matrix(X)
        np.save(os.path.join(folder, "X_data.npy"), X.data)
        np.save(os.path.join(folder, "X_indices.npy"), X.indices)
        np.save(os.path.join(folder, "X_indptr.npy"), X.indptr)
    else:
        np.save(os.path.join(folder, "X.npy"), np.asfortranarray(X))
    np.save(os.path.join(folder, "y.npy"), np.ascontiguousarray(y, dtype=np.float64))
    meta = {"shape": list(X.shape), "sparse": bool(sp.issparse(X)), **(extra or {})}
    with open(os.path.join(folder, "meta.json"), "w") as fh:
        json.dump(meta, fh)
    return folder


def load(folder: str):
    """Load ``(X, y)`` saved by :func:`prepare` (dense X keeps its Fortran order)."""
    with open(os.path.join(folder, "meta.json")) as fh:
        meta = json.load(fh)
    y = np.load(os.path.join(folder, "y.npy"))
    if meta["sparse"]:
        X = sp.csc_matrix(
            (
                np.load(os.path.join(folder, "X_data.npy")),
                np.load(os.path.join(folder, "X_indices.npy")),
                np.load(os.path.join(folder, "X_indptr.npy")),
            ),
            shape=tuple(meta["shape"]),
        )
    else:
        X = np.load(os.path.join(folder, "X.npy"))
    return X, y


def load_grid(folder: str, l1_ratio: float, n_lams: int = 100) -> np.ndarray:
    return np.load(os.path.join(folder, f"lams-{l1_ratio:g}-{n_lams}.npy"))


def nbytes(X) -> int:
    """Memory held by X's arrays (data + indices + indptr for sparse)."""
    if sp.issparse(X):
        return int(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes)
    return int(X.nbytes)
