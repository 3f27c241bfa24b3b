"""sweep(): shapes, the choice rule, every knob, early stopping inside, parallel runs."""

import time

import joblib
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from shrinkage import selection  # noqa: E402
from shrinkage.results import SweepResult  # noqa: E402
from shrinkage.torch import EarlyStopping, sweep  # noqa: E402

nn = torch.nn


def _regression(n=160, p=8, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)).astype(np.float32)
    w = np.zeros(p, dtype=np.float32)
    w[:3] = [1.0, -0.5, 0.25]
    y = (X @ w + 0.5 * rng.standard_normal(n)).astype(np.float32)
    return (X[:120], y[:120]), (X[120:], y[120:])


class _MLP:
    """Picklable model factory (loky workers receive it by value)."""

    def __init__(self, p=8, out=1, dropout=0.0):
        self.p, self.out, self.dropout = p, out, dropout

    def __call__(self):
        return nn.Sequential(nn.Linear(self.p, 16), nn.ReLU(), nn.Dropout(self.dropout),
                             nn.Linear(16, self.out))  # fmt: skip


def _check_choice(res):
    """The choice is recomputed from the stored scores and is never weaker than the min."""
    assert res.index_min == selection.best(res.values, res.mean, stronger=res.stronger,
                                           greater_is_better=res.greater_is_better)  # fmt: skip
    assert res.index_chosen == selection.strongest_within(
        res.values, res.mean, res.se, k=res.extra["k"], stronger=res.stronger,
        greater_is_better=res.greater_is_better,
    )  # fmt: skip
    chosen, best = res.value_chosen, res.value_min
    assert chosen >= best if res.stronger == "larger" else chosen <= best


def test_sweep_weight_decay_result_and_choice():
    train, val = _regression()
    values = [0.0, 0.01, 0.1, 1.0, 5.0]
    res = sweep(_MLP(), train, val, knob="weight_decay", values=values, seeds=[0, 1],
                epochs=15, lr=1e-2, batch_size=40, progress=False)  # fmt: skip
    assert isinstance(res, SweepResult)
    assert res.knob == "weight_decay" and res.stronger == "larger" and res.metric == "mse"
    np.testing.assert_array_equal(res.values, values)
    assert res.seed_scores.shape == (2, 5) and np.all(np.isfinite(res.seed_scores))
    np.testing.assert_allclose(res.mean, res.seed_scores.mean(0))
    np.testing.assert_allclose(res.se, res.seed_scores.std(0, ddof=1) / np.sqrt(2))
    assert res.extra["se_source"] == "seeds"
    assert res.curves["train"].shape == (2, 5, 15) and res.curves["val"].shape == (2, 5, 15)
    # the score of a run is its validation MSE after the last epoch
    np.testing.assert_allclose(res.curves["val"][:, :, -1], res.seed_scores, rtol=1e-6)
    _check_choice(res)
    # the strongest decay (5 per step at lr 1e-2) visibly hurts: the knob really acts
    assert res.mean[-1] > res.mean[0]


def test_sweep_is_reproducible_and_parallel_equals_sequential():
    train, val = _regression(seed=1)
    kw = dict(knob="l1", values=[0.0, 0.01, 0.1], seeds=[3, 4], epochs=6, lr=1e-2,
              batch_size=30, progress=False)  # fmt: skip
    a = sweep(_MLP(), train, val, **kw)
    b = sweep(_MLP(), train, val, **kw)
    np.testing.assert_array_equal(a.seed_scores, b.seed_scores)
    with joblib.parallel_config(backend="threading"):
        c = sweep(_MLP(), train, val, n_jobs=2, **kw)
    np.testing.assert_array_equal(a.seed_scores, c.seed_scores)
    np.testing.assert_array_equal(a.curves["val"], c.curves["val"])


class _SlowFactory:
    """Yields the GIL between a run's seeding and its weights' draw (a wide race window)."""

    def __call__(self):
        time.sleep(0.002)
        return nn.Sequential(nn.Linear(8, 4), nn.Linear(4, 1))


