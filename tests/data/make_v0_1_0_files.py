"""Write the model files of ``tests/data/v0_1_0/`` with shrinkage 0.1.0.

Run once, with the code of shrinkage 0.1.0 (commit 4b0bb7c, before the package was split
into layers), from the repository root::

    python tests/data/make_v0_1_0_files.py

It saves one file per kind of object that version could store (estimators, results,
the command line's model) and ``expected.npz``: the predictions and fields each object
gave right after fitting. ``tests/test_io_compat.py`` loads the files with the current
code and checks that they predict identically. Later versions must not rerun this
script: the files stand for what users of 0.1.0 have on disk.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path as FilePath

import numpy as np

HERE = FilePath(__file__).resolve().parent
OUT = HERE / "v0_1_0"


def main():
    from sklearn.datasets import load_diabetes, load_iris

    import shrinkage
    from shrinkage import io as sio
    from shrinkage.bayes import BayesianLasso, EvidenceRidge, glm_evidence, implied_prior
    from shrinkage.cli import main as cli_main
    from shrinkage.cv import cross_validate, cross_validate_elastic_net
    from shrinkage.estimators import PenalizedClassifier, PenalizedRegressor
    from shrinkage.relaxed import cross_validate_relaxed
    from shrinkage.ridge import ridge_path

    assert shrinkage.__version__ == "0.1.0"
    OUT.mkdir(exist_ok=True)
    X, y = load_diabetes(return_X_y=True)
    Xq = X[:40]
    iris_X, iris_y = load_iris(return_X_y=True)
    expected = {"X": Xq, "iris_X": iris_X[::5]}

    def save(obj, name):
        sio.save(obj, OUT / f"{name}.npz", overwrite=True)

    reg = PenalizedRegressor(cv=5, n_lams=30, random_state=0).fit(X, y)
    save(reg, "regressor_gaussian")
    expected["regressor_gaussian"] = reg.predict(Xq)

    pois = PenalizedRegressor(family="poisson", lam=0.01).fit(X, np.round(y / 25))
    save(pois, "regressor_poisson")
    expected["regressor_poisson"] = pois.predict(Xq)

    clf = PenalizedClassifier(cv=3, n_lams=20, random_state=0).fit(iris_X, iris_y)
    save(clf, "classifier_multinomial")
    expected["classifier_multinomial"] = clf.predict_proba(iris_X[::5])

    path = shrinkage.regularization_path(X, (y > 140).astype(float), family="binomial",
                                         n_lams=25)
    save(path, "path_binomial")
    expected["path_binomial"] = path.linear_predictor(Xq)

    cv = cross_validate(X, y, cv=5, n_lams=30, random_state=1)
    save(cv, "cvresult")
    expected["cvresult"] = np.concatenate([cv.mean, cv.se, [cv.lam_chosen]])

    ridge = ridge_path(X, y, n_lams=30)
    save(ridge, "ridge_result")
    coef, inter = ridge.chosen()
    expected["ridge_result"] = Xq @ coef + inter

    enet = cross_validate_elastic_net(X, y, l1_ratios=(0.5, 1.0), cv=4, n_lams=20,
                                      random_state=0)
    save(enet, "enet_cv")
    expected["enet_cv"] = np.array([enet.l1_ratio_chosen, enet.lam_chosen])

    relaxed = cross_validate_relaxed(X, y, cv=4, n_lams=20, random_state=0)
    save(relaxed, "relaxed_cv")
    expected["relaxed_cv"] = np.asarray(relaxed.relaxed_coefs)

    evid = EvidenceRidge().fit(X, y)
    save(evid, "evidence_ridge")
    expected["evidence_ridge"] = evid.predict(Xq)

    blasso = BayesianLasso(n_draws=200, burn_in=100, n_chains=2, random_state=0).fit(X, y)
    save(blasso, "bayesian_lasso")
    expected["bayesian_lasso"] = blasso.predict(Xq)

    prior = implied_prior(0.5, l1_ratio=1.0, noise_sd=2.0, n_samples=100)
    save(prior, "prior")
    expected["prior"] = prior.log_density(np.linspace(-1, 1, 5))

    evidence = glm_evidence(X[:, :4], (y > 140).astype(float), family="binomial")
    save(evidence, "glm_evidence")
    expected["glm_evidence"] = np.asarray([evidence.lam_best, *evidence.coef], dtype=float)

    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "diabetes.csv")
        names = [f"x{j}" for j in range(X.shape[1])]
        np.savetxt(csv, np.column_stack([X, y]), delimiter=",",
                   header=",".join([*names, "y"]), comments="")
        try:
            cli_main(["fit", csv, "--target", "y", "--folds", "5", "--seed", "0",
                      "--out", os.path.join(tmp, "run")])
        except SystemExit as done:  # click ends the command with sys.exit
            assert not done.code, done.code
        model_file = os.path.join(tmp, "run", "model.npz")
        model = sio.load(model_file)
        FilePath(OUT / "cli_model.npz").write_bytes(FilePath(model_file).read_bytes())
    expected["cli_model"] = model.linear_predictor(Xq)

    np.savez(OUT / "expected.npz", **expected)
    print(f"wrote {len(expected) - 2} files to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
