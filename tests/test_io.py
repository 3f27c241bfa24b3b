"""Safe persistence: exact round trips, atomic writes, refusal of bad files."""

import json
import os
import time
import zipfile

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin

from shrinkage import io as sio
from shrinkage.datasets import make_noisy_curve, make_sparse_regression
from shrinkage.results import CVResult, Path, SweepResult


# --------------------------------------------------------------------------- fixtures
def make_path(n_lams=6, p=4, seed=0):
    rng = np.random.default_rng(seed)
    coefs = rng.standard_normal((n_lams, p))
    coefs[0] = 0.0
    return Path(
        lams=np.logspace(0, -2, n_lams),
        coefs=coefs,
        intercepts=rng.standard_normal(n_lams),
        nnz=np.count_nonzero(coefs, axis=1),
        dev_ratio=np.linspace(0, 0.9, n_lams),
        null_deviance=12.5,
        certificate=np.full(n_lams, 1e-9),
        certificate_kind="duality_gap",
        converged=np.ones(n_lams, dtype=bool),
        n_iter=np.arange(n_lams),
        family="gaussian",
        l1_ratio=1.0,
        tol=1e-7,
        standardize=True,
        fit_intercept=True,
        stopped_early=True,
        stop_reason="deviance explained changed by less than 1e-05",
        feature_names=np.array([f"f{j}" for j in range(p)]),
        lam_max=1.0,
        extra={"nested": {"a": [1, 2.5, float("nan"), float("-inf")], "t": (1, "x")},
               "arr": np.arange(3, dtype=np.int32), "flag": np.bool_(True)},
    )


def make_cv(n_lams=6):
    rng = np.random.default_rng(1)
    scores = rng.uniform(1, 2, (5, n_lams))
    scores[0, -1] = np.nan
    return CVResult(
        lams=np.logspace(0, -2, n_lams), fold_scores=scores, fold_weights=np.full(5, 20.0),
        mean=np.nanmean(scores, axis=0), se=np.nanstd(scores, axis=0) / 2, metric="mse",
        greater_is_better=False, index_min=3, index_chosen=2, rule="1se",
        nnz=np.arange(n_lams), fold_ids=rng.integers(0, 5, (2, 100)), random_state=7,
        extra={"repeat_lam_chosen": np.array([0.1, 0.2])},
    )


def make_sweep():
    rng = np.random.default_rng(2)
    return SweepResult(
        knob="weight_decay", values=np.logspace(-5, -1, 5), stronger="larger",
        seed_scores=rng.uniform(size=(3, 5)), mean=rng.uniform(size=5),
        se=rng.uniform(size=5) / 10, metric="val_loss", greater_is_better=False,
        index_min=1, index_chosen=2, rule="1se", seeds=np.array([0, 1, 2]),
        curves={"train": rng.uniform(size=(3, 5, 8)), "val": rng.uniform(size=(3, 5, 8))},
    )


def assert_same(a, b):
    """Deep equality: arrays equal with the same dtype, NaN equal to NaN."""
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray)
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys()
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


def assert_dataclass_same(a, b):
    assert type(a) is type(b)
    for name in a.__dataclass_fields__:
        assert_same(getattr(a, name), getattr(b, name))


# --------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("make", [make_path, make_cv, make_sweep])
def test_results_round_trip_exactly(tmp_path, make):
    obj = make()
    target = sio.save(obj, tmp_path / "r.npz")
    back = sio.load(target)
    assert_dataclass_same(obj, back)
    assert sio.read_metadata(target)["kind"] == type(obj).__name__


def test_path_round_trip_gives_identical_predictions(tmp_path):
    path = make_path()
    X = np.random.default_rng(3).standard_normal((9, 4))
    back = sio.load(sio.save(path, tmp_path / "p.npz"))
    np.testing.assert_array_equal(back.linear_predictor(X), path.linear_predictor(X))
    assert back.extra["flag"] is True  # numpy scalars come back as Python scalars


def test_datasets_round_trip(tmp_path):
    d = make_sparse_regression(20, 5, random_state=1)
    assert_dataclass_same(d, sio.load(sio.save(d, tmp_path / "d.npz")))
    c = make_noisy_curve(12)
    assert_dataclass_same(c, sio.load(sio.save(c, tmp_path / "c.npz")))


