"""Groups of coefficients (issue 16): speed at equal accuracy against adelie and scikit-learn.

Two comparisons, each on the same objective and the same grid:

* group elastic net paths (``feature_groups``, gaussian and binomial, ``l1_ratio`` 1 and
  0.5) against adelie's ``grpnet`` on dense wide, dense tall and sparse designs with groups
  of 2 to 20 columns; ``standardize=False`` on both sides (adelie has no standardize
  argument), ``intercept=True``, ``early_exit=False``, the grid of shrinkage's
  ``lam_max`` down ``--ratio``. adelie runs in its own interpreter (numpy < 2;
  ``ADELIE_PYTHON``, default ``/work/venv-adelie/bin/python``), timed around ``grpnet``
  only. With ``--sgl`` the sparse-group lasso (``group_mix=0.5``) is timed on the same
  designs next to adelie's group lasso (adelie has no L1 inside groups);
* the multi-response gaussian path (``family="mgaussian"``) against scikit-learn's
  ``MultiTaskLasso`` path (``lasso_path`` with a matrix response, what
  ``MultiTaskLassoCV`` runs per fold) along 100 strengths.

Accuracy: every point's objective on each side, evaluated here in NumPy. The two solvers'
tolerances mean different things (shrinkage certifies a duality gap relative to the null
objective, or for GLMs a KKT violation; adelie stops on the size of its coordinate moves),
so each side runs a ladder of tolerances, loosest first, and is timed at the loosest whose
objective is within ``--target`` (relative, default ``1e-6``) of the best objective any run
reached at every ``lam`` (shrinkage's certified reference run at ``--tol-ref`` included);
the table shows that tolerance and the excess. Times are CPU seconds (``process_time``; run
with ``OPENBLAS_NUM_THREADS=1``), the best of ``--repeat`` runs after
a warm-up (compilation excluded).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_groups.py            # everything
    PYTHONPATH=src .venv/bin/python benchmarks/bench_groups.py --quick    # small designs
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.sparse as sp

ADELIE = os.environ.get("ADELIE_PYTHON", "/work/venv-adelie/bin/python")

_WORKER = r"""
import json, sys, time
import numpy as np, scipy.sparse as sp
import adelie as ad
spec = json.load(open(sys.argv[1]))
d = spec["dir"]
if spec["sparse"]:
    X = sp.load_npz(d + "/X.npz").tocsc()
    M = lambda: ad.matrix.sparse(X, method="naive")
else:
    X = np.asfortranarray(np.load(d + "/X.npy"))
    M = lambda: ad.matrix.dense(X, method="naive")
y = np.load(d + "/y.npy"); starts = np.load(d + "/starts.npy"); lams = np.load(d + "/lams.npy")
glm = (ad.glm.gaussian if spec["family"] == "gaussian" else ad.glm.binomial)
times = []
for i, tol in enumerate(spec["tols"]):
    best, state = np.inf, None
    for _ in range(spec["repeat"] + (1 if i == 0 else 0)):  # first: a warm-up run
        m = M()
        t = time.process_time()
        state = ad.grpnet(m, glm(y), groups=starts, alpha=spec["alpha"], lmda_path=lams,
                          tol=tol, irls_tol=tol, max_iters=10**7,
                          early_exit=False, intercept=True, progress_bar=False)
        best = min(best, time.process_time() - t)
    if state.error:
        raise SystemExit(state.error)
    np.save(d + f"/coefs{i}.npy", state.betas.toarray())
    np.save(d + f"/b0{i}.npy", np.asarray(state.intercepts))
    times.append(best)