def test_threaded_sweep_initialises_every_run_from_its_own_seed():
    # a thread restoring the caller's generator state on exit used to land between another
    # thread's seeding and its model's construction: that run started from other weights
    # (one CI run in many; every threaded sweep here, before the fix)
    train, val = _regression(n=160, seed=3)
    kw = dict(knob="l1", values=[0.0, 0.01, 0.1, 0.2], seeds=list(range(6)), epochs=1,
              lr=1e-2, batch_size=40, progress=False)  # fmt: skip
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = sweep(_SlowFactory(), train, val, **kw)
    for _ in range(3):
        with joblib.parallel_config(backend="threading"):
            c = sweep(_SlowFactory(), train, val, n_jobs=4, **kw)
        np.testing.assert_array_equal(a.seed_scores, c.seed_scores)
    # the caller's global generator is left as it was found
    assert torch.equal(torch.get_rng_state(), state)


def test_sweep_runs_on_a_dask_backend_through_joblib():
    distributed = pytest.importorskip("distributed")
    train, val = _regression(seed=1)
    kw = dict(knob="l1", values=[0.0, 0.01, 0.1], seeds=[3, 4], epochs=6, lr=1e-2,
              batch_size=30, progress=False)  # fmt: skip
    a = sweep(_MLP(), train, val, **kw)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                            dashboard_address=None):  # fmt: skip
        with joblib.parallel_config(backend="dask"):
            d = sweep(_MLP(), train, val, **kw)
    np.testing.assert_array_equal(a.seed_scores, d.seed_scores)
    assert d.index_chosen == a.index_chosen


def test_sweep_epochs_chooses_no_more_epochs_than_the_min():
    train, val = _regression(seed=2)
    values = [2, 5, 10, 20, 40]
    res = sweep(_MLP(), train, val, knob="epochs", values=values, seeds=[0, 1, 2],
                lr=3e-2, batch_size=30, progress=False)  # fmt: skip
    assert res.stronger == "smaller"
    assert res.curves["val"].shape == (3, 5, 40)
    for j, e in enumerate(values):
        # the score for e epochs is the validation curve of the single run at epoch e
        np.testing.assert_allclose(res.seed_scores[:, j], res.curves["val"][:, -1, e - 1])
        assert np.all(np.isnan(res.curves["val"][:, j, e:]))
    _check_choice(res)


@pytest.mark.parametrize("knob,values", [("dropout", [0.0, 0.3, 0.6]), ("noise", [0.0, 0.5]),
                                         ("l2", [0.0, 0.1]), ("mixup", [0.0, 0.4])])  # fmt: skip
def test_every_knob_runs_and_changes_the_fit(knob, values):
    train, val = _regression(seed=3)
    res = sweep(_MLP(dropout=0.1), train, val, knob=knob, values=values, seeds=0, epochs=4,
                lr=1e-2, batch_size=40, progress=False)  # fmt: skip
    assert res.seed_scores.shape == (1, len(values))
    assert res.extra["se_source"] == "validation examples"
    assert np.all(res.se > 0)
    assert len(np.unique(res.seed_scores)) == len(values)  # each value trains differently
    _check_choice(res)


def test_classification_sweep_on_digits_with_accuracy():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    train, val = (X[:400], y[:400]), (X[1000:1300], y[1000:1300])

    def make():
        return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))

    res = sweep(make, train, val, knob="mixup", values=[0.0, 0.2, 1.0], seeds=[0, 1],
                epochs=8, loss="cross_entropy", metric="accuracy", lr=1e-2, batch_size=50,
                progress=False)  # fmt: skip
    assert res.metric == "accuracy" and res.greater_is_better
    assert np.all(res.mean > 0.8)  # a real classifier, not chance (0.1)
    _check_choice(res)