def test_other_result_dataclasses_round_trip(tmp_path):
    from shrinkage.bayes.priors import implied_prior
    from shrinkage.tuning.ridge import ridge_path

    d = make_sparse_regression(30, 6, random_state=4)
    Y = np.c_[d.y, -d.y + 1]
    rr = ridge_path(d.X, Y, n_lams=5)  # multi-target: a tuple of CVResults inside
    back = sio.load(sio.save(rr, tmp_path / "ridge.npz"))
    assert type(back) is type(rr)
    assert_dataclass_same(rr.path, back.path)
    assert_dataclass_same(rr.cv, back.cv)
    assert isinstance(back.cv_per_target, tuple)
    for a, b in zip(rr.cv_per_target, back.cv_per_target):
        assert_dataclass_same(a, b)
    assert sio.read_metadata(tmp_path / "ridge.npz")["kind"] == "shrinkage.tuning.ridge:RidgeResult"
    prior = implied_prior(0.1, l1_ratio=0.5, noise_sd=2.0, n_samples=50)
    assert sio.load(sio.save(prior, tmp_path / "prior.npz")) == prior


def test_only_shrinkage_dataclasses_are_resolved_by_name(tmp_path):
    target = sio.save(make_cv(), tmp_path / "m.npz")
    members = _members(target)
    meta = _meta(members)
    meta["root"]["__obj__"] = "subprocess:CompletedProcess"
    members["metadata.json"] = _with_digest(meta)
    _rewrite(target, members)
    with pytest.raises(sio.ModelFileError, match="unknown type 'subprocess:CompletedProcess'"):
        sio.load(target)


class TinyRidge(RegressorMixin, BaseEstimator):
    """A minimal scikit-learn estimator: ridge by normal equations."""

    def __init__(self, alpha=1.0, feature_names=None):
        self.alpha = alpha
        self.feature_names = feature_names

    def fit(self, X, y):
        X = np.asarray(X, dtype=float)
        xm, ym = X.mean(0), y.mean()
        Xc = X - xm
        self.coef_ = np.linalg.solve(Xc.T @ Xc + self.alpha * np.eye(X.shape[1]), Xc.T @ (y - ym))
        self.intercept_ = float(ym - xm @ self.coef_)
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.array([f"c{j}" for j in range(X.shape[1])], dtype=object)
        return self

    def predict(self, X):
        return np.asarray(X, dtype=float) @ self.coef_ + self.intercept_


def test_registered_estimator_round_trip_gives_identical_predictions(tmp_path):
    sio.register_estimator(TinyRidge)
    d = make_sparse_regression(40, 6, random_state=2)
    est = TinyRidge(alpha=0.5, feature_names=("a", "b")).fit(d.X, d.y)
    back = sio.load(sio.save(est, tmp_path / "e.npz"))
    assert type(back) is TinyRidge
    assert back.get_params() == est.get_params()
    np.testing.assert_array_equal(back.predict(d.X), est.predict(d.X))
    assert back.feature_names_in_.dtype == object
    assert list(back.feature_names_in_) == list(est.feature_names_in_)


def test_evidence_ridge_round_trip_gives_identical_predictions(tmp_path):
    from shrinkage.bayes import EvidenceRidge

    d = make_sparse_regression(50, 8, random_state=3)
    est = EvidenceRidge().fit(d.X, d.y)
    back = sio.load(sio.save(est, tmp_path / "ev.npz"))
    assert type(back) is EvidenceRidge and back.get_params() == est.get_params()
    mean, sd = est.predict(d.X, return_std=True)
    mean2, sd2 = back.predict(d.X, return_std=True)
    np.testing.assert_array_equal(mean2, mean)
    np.testing.assert_array_equal(sd2, sd)
    np.testing.assert_array_equal(back.credible_intervals(0.8), est.credible_intervals(0.8))
    assert back.prior().describe() == est.prior().describe()


def test_real_torch_sweep_round_trips(tmp_path):
    import torch

    from shrinkage.torch.sweep import sweep

    rng = np.random.default_rng(0)
    X = torch.tensor(rng.standard_normal((30, 2)), dtype=torch.float32)
    y = X.sum(1, keepdim=True)
    result = sweep(lambda: torch.nn.Linear(2, 1), (X[:20], y[:20]), (X[20:], y[20:]),
                   knob="weight_decay", values=[1e-3, 1e-1], seeds=(0, 1), epochs=3,
                   progress=False, n_jobs=1)
    assert_dataclass_same(result, sio.load(sio.save(result, tmp_path / "s.npz")))


