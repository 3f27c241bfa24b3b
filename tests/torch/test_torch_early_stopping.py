"""EarlyStopping: patience, min_delta, restored state, strongest-within epoch, checkpointing."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from shrinkage import selection  # noqa: E402
from shrinkage.torch import EarlyStopping  # noqa: E402

nn = torch.nn


def _stamp(model, epoch):
    """Make the model's state identify the epoch it was saved at."""
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float(epoch))
    return model


def _epoch_of(model):
    return float(model.weight.detach().flatten()[0])


def _batches(mean, se, m=4):
    """m per-batch losses with the given mean and standard error of the mean."""
    # deviations +-d with sample std d*sqrt(m/(m-1)); se = std/sqrt(m)
    d = se * np.sqrt(m - 1)
    return mean + d * np.array([1.0, -1.0] * (m // 2))


def test_patience_and_restore_best():
    scores = [5.0, 4.0, 3.0, 2.9, 2.95, 3.1, 3.2, 3.3, 1.0]
    model = nn.Linear(2, 1)
    es = EarlyStopping(patience=3)
    stopped_at = None
    for e, s in enumerate(scores, start=1):
        if es.step(s, _stamp(model, e)):
            stopped_at = e
            break
    assert stopped_at == 7 and es.stop_epoch == 7
    assert es.best_epoch == 4 and es.best_score == 2.9 and es.chosen_epoch == 4
    assert es.restore(model) == 4
    assert _epoch_of(model) == 4.0 and float(model.bias.detach()[0]) == 4.0


def test_min_delta_absolute_and_relative():
    seq = [10.0, 9.5, 9.2, 9.0, 8.95]
    es = EarlyStopping(patience=10, min_delta=0.6, restore=None)
    for s in seq:
        es.step(s)
    # 10 -> 9.2 (drop 0.8 > 0.6) improves; 9.2 -> 9.0 and -> 8.95 do not
    assert es.best_epoch == 3 and es.wait == 2
    es_rel = EarlyStopping(patience=10, min_delta=0.04, min_delta_mode="rel", restore=None)
    for s in seq:
        es_rel.step(s)
    # delta = 0.04 * best: 10 -> 9.5 (0.5 > 0.4) counts, 9.5 -> 9.2 (0.3 < 0.38) does not,
    # 9.5 -> 9.0 (0.5 > 0.38) counts, 9.0 -> 8.95 does not
    assert es_rel.best_epoch == 4 and es_rel.wait == 1


def test_mode_max_for_accuracy():
    es = EarlyStopping(mode="max", patience=2, restore=None)
    for s in [0.5, 0.7, 0.69, 0.71, 0.70, 0.70]:
        es.step(s)
    assert es.best_epoch == 4 and es.stopped and es.stop_epoch == 6


def test_strongest_within_restores_the_earliest_epoch_within_k_se():
    means = [5.0, 3.15, 3.08, 3.0, 3.02, 3.5, 3.6]
    ses = [0.3, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]
    model = nn.Linear(3, 1)
    es = EarlyStopping(patience=3, restore="strongest_within", k=1.0)
    for e, (m, s) in enumerate(zip(means, ses), start=1):
        es.step(_batches(m, s), _stamp(model, e))
    assert es.stopped and es.best_epoch == 4
    np.testing.assert_allclose(es.ses, ses, rtol=1e-12)
    # threshold 3.0 + 1 * 0.1: epoch 2 (3.15) is out, epoch 3 (3.08) is the earliest in
    assert es.chosen_epoch == 3
    assert es.restore(model) == 3 and _epoch_of(model) == 3.0
    es2 = EarlyStopping(patience=3, restore="strongest_within", k=2.0)
    for e, (m, s) in enumerate(zip(means, ses), start=1):
        es2.step(_batches(m, s), _stamp(model, e))
    assert es2.chosen_epoch == 2


@pytest.mark.parametrize("mode", ["min", "max"])
def test_strongest_within_epoch_is_never_later_than_the_best(mode):
    rng = np.random.default_rng(0)
    model = nn.Linear(1, 1)
    for _ in range(40):
        n_epochs = int(rng.integers(3, 25))
        k = float(rng.choice([0.0, 0.5, 1.0, 3.0]))
        es = EarlyStopping(mode=mode, patience=int(rng.integers(1, 6)),
                           restore="strongest_within", k=k,
                           min_delta=float(rng.choice([0.0, 0.05])))  # fmt: skip
        trend = np.cumsum(rng.normal(0, 0.2, n_epochs))
        for e in range(1, n_epochs + 1):
            if es.step(trend[e - 1] + rng.normal(0, 0.1, 5), _stamp(model, e)):
                break
        chosen, best = es.chosen_epoch, es.best_epoch
        assert 1 <= chosen <= best
        h = es.history
        sign = 1.0 if mode == "min" else -1.0
        loss = sign * h["score"]
        # chosen is within k SE of the best, and every earlier epoch is not
        thr = loss[best - 1] + k * h["se"][best - 1]
        assert loss[chosen - 1] <= thr + 1e-12
        assert np.all(loss[: chosen - 1] > thr)
        ref = selection.strongest_within(
            h["epoch"][:best], h["score"][:best], h["se"][:best], k=k, stronger="smaller",
            greater_is_better=mode == "max",
        )  # fmt: skip
        assert chosen == ref + 1
        assert es.restore(model) == chosen and _epoch_of(model) == float(chosen)


@pytest.mark.parametrize("on_disk", [False, True])
def test_state_survives_checkpointing(tmp_path, on_disk):
    rng = np.random.default_rng(1)
    curve = [np.full(4, v) + rng.normal(0, 0.05, 4) for v in [3, 2, 1.5, 1.45, 1.6, 1.7, 1.8]]
    directory = str(tmp_path / "es") if on_disk else None

    def fresh():
        return EarlyStopping(patience=3, restore="strongest_within", k=1.0, directory=directory)

    model = nn.Linear(2, 1)
    whole = fresh()
    for e, b in enumerate(curve, start=1):
        whole.step(b, _stamp(model, e))

    model2 = nn.Linear(2, 1)
    first = fresh()
    for e, b in enumerate(curve[:3], start=1):
        first.step(b, _stamp(model2, e))
    ckpt = tmp_path / "ckpt.pt"
    torch.save({"model": model2.state_dict(), "early_stopping": first.state_dict()}, ckpt)
    loaded = torch.load(ckpt, weights_only=True)  # tensors and plain containers only
    resumed = EarlyStopping()  # settings come back with the state
    resumed.load_state_dict(loaded["early_stopping"])
    assert resumed.config() == first.config()
    for e, b in enumerate(curve[3:], start=4):
        resumed.step(b, _stamp(model2, e))
    assert resumed.stopped == whole.stopped and resumed.stop_epoch == whole.stop_epoch
    assert resumed.best_epoch == whole.best_epoch
    assert resumed.chosen_epoch == whole.chosen_epoch
    np.testing.assert_array_equal(resumed.history["score"], whole.history["score"])
    assert resumed.restore(model2) == whole.restore(model)
    torch.testing.assert_close(model2.state_dict(), model.state_dict())


def test_disk_mode_keeps_one_file_for_best(tmp_path):
    d = tmp_path / "states"
    es = EarlyStopping(patience=5, restore="best", directory=d)
    model = nn.Linear(2, 1)
    for e, s in enumerate([3.0, 2.0, 2.5, 1.0, 1.5], start=1):
        es.step(s, _stamp(model, e))
    assert sorted(p.name for p in d.iterdir()) == ["epoch_000004.pt"]
    assert es.restore(model) == 4 and _epoch_of(model) == 4.0
    (d / "epoch_000004.pt").unlink()
    with pytest.raises(RuntimeError, match="state file of epoch 4 is missing"):
        es.restore(model)
    with pytest.raises(ValueError, match="missing"):
        EarlyStopping().load_state_dict(es.state_dict())


def test_clone_copies_settings_not_history():
    es = EarlyStopping(mode="max", patience=4, restore=None, k=2.0)
    es.step(0.3)
    twin = es.clone(patience=7)
    assert twin.epoch == 0 and twin.patience == 7 and twin.mode == "max" and twin.k == 2.0
    with pytest.raises(TypeError, match="unknown EarlyStopping settings"):
        es.clone(speed=3)


def test_bad_inputs_raise_clear_errors():
    model = nn.Linear(1, 1)
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        EarlyStopping(mode="avg")
    with pytest.raises(ValueError, match="patience must be an integer >= 1"):
        EarlyStopping(patience=0)
    with pytest.raises(ValueError, match="restore must be"):
        EarlyStopping(restore="last")
    with pytest.raises(ValueError, match="min_delta_mode"):
        EarlyStopping(min_delta_mode="pct")
    with pytest.raises(ValueError, match="min_delta must be a finite number >= 0"):
        EarlyStopping(min_delta=-1.0)
    with pytest.raises(ValueError, match="k must be a finite number >= 0"):
        EarlyStopping(k=-1.0)
    es = EarlyStopping(restore="strongest_within")
    with pytest.raises(ValueError, match="needs a standard error per epoch"):
        es.step(1.0, model)
    with pytest.raises(ValueError, match="1-D sequence of per-batch losses"):
        es.step(np.zeros((2, 2)), model)
    with pytest.raises(ValueError, match="either per-batch losses or se"):
        es.step([1.0, 2.0], model, se=0.1)
    with pytest.raises(TypeError, match="step needs the model"):
        EarlyStopping().step(1.0)
    with pytest.raises(RuntimeError, match="restore=None: no state was saved"):
        EarlyStopping(restore=None).restore(model)
    with pytest.raises(RuntimeError, match="no epoch with a finite validation score"):
        EarlyStopping().restore(model)
    with pytest.raises(TypeError, match="state must be a dict"):
        EarlyStopping().load_state_dict([1, 2])


def test_nan_scores_never_count_as_improvement():
    model = nn.Linear(1, 1)
    es = EarlyStopping(patience=2)
    es.step(float("nan"), model)
    assert es.best_epoch is None
    es.step(1.0, model)
    es.step(float("nan"), model)
    assert es.best_epoch == 2 and es.wait == 1