def test_early_stopping_inside_the_sweep():
    train, val = _regression(seed=4)
    es = EarlyStopping(patience=2, restore="strongest_within", k=1.0)
    res = sweep(_MLP(), train, val, knob="weight_decay", values=[0.0, 0.1], seeds=[0, 1],
                epochs=30, lr=5e-2, batch_size=30, early_stopping=es, progress=False)  # fmt: skip
    trained, chosen = res.extra["epochs_trained"], res.extra["chosen_epoch"]
    assert np.all(chosen >= 1) and np.all(chosen <= trained) and np.all(trained <= 30)
    assert es.epoch == 0  # the template itself is never stepped
    # curves stop where the run stopped
    for s in range(2):
        for j in range(2):
            assert np.all(np.isfinite(res.curves["val"][s, j, : trained[s, j]]))
            assert np.all(np.isnan(res.curves["val"][s, j, trained[s, j]:]))


def test_progress_bar_goes_to_stderr(capsys):
    train, val = _regression(seed=5)
    sweep(_MLP(), train, val, knob="l2", values=[0.0, 0.1], epochs=1, progress=True)
    err = capsys.readouterr().err
    assert "sweep l2" in err and "2/2" in err
    sweep(_MLP(), train, val, knob="l2", values=[0.0, 0.1], epochs=1, progress=False)
    assert capsys.readouterr().err == ""


def test_bad_inputs_raise_clear_errors():
    train, val = _regression()
    ok = dict(knob="l2", values=[0.0, 0.1], epochs=1, progress=False)

    def call(**changes):
        kw = {**ok, **changes}
        mm = kw.pop("make_model", _MLP())
        return sweep(mm, kw.pop("train", train), kw.pop("val", val), **kw)

    with pytest.raises(ValueError, match="knob must be one of"):
        call(knob="temperature")
    with pytest.raises(ValueError, match="values must be distinct"):
        call(values=[0.1, 0.1])
    with pytest.raises(ValueError, match="non-empty 1-D"):
        call(values=[])
    with pytest.raises(ValueError, match=r"knob='dropout' must lie in \[0, 1\)"):
        call(knob="dropout", values=[0.0, 1.0])
    with pytest.raises(ValueError, match="must be positive integers"):
        call(knob="epochs", values=[2.5, 4])
    with pytest.raises(ValueError, match="must be >= 0"):
        call(values=[-1.0, 0.0])
    with pytest.raises(ValueError, match="drop early_stopping"):
        call(knob="epochs", values=[1, 2], early_stopping={"patience": 2})
    with pytest.raises(ValueError, match="mode='max' but metric='loss' is minimised"):
        call(early_stopping={"mode": "max"})
    with pytest.raises(TypeError, match="early_stopping must be None"):
        call(early_stopping=3)
    with pytest.raises(ValueError, match="seeds must be distinct"):
        call(seeds=[1, 1])
    with pytest.raises(ValueError, match="metric='accuracy' needs loss='cross_entropy'"):
        call(metric="accuracy")
    with pytest.raises(ValueError, match="needs integer class labels"):
        call(loss="cross_entropy")
    with pytest.raises(ValueError, match="feature shape"):
        call(val=(val[0][:, :3], val[1]))
    with pytest.raises(ValueError, match="X has 120 rows but y has 5"):
        call(train=(train[0], train[1][:5]))
    with pytest.raises(TypeError, match="pair \\(X, y\\)"):
        call(train=train[0])
    with pytest.raises(ValueError, match="NaN or inf"):
        bad = train[0].copy()
        bad[0, 0] = np.nan
        call(train=(bad, train[1]))
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        call(epochs=0)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        call(lr=0.0)
    with pytest.raises(ValueError, match="not a valid torch device"):
        call(device="gpu-please")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            call(device="cuda")
    with pytest.raises(TypeError, match="make_model must be a callable"):
        call(make_model=nn.Linear(8, 1).state_dict())
    with pytest.raises(TypeError, match="make_model\\(\\) must return a torch.nn.Module"):
        call(make_model=lambda: "not a model")
    with pytest.raises(ValueError, match="has no dropout module"):
        call(make_model=lambda: nn.Linear(8, 1), knob="dropout", values=[0.0, 0.2])