def test_torch_mlp_estimators_round_trip(tmp_path):
    import torch

    from shrinkage.torch.estimators import MLPClassifier, MLPRegressor

    d = make_sparse_regression(60, 5, random_state=0)
    reg = MLPRegressor(hidden_layer_sizes=(8,), dropout=0.1, tune="weight_decay",
                       tune_values=[0.0, 0.1], epochs=4, random_state=0).fit(d.X, d.y)
    back = sio.load(sio.save(reg, tmp_path / "reg.npz"))
    np.testing.assert_array_equal(back.predict(d.X), reg.predict(d.X))
    assert not back.model_.training
    assert_dataclass_same(reg.sweep_, back.sweep_)
    labels = np.where(d.y > 0, "x", "y")
    clf = MLPClassifier(hidden_layer_sizes=(6, 4), activation="gelu", tune=None, epochs=4,
                        random_state=0).fit(d.X, labels)
    back = sio.load(sio.save(clf, tmp_path / "clf.npz"))
    np.testing.assert_array_equal(back.predict_proba(d.X), clf.predict_proba(d.X))
    assert list(back.classes_) == ["x", "y"]
    with pytest.raises(TypeError, match="torch layer of type Conv1d"):
        sio.save(torch.nn.Sequential(torch.nn.Conv1d(1, 1, 1)), tmp_path / "conv.npz")
    # A layer type that is not on the allow-list is refused when loading.
    target = sio.save(torch.nn.Sequential(torch.nn.ReLU()), tmp_path / "relu.npz")
    members = _members(target)
    meta = _meta(members)
    layer = meta["root"]["state"]["__dict__"]["layers"]["__list__"][0]["__dict__"]
    layer["type"] = "Conv1d"
    members["metadata.json"] = _with_digest(meta)
    _rewrite(target, members)
    with pytest.raises(sio.ModelFileError, match="unknown torch layer type 'Conv1d'"):
        sio.load(target)


def test_penalized_estimators_round_trip(tmp_path):
    import pandas as pd

    from shrinkage.estimators import PenalizedClassifier, PenalizedRegressor

    d = make_sparse_regression(60, 6, random_state=5)
    reg = PenalizedRegressor(cv=3, random_state=0, l1_ratio=0.5).fit(d.X, d.y)
    back = sio.load(sio.save(reg, tmp_path / "reg.npz"))
    assert type(back) is PenalizedRegressor and back.get_params() == reg.get_params()
    np.testing.assert_array_equal(back.predict(d.X), reg.predict(d.X))
    assert_dataclass_same(reg.path_, back.path_)
    assert_dataclass_same(reg.cv_, back.cv_)
    assert back.lam_ == reg.lam_
    X = pd.DataFrame(d.X, columns=[f"c{j}" for j in range(6)])
    labels = np.array(["lo", "mid", "hi"])[np.digitize(d.y, np.quantile(d.y, [1 / 3, 2 / 3]))]
    clf = PenalizedClassifier(cv=3, random_state=0, lam=0.05).fit(X, labels)
    back = sio.load(sio.save(clf, tmp_path / "clf.npz"))
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(back.predict(X), clf.predict(X))
    assert list(back.feature_names_in_) == list(X.columns)
    assert list(back.classes_) == list(clf.classes_)


def test_info_is_stored_and_read_back(tmp_path):
    target = sio.save(make_cv(), tmp_path / "cv.npz", info={"command": "shrinkage fit x"})
    meta = sio.read_metadata(target)
    assert meta["info"] == {"command": "shrinkage fit x"}
    assert meta["format_version"] == sio.FORMAT_VERSION
    from shrinkage import __version__

    assert meta["library_version"] == __version__


def test_expected_type_is_checked(tmp_path):
    target = sio.save(make_cv(), tmp_path / "cv.npz")
    assert isinstance(sio.load(target, expected=CVResult), CVResult)
    with pytest.raises(TypeError, match="holds a CVResult"):
        sio.load(target, expected=Path)


# --------------------------------------------------------------------------- writing
def test_refuses_to_overwrite_without_flag(tmp_path):
    target = tmp_path / "m.npz"
    sio.save(make_cv(), target)
    before = target.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        sio.save(make_sweep(), target)
    assert target.read_bytes() == before
    sio.save(make_sweep(), target, overwrite=True)
    assert isinstance(sio.load(target), SweepResult)


def test_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    target = tmp_path / "m.npz"

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", boom)
    with pytest.raises(OSError, match="disk full"):
        sio.save(make_cv(), target)
    assert os.listdir(tmp_path) == []