json.dump({"times": times}, open(d + "/out.json", "w"))
"""


def design(kind, seed=0):
    """``(X, starts, labels, y_gauss, y_binom)``; groups of 2 to 20 contiguous columns."""
    rng = np.random.default_rng(seed)
    n, p = {"wide": (500, 5000), "tall": (20000, 500), "sparse": (10000, 5000),
            "wide-quick": (200, 1000), "tall-quick": (4000, 200),
            "sparse-quick": (2000, 1000)}[kind]
    sizes = []
    while sum(sizes) < p:
        sizes.append(int(rng.integers(2, 21)))
    sizes[-1] -= sum(sizes) - p
    if sizes[-1] < 1:
        sizes.pop()
        sizes[-1] += p - sum(sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    labels = np.repeat(np.arange(len(sizes)), sizes)
    if kind.startswith("sparse"):
        X = sp.random(n, p, density=0.01, format="csc", random_state=seed,
                      data_rvs=lambda k: rng.standard_normal(k))
    else:
        X = np.asfortranarray(rng.standard_normal((n, p)) + 0.4 * rng.standard_normal((n, 1)))
    beta = np.zeros(p)
    for g in rng.choice(len(sizes), 8, replace=False):
        beta[labels == g] = rng.standard_normal(np.sum(labels == g))
    eta = np.asarray(X @ beta)
    eta *= 2.0 / max(np.std(eta), 1e-12)
    y = eta + rng.standard_normal(n)
    yb = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return X, starts, labels, y, yb


def objective(X, y, family, coefs, b0, lam, labels, alpha, mix=0.0):
    eta = b0 + np.asarray(X @ coefs)
    if family == "gaussian":
        loss = 0.5 * np.mean((y - eta) ** 2)
    else:
        loss = np.mean(np.logaddexp(0, eta) - y * eta)
    sq = np.bincount(labels, coefs * coefs)
    l1 = np.bincount(labels, np.abs(coefs))
    pf = np.sqrt(np.bincount(labels))
    pen = np.sum(pf * (alpha * ((1 - mix) * np.sqrt(sq) + mix * l1) + (1 - alpha) / 2 * sq))
    return loss + lam * pen


def run_adelie(X, y, starts, lams, family, alpha, tols, repeat):
    """adelie's grpnet at each of ``tols``: ``[(time, coefs, intercepts), ...]``."""
    with tempfile.TemporaryDirectory() as d:
        if sp.issparse(X):
            sp.save_npz(d + "/X.npz", X)
        else:
            np.save(d + "/X.npy", X)
        for name, arr in (("y", y), ("starts", starts), ("lams", lams)):
            np.save(f"{d}/{name}.npy", arr)
        spec = {"dir": d, "sparse": sp.issparse(X), "family": family, "alpha": alpha,
                "tols": list(tols), "repeat": repeat}
        with open(d + "/spec.json", "w") as fh:
            json.dump(spec, fh)
        with open(d + "/worker.py", "w") as fh:
            fh.write(_WORKER)
        subprocess.run([ADELIE, d + "/worker.py", d + "/spec.json"], check=True)
        with open(d + "/out.json") as fh:
            times = json.load(fh)["times"]
        return [(t, np.load(f"{d}/coefs{i}.npy"), np.load(f"{d}/b0{i}.npy"))
                for i, t in enumerate(times)]


def timed(fn, repeat, warm=True):
    if warm:
        fn()  # warm-up: compilation
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t)
    return best, out


def loosest(runs, objs, best, target):
    """The first run (loosest tolerance first) within ``target`` of ``best`` at every
    ``lam``: ``(tol, time, excess)``; the tightest run when none is."""
    pick = None
    for (tol, t), f in zip(runs, objs):
        pick = (tol, t, float(np.max((f - best) / np.abs(best))))
        if pick[2] <= target:
            break
    return pick


def bench_grpnet(kinds, families, alphas, n_lams, ratio, repeat, tols_ours, tols_adelie,
                 tol_ref, target, sgl):
    """One row per design x family x l1_ratio: each side timed at its loosest tolerance
    whose objective is within ``target`` (relative) of the best objective any run found
    at every ``lam`` (shrinkage's own reference run at ``tol_ref`` included)."""
    from shrinkage import regularization_path

    rows = []
    for kind in kinds:
        X, starts, labels, y, yb = design(kind)
        for family in families:
            target_y = y if family == "gaussian" else yb
            for alpha in alphas:
                lam_max = regularization_path(X, target_y, family=family,
                                              feature_groups=labels, l1_ratio=alpha,
                                              standardize=False, n_lams=1).lam_max
                lams = lam_max * np.logspace(0, np.log10(ratio), n_lams)

                def ours(tol, mix=0.0, X=X, labels=labels, lams=lams, target_y=target_y,
                         family=family, alpha=alpha):
                    return regularization_path(X, target_y, family=family,
                                               feature_groups=labels, l1_ratio=alpha,
                                               group_mix=mix, lams=lams, standardize=False,
                                               tol=tol)

                def obj(coefs, b0, X=X, target_y=target_y, family=family, lams=lams,
                        labels=labels, alpha=alpha):
                    return np.array([objective(X, target_y, family, coefs[k], b0[k], lams[k],
                                               labels, alpha) for k in range(n_lams)])

                _, ref = timed(lambda: ours(tol_ref), 1)  # warm-up and reference
                ad_runs = run_adelie(X, target_y, starts, lams, family, alpha, tols_adelie,
                                     repeat)
                ad_obj = [obj(c, b) for _, c, b in ad_runs]
                best = np.minimum(obj(ref.coefs, ref.intercepts), np.min(ad_obj, axis=0))
                ours_runs, ours_obj = [], []
                for tol in tols_ours:
                    t_s, path = timed(lambda tol=tol: ours(tol), repeat, warm=False)
                    ours_runs.append((tol, t_s))
                    ours_obj.append(obj(path.coefs, path.intercepts))
                    if np.max((ours_obj[-1] - best) / np.abs(best)) <= target:
                        break
                tol_s, t_s, ex_s = loosest(ours_runs, ours_obj, best, target)
                tol_a, t_a, ex_a = loosest([(tol, r[0]) for tol, r in zip(tols_adelie,
                                                                          ad_runs)],
                                           ad_obj, best, target)
                rows.append({
                    "design": f"{kind} {X.shape[0]}x{X.shape[1]}", "family": family,
                    "l1_ratio": alpha, "groups": int(starts.size),
                    "shrinkage_s": round(t_s, 3), "shrinkage_tol": tol_s,
                    "adelie_s": round(t_a, 3), "adelie_tol": tol_a,
                    "speedup": round(t_a / t_s, 2),
                    "excess_shrinkage": ex_s, "excess_adelie": ex_a,
                })
                if sgl:
                    rows[-1]["sgl_mix0.5_s"] = round(timed(
                        lambda tol_s=tol_s: ours(tol_s, 0.5), repeat)[0], 3)
                print(json.dumps(rows[-1]), flush=True)
    return rows


def bench_mgaussian(shape, k, n_lams, repeat, tol):
    from sklearn.linear_model import lasso_path

    from shrinkage import regularization_path

    n, p = shape
    rng = np.random.default_rng(1)
    X = np.asfortranarray(rng.standard_normal((n, p)))
    W = np.zeros((p, k))
    W[:10] = rng.standard_normal((10, k))
    Y = X @ W + rng.standard_normal((n, k))
    first = regularization_path(X, Y, family="mgaussian", standardize=False, n_lams=n_lams,
                                early_stop=False, tol=tol)
    lams = first.lams
    t_s, path = timed(lambda: regularization_path(
        X, Y, family="mgaussian", standardize=False, lams=lams, tol=tol), repeat)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)

    def sk():
        return lasso_path(Xc, Yc, alphas=lams, tol=1e-10, max_iter=100_000)

    t_k, (_, coefs_k, _) = timed(sk, 1)
    obj = []
    for k_ in range(n_lams):
        for C, b0 in ((path.coefs[k_], path.intercepts[k_]),
                      (coefs_k[:, :, k_].T, Y.mean(0) - X.mean(0) @ coefs_k[:, :, k_].T)):
            R = Y - b0 - X @ C
            obj.append(0.5 * np.sum(R * R) / n + lams[k_] * np.sum(np.linalg.norm(C, axis=1)))
    obj = np.array(obj).reshape(n_lams, 2)
    best = obj.min(axis=1)
    row = {"design": f"mgaussian {n}x{p}, k={k}", "n_lams": n_lams,
           "shrinkage_path_s": round(t_s, 3), "sklearn_lasso_path_s": round(t_k, 3),
           "speedup": round(t_k / t_s, 2),
           "excess_shrinkage": float(np.max((obj[:, 0] - best) / best)),
           "excess_sklearn": float(np.max((obj[:, 1] - best) / best))}
    print(json.dumps(row), flush=True)
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small designs (a minute)")
    ap.add_argument("--kinds", nargs="*", default=None)
    ap.add_argument("--families", nargs="*", default=["gaussian", "binomial"])
    ap.add_argument("--alphas", nargs="*", type=float, default=[1.0, 0.5])
    ap.add_argument("--n-lams", type=int, default=50)
    ap.add_argument("--ratio", type=float, default=0.01)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--tols", nargs="*", type=float, default=[1e-3, 1e-4, 1e-5, 1e-6, 1e-7],
                    help="shrinkage's certificate tolerances, loosest first")
    ap.add_argument("--adelie-tols", nargs="*", type=float,
                    default=[1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12], help="loosest first")
    ap.add_argument("--tol-ref", type=float, default=1e-8,
                    help="shrinkage's reference run (certified duality gap / KKT)")
    ap.add_argument("--target", type=float, default=1e-6,
                    help="equal accuracy: largest relative objective excess")
    ap.add_argument("--sgl", action="store_true",
                    help="also time the sparse-group lasso (group_mix=0.5)")
    ap.add_argument("--skip-mgaussian", action="store_true")
    args = ap.parse_args(argv)
    kinds = args.kinds or (["wide-quick", "tall-quick", "sparse-quick"] if args.quick
                           else ["wide", "tall", "sparse"])
    bench_grpnet(kinds, args.families, args.alphas, args.n_lams, args.ratio, args.repeat,
                 args.tols, args.adelie_tols, args.tol_ref, args.target, args.sgl)
    if not args.skip_mgaussian:
        shape = (500, 200) if args.quick else (2000, 1000)
        bench_mgaussian(shape, 5, 100, args.repeat, 1e-8)


if __name__ == "__main__":
    sys.exit(main())