def test_failed_overwrite_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "m.npz"
    sio.save(make_cv(), target)
    before = target.read_bytes()
    monkeypatch.setattr(np.lib.format, "write_array",
                        lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        sio.save(make_sweep(), target, overwrite=True)
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.npz"]


def test_written_file_has_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        target = sio.save(make_cv(), tmp_path / "m.npz")
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o644


def test_save_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        sio.save(make_cv(), tmp_path / "no" / "m.npz")
    with pytest.raises(IsADirectoryError):
        sio.save(make_cv(), tmp_path)
    with pytest.raises(TypeError, match="not supported"):
        sio.save({"f": lambda x: x}, tmp_path / "a.npz")
    with pytest.raises(TypeError, match="would need pickle"):
        sio.save(np.array([{"a": 1}], dtype=object), tmp_path / "b.npz")
    with pytest.raises(TypeError, match="dict keys must be str"):
        sio.save({1: 2}, tmp_path / "c.npz")
    with pytest.raises(TypeError, match="JSON-compatible"):
        sio.save(make_cv(), tmp_path / "d.npz", info={"x": object()})
    assert os.listdir(tmp_path) == []


def test_register_type_errors():
    class NotADataclass:
        pass

    with pytest.raises(TypeError, match="to_state and from_state"):
        sio.register_type(NotADataclass)
    with pytest.raises(ValueError, match="already registered"):
        sio.register_type(type("Path", (), {}), name="Path", to_state=dict, from_state=dict)


# --------------------------------------------------------------------------- refusing
def _members(target):
    with zipfile.ZipFile(target) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _rewrite(target, members):
    os.unlink(target)
    with zipfile.ZipFile(target, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _meta(members):
    return json.loads(members["metadata.json"])


def _with_digest(meta):
    meta["digest"] = sio._meta_digest(meta)
    return json.dumps(meta).encode()


class _Trap:
    """Unpickling this creates a file: proof that a payload was executed."""

    def __init__(self, sentinel):
        self.sentinel = str(sentinel)

    def __reduce__(self):
        return (open, (self.sentinel, "w"))


def _pickled_npy(tmp_path, sentinel):
    import io as _io

    buf = _io.BytesIO()
    np.save(buf, np.array([_Trap(sentinel)], dtype=object), allow_pickle=True)
    return buf.getvalue()


def test_pickle_payload_declared_as_object_is_refused(tmp_path):
    target = sio.save(make_cv(), tmp_path / "m.npz")
    sentinel = tmp_path / "executed"
    members = _members(target)
    meta = _meta(members)
    meta["arrays"]["a0"]["dtype"] = "|O"
    members["metadata.json"] = _with_digest(meta)
    members["a0.npy"] = _pickled_npy(tmp_path, sentinel)
    _rewrite(target, members)
    with pytest.raises(sio.ModelFileError, match="pickle"):
        sio.load(target)
    assert not sentinel.exists()


def test_pickle_payload_disguised_as_float_is_refused(tmp_path):
    target = sio.save(make_cv(), tmp_path / "m.npz")
    sentinel = tmp_path / "executed"
    members = _members(target)
    members["a0.npy"] = _pickled_npy(tmp_path, sentinel)
    _rewrite(target, members)
    with pytest.raises(sio.ModelFileError, match="refusing to load array 'a0'"):
        sio.load(target)
    assert not sentinel.exists()


def test_plain_pickle_file_is_refused(tmp_path):
    sentinel = tmp_path / "executed"
    target = tmp_path / "m.npz"
    target.write_bytes(_pickled_npy(tmp_path, sentinel))
    with pytest.raises(sio.ModelFileError, match="not a shrinkage file"):
        sio.load(target)
    assert not sentinel.exists()


def test_tampered_array_is_refused(tmp_path):
    target = sio.save(make_cv(), tmp_path / "m.npz")
    members = _members(target)
    import io as _io

    with np.load(target) as npz:
        arr = npz["a0"].copy()
    arr[0] *= 2.0  # same dtype and shape, different values
    buf = _io.BytesIO()
    np.save(buf, arr)
    members["a0.npy"] = buf.getvalue()
    _rewrite(target, members)
    with pytest.raises(sio.ModelFileError, match="checksum"):
        sio.load(target)


def test_tampered_metadata_is_refused(tmp_path):
    target = sio.save(make_cv(), tmp_path / "m.npz")
    members = _members(target)
    meta = _meta(members)
    meta["root"]["state"]["__dict__"]["index_chosen"] = 0
    members["metadata.json"] = json.dumps(meta).encode()
    _rewrite(target, members)
    with pytest.raises(sio.ModelFileError, match="checksum"):
        sio.load(target)


def test_future_version_is_refused_with_advice(tmp_path):
    target = sio.save(make_cv(), tmp_path / "m.npz")
    members = _members(target)
    meta = _meta(members)
    meta["format_version"] = sio.FORMAT_VERSION + 1
    meta["library_version"] = "9.9.9"
    members["metadata.json"] = _with_digest(meta)
    _rewrite(target, members)
    with pytest.raises(sio.ModelFileError, match="upgrade shrinkage"):
        sio.load(target)
    with pytest.raises(sio.ModelFileError, match="9.9.9"):
        sio.read_metadata(target)


def test_unlisted_member_is_refused(tmp_path):
    target = sio.save(make_cv(), tmp_path / "m.npz")
    members = _members(target)
    members["extra.npy"] = members["a0.npy"]
    _rewrite(target, members)
    with pytest.raises(sio.ModelFileError, match="not listed"):
        sio.load(target)


def test_missing_member_is_refused(tmp_path):
    target = sio.save(make_cv(), tmp_path / "m.npz")
    members = _members(target)
    del members["a1.npy"]
    _rewrite(target, members)
    with pytest.raises(sio.ModelFileError, match="missing array 'a1'"):
        sio.load(target)


def test_foreign_estimator_class_is_never_imported(tmp_path):
    target = sio.save(make_cv(), tmp_path / "m.npz")
    members = _members(target)
    meta = _meta(members)
    meta["root"] = {"__estimator__": "subprocess:Popen", "params": {"__dict__": {}},
                    "fitted": {"__dict__": {}}}
    meta["arrays"] = {}
    members = {"metadata.json": _with_digest(meta)}
    _rewrite(target, members)
    with pytest.raises(sio.ModelFileError, match="not a shrinkage estimator"):
        sio.load(target)


def test_estimator_attributes_cannot_reach_dunders(tmp_path):
    sio.register_estimator(TinyRidge)
    d = make_sparse_regression(20, 5, random_state=2)
    target = sio.save(TinyRidge().fit(d.X, d.y), tmp_path / "e.npz")
    members = _members(target)
    meta = _meta(members)
    meta["root"]["fitted"]["__dict__"]["__class__"] = "x"
    members["metadata.json"] = _with_digest(meta)
    _rewrite(target, members)
    with pytest.raises(sio.ModelFileError, match="bad attribute name '__class__'"):
        sio.load(target)


def test_corrupt_and_foreign_files_are_refused(tmp_path):
    good = sio.save(make_cv(), tmp_path / "m.npz")
    data = good.read_bytes()
    truncated = tmp_path / "t.npz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(sio.ModelFileError):
        sio.load(truncated)
    garbage = tmp_path / "g.npz"
    garbage.write_bytes(b"this is not a model" * 10)
    with pytest.raises(sio.ModelFileError, match="not a shrinkage file"):
        sio.load(garbage)
    plain = tmp_path / "plain.npz"
    np.savez(plain, a=np.arange(3))
    with pytest.raises(sio.ModelFileError, match="no metadata.json"):
        sio.load(plain)
    with pytest.raises(FileNotFoundError):
        sio.load(tmp_path / "missing.npz")
    with pytest.raises(IsADirectoryError):
        sio.load(tmp_path)


# --------------------------------------------------------------------------- hostile files
# The metadata digest is recomputed after each change, as whoever edits a file can do: the
# decoder's own checks must refuse what is wrong, with ModelFileError and nothing else.
def _tamper(target, change):
    members = _members(target)
    meta = _meta(members)
    change(meta)
    members["metadata.json"] = _with_digest(meta)
    _rewrite(target, members)


def _state(meta):
    return meta["root"]["state"]["__dict__"]


def _set(where, key, value):
    return lambda meta: where(meta).__setitem__(key, value)


def _arrays(meta):
    return meta["arrays"]


def _a0(meta):
    return meta["arrays"]["a0"]


BAD_METADATA = [
    ("shape a string", _set(_a0, "shape", "6"), "bad shape"),
    ("negative dim", _set(_a0, "shape", [-1]), "bad shape"),
    ("bool dim", _set(_a0, "shape", [True]), "bad shape"),
    ("float dim", _set(_a0, "shape", [6.0]), "bad shape"),
    ("too many dims", _set(_a0, "shape", [1] * 40), "bad shape"),
    ("absurd size", _set(_a0, "shape", [2**40, 2**40]), "more than the limit"),
    ("overflowing size", _set(_a0, "shape", [2**62] * 4), "more than the limit"),
    ("unknown dtype", _set(_a0, "dtype", "not-a-dtype"), "unknown dtype"),
    ("structured dtype", _set(_a0, "dtype", "<f8,<i4"), "not a supported dtype"),
    ("dtype a number", _set(_a0, "dtype", 8), "bad dtype"),
    ("bad digest", _set(_a0, "sha256", None), "bad checksum"),
    ("array entry a string", _set(_arrays, "a0", "x"), "malformed"),
    ("array entry extra key", lambda m: _a0(m).update(x=1), "malformed"),
    ("array table a list", _set(lambda m: m, "arrays", []), "no array table"),
    ("format_version a float", _set(lambda m: m, "format_version", 1.0), "format_version"),
    ("format_version a bool", _set(lambda m: m, "format_version", True), "format_version"),
    ("format_version zero", _set(lambda m: m, "format_version", 0), "format_version"),
    ("kind a number", _set(lambda m: m, "kind", 5), "no valid kind"),
    ("info a list", _set(lambda m: m, "info", []), "no valid info"),
    ("root missing", lambda m: m.pop("root"), "no root"),
    ("root a list", _set(lambda m: m, "root", [1]), "unrecognised value"),
    ("root a bare dict", _set(lambda m: m, "root", {"a": 1}), "unrecognised value"),
    ("two markers", lambda m: m["root"].update({"__list__": []}), "unrecognised value"),
    ("state missing", lambda m: m["root"].pop("state"), "malformed __obj__ node"),
    ("extra key", lambda m: m["root"].update(x=1), "malformed __obj__ node"),
    ("type name a list", _set(lambda m: m["root"], "__obj__", ["CVResult"]), "unknown type"),
    ("private class", _set(lambda m: m["root"], "__obj__", "shrinkage.io.codec:_TypeEntry"),
     "unknown type"),
    ("state a list", _set(lambda m: m["root"], "state", {"__list__": []}), "expected a dict"),
    ("__list__ holding a dict", _set(_state, "extra", {"__list__": {}}), "expected list"),
    ("__dict__ holding a list", _set(_state, "extra", {"__dict__": []}), "expected dict"),
    ("bad float marker", _set(_state, "metric", {"__float__": "1e999"}), "bad float marker"),
    ("array flag a string", lambda m: _state(m)["lams"].update(scalar="yes"), "expected bool"),
    ("scalar flag on a vector", lambda m: _state(m)["lams"].update(scalar=True), "no scalar"),
    ("object flag on floats", lambda m: _state(m)["lams"].update(object=True),
     "cannot hold strings"),
    ("array used twice", _set(_state, "se", {"__array__": "a0"}), "twice"),
    ("array name a number", _set(_state, "se", {"__array__": 0}), "missing array"),
    ("field of the wrong kind", _set(_state, "metric", 5), "field 'metric' of CVResult"),
    ("array field a string", _set(_state, "lams", "x"), "field 'lams' of CVResult"),
    ("unknown field", _set(_state, "bogus", 1), r"no fields \['bogus'\]"),
    ("missing field", lambda m: _state(m).pop("metric"), r"lacks the fields \['metric'\]"),
]


@pytest.mark.parametrize("change, match", [case[1:] for case in BAD_METADATA],
                         ids=[case[0] for case in BAD_METADATA])
def test_malformed_metadata_is_refused(tmp_path, change, match):
    target = sio.save(make_cv(), tmp_path / "m.npz")
    _tamper(target, change)
    with pytest.raises(sio.ModelFileError, match=match):
        sio.load(target)


def _npy_with_header(header, data=b"\0" * 48):
    text = (header + "\n").encode("latin1")
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + data


@pytest.mark.parametrize("header, match", [
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), 'x': '''", "bad .npy header"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (6,)", "bad .npy header"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (10**30,), }", "bad .npy header"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (6L,), }", "bad .npy header"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }", "it holds <f8"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (-6,), }", "bad .npy header"),
    ("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (6,), }", "bad .npy header"),
    ("{'descr': '|O', 'fortran_order': False, 'shape': (6,), }", "it holds |O"),
    ("{'descr': 'f8\\x', 'fortran_order': False, 'shape': (6,), }", "bad .npy header"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }\n" + " " * 16000,
     "bad .npy header"),
    ("{'descr': '" + "(" * 3000 + "', }", "bad .npy header"),
])
def test_malformed_npy_headers_are_refused(tmp_path, header, match):
    target = sio.save(make_cv(), tmp_path / "m.npz")  # a0: lams, 6 float64
    members = _members(target)
    members["a0.npy"] = _npy_with_header(header)
    _rewrite(target, members)
    with pytest.raises(sio.ModelFileError, match=match):
        sio.load(target)


def test_npy_data_of_the_wrong_length_is_refused(tmp_path):
    target = sio.save(make_cv(), tmp_path / "m.npz")
    members = _members(target)
    good = members["a0.npy"]
    for data, match in ((good[:-8], "truncated"), (good + b"\0", "bytes after its data")):
        _rewrite(target, {**members, "a0.npy": data})
        with pytest.raises(sio.ModelFileError, match=match):
            sio.load(target)


# --------------------------------------------------------------------------- zip bombs
BOMB_BYTES = 50 << 20


def _bomb(tmp_path):
    """A file whose a0 is declared (10,) float64 but whose member inflates to 50 MB."""
    target = sio.save(make_cv(), tmp_path / "m.npz")
    _tamper(target, _set(_a0, "shape", [10]))
    members = _members(target)
    import io as _io

    buf = _io.BytesIO()
    np.save(buf, np.zeros(10))
    members["a0.npy"] = buf.getvalue() + bytes(BOMB_BYTES)
    os.unlink(target)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    assert target.stat().st_size < BOMB_BYTES // 100
    return target, len(buf.getvalue())


def _patch_recorded_size(target, member, size):
    """Make the zip's records (central directory and local header) claim ``size``."""
    data = bytearray(target.read_bytes())
    name = member.encode()
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:  # central directory entries: uncompressed size at +24, name at +46
        length = int.from_bytes(data[pos + 28:pos + 30], "little")
        if data[pos + 46:pos + 46 + length] == name:
            data[pos + 24:pos + 28] = size.to_bytes(4, "little")
            local = int.from_bytes(data[pos + 42:pos + 46], "little")
            data[local + 22:local + 26] = size.to_bytes(4, "little")
        pos = data.find(b"PK\x01\x02", pos + 4)
    target.write_bytes(bytes(data))


def _peak_memory(func):
    import tracemalloc

    tracemalloc.start()
    try:
        func()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_member_inflating_past_its_declared_shape_is_refused_before_reading(tmp_path):
    target, _ = _bomb(tmp_path)

    def load():
        with pytest.raises(sio.ModelFileError, match="'a0.npy' would inflate to 5242"):
            sio.load(target)

    assert _peak_memory(load) < 5 << 20


def test_member_whose_zip_record_lies_about_its_size_is_not_inflated(tmp_path):
    target, honest = _bomb(tmp_path)
    _patch_recorded_size(target, "a0.npy", honest)  # claims exactly a (10,) array

    def load():
        with pytest.raises(sio.ModelFileError, match="a0"):
            sio.load(target)

    assert _peak_memory(load) < 5 << 20


def test_oversized_metadata_is_refused(tmp_path, monkeypatch):
    from shrinkage.io import limits

    target = sio.save(make_cv(), tmp_path / "m.npz")
    monkeypatch.setattr(limits, "MAX_METADATA_BYTES", 1000)
    with pytest.raises(sio.ModelFileError, match="'metadata.json' would inflate to"):
        sio.load(target)
    size = len(_members(target)["metadata.json"])
    _patch_recorded_size(target, "metadata.json", 900)  # a record that lies
    with pytest.raises(sio.ModelFileError, match="metadata"):
        sio.load(target)
    assert size > 1000


def test_arrays_over_the_total_limit_are_refused(tmp_path, monkeypatch):
    from shrinkage.io import limits

    target = sio.save(make_cv(), tmp_path / "m.npz")
    monkeypatch.setattr(limits, "MAX_ARRAY_BYTES", 100)  # each array fits, all do not
    with pytest.raises(sio.ModelFileError, match="MAX_ARRAY_BYTES"):
        sio.load(target)


def test_duplicate_members_are_refused(tmp_path):
    target = sio.save(make_cv(), tmp_path / "m.npz")
    members = _members(target)
    with zipfile.ZipFile(target, "a") as zf, pytest.warns(UserWarning, match="Duplicate"):
        zf.writestr("a0.npy", members["a0.npy"])
    with pytest.raises(sio.ModelFileError, match="twice"):
        sio.load(target)


# --------------------------------------------------------------------------- estimators
def _saved_regressor(tmp_path):
    from shrinkage.estimators import PenalizedRegressor

    d = make_sparse_regression(40, 5, random_state=1)
    est = PenalizedRegressor(cv=3, n_lams=5, random_state=0).fit(d.X, d.y)
    return sio.save(est, tmp_path / "e.npz"), est


def _fitted(meta):
    return meta["root"]["fitted"]["__dict__"]


def _params(meta):
    return meta["root"]["params"]["__dict__"]


@pytest.mark.parametrize("name", ["predict", "fit", "score", "get_params", "_get_param_names",
                                  "_validate_params"])
def test_loaded_estimator_cannot_shadow_class_attributes(tmp_path, name):
    target, _ = _saved_regressor(tmp_path)
    _tamper(target, _set(_fitted, name, "x"))
    with pytest.raises(sio.ModelFileError, match=f"'{name}' would shadow PenalizedRegressor"):
        sio.load(target)


def _root(meta):
    return meta["root"]


ESTIMATOR_CASES = [
    ("parameter as attribute", _set(_fitted, "l1_ratio", 0.3),
     "'l1_ratio' of PenalizedRegressor is a constructor"),
    ("dash", _set(_fitted, "a-b", 1), "bad attribute name 'a-b'"),
    ("digit first", _set(_fitted, "1x", 1), "bad attribute name '1x'"),
    ("keyword", _set(_fitted, "class", 1), "bad attribute name 'class'"),
    ("dunder", _set(_fitted, "__dict__", {"__dict__": {}}), "bad attribute name '__dict__'"),
    ("unknown parameter", _set(_params, "bogus", 1),
     r"PenalizedRegressor has no parameters \['bogus'\]"),
    ("params a list", _set(_root, "params", {"__list__": []}), "parameters of .* are a list"),
    ("fitted an int", _set(_root, "fitted", 3), "fitted attributes of .* are a int"),
    ("params missing", lambda m: m["root"].pop("params"), "malformed __estimator__ node"),
    ("private class", _set(_root, "__estimator__", "shrinkage.estimators:_PenalizedBase"),
     "not a shrinkage estimator"),
    ("not an estimator", _set(_root, "__estimator__", "shrinkage.results:Path"),
     "not an estimator"),
]


@pytest.mark.parametrize("change, match", [case[1:] for case in ESTIMATOR_CASES],
                         ids=[case[0] for case in ESTIMATOR_CASES])
def test_estimator_state_that_is_not_its_own_is_refused(tmp_path, change, match):
    target, _ = _saved_regressor(tmp_path)
    _tamper(target, change)
    with pytest.raises(sio.ModelFileError, match=match):
        sio.load(target)


def test_private_fitted_state_and_missing_parameters_load(tmp_path):
    target, est = _saved_regressor(tmp_path)
    # A file written before a parameter existed lacks it: the default applies.
    _tamper(target, lambda meta: _params(meta).pop("n_jobs"))
    back = sio.load(target)
    assert back.n_jobs == type(est)().n_jobs
    assert hasattr(back, "_coef_engine") and hasattr(back, "_intercept_engine")
    X = make_sparse_regression(40, 5, random_state=1).X
    np.testing.assert_array_equal(back.predict(X), est.predict(X))


def test_saving_refuses_what_loading_would_refuse(tmp_path):
    import dataclasses

    _, est = _saved_regressor(tmp_path)
    est.score = 1.0  # an instance attribute shadowing a method
    with pytest.raises(TypeError, match="'score' would shadow"):
        sio.save(est, tmp_path / "shadow.npz")
    with pytest.raises(TypeError, match="field 'metric' of CVResult holds a int"):
        sio.save(dataclasses.replace(make_cv(), metric=5), tmp_path / "field.npz")
    loop = []
    loop.append(loop)
    with pytest.raises(TypeError, match="more than 100 levels"):
        sio.save(loop, tmp_path / "loop.npz")
    assert sorted(os.listdir(tmp_path)) == ["e.npz"]
    nested = 1
    for _ in range(40):
        nested = {"a": [nested]}
    assert sio.load(sio.save(nested, tmp_path / "nested.npz")) == nested


def test_torch_network_description_is_checked_before_building(tmp_path):
    import torch

    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU())
    target = sio.save(net, tmp_path / "net.npz")

    def layer(meta, i=0):
        return meta["root"]["state"]["__dict__"]["layers"]["__list__"][i]["__dict__"]

    def args(meta):
        return layer(meta)["args"]["__dict__"]

    good = target.read_bytes()
    for change, match in [
        (_set(args, "in_features", 10**9), "does not match its weights"),
        (_set(args, "bias", "yes"), "bad arguments for the Linear layer 0"),
        (_set(lambda m: layer(m, 1)["args"]["__dict__"], "inplace", True), "bad arguments"),
        (_set(layer, "type", {"__list__": ["Linear"]}), "unknown torch layer type"),
        (_set(lambda m: m["root"]["state"]["__dict__"], "dtype", "torch.int8"), "dtype"),
    ]:
        target.write_bytes(good)
        _tamper(target, change)
        with pytest.raises(sio.ModelFileError, match=match):
            sio.load(target)


# --------------------------------------------------------------------------- temporaries
def test_stale_temporary_files_of_the_same_target_are_removed(tmp_path):
    hour_ago = time.time() - 3600
    names = {
        ".m.npz.abcd1234.tmp": True,  # left by a killed save of m.npz: removed
        ".m.npz.efgh5678.tmp": False,  # fresh: a save that may be running
        ".n.npz.abcd1234.tmp": False,  # another target's
        ".m.npz.notes.tmp": False,  # not a name mkstemp makes
        "m.npz.abcd1234.tmp": False,  # not hidden
    }
    for name, stale in names.items():
        (tmp_path / name).write_text("partial")
        if stale or name != ".m.npz.efgh5678.tmp":
            os.utime(tmp_path / name, (hour_ago, hour_ago))
    (tmp_path / ".m.npz.dirx1234.tmp").mkdir()
    os.utime(tmp_path / ".m.npz.dirx1234.tmp", (hour_ago, hour_ago))
    os.symlink(tmp_path / ".n.npz.abcd1234.tmp", tmp_path / ".m.npz.link1234.tmp")
    os.utime(tmp_path / ".m.npz.link1234.tmp", (hour_ago, hour_ago), follow_symlinks=False)
    sio.save(make_cv(), tmp_path / "m.npz")
    kept = {n for n, stale in names.items() if not stale}
    assert set(os.listdir(tmp_path)) == kept | {"m.npz", ".m.npz.dirx1234.tmp",
                                                ".m.npz.link1234.tmp"}


def test_load_refuses_a_pipe_at_once(tmp_path):
    """A FIFO named like a model file: open() blocked until a writer came (over 60 s in
    the input fuzz); it is refused as not a regular file."""
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    with pytest.raises(sio.ModelFileError, match="not a regular file"):
        sio.load(fifo)
