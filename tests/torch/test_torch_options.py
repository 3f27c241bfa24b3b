"""Options reach the runs they describe, and inputs a run cannot honour are refused by name:
the estimators' fixed weight decay in their sweep, rules of any k, network dtypes in files,
target shapes, classes absent from the data, diverged epochs, zero learning rates,
attention dropout, seeds."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import shrinkage.io as sio  # noqa: E402
from shrinkage import selection  # noqa: E402
from shrinkage.torch import (  # noqa: E402
    L1,
    EarlyStopping,
    MLPRegressor,
    mc_dropout_predict,
    sweep,
)

nn = torch.nn


def _data(n=120, p=5, seed=0, classes=None):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)).astype(np.float32)
    if classes is None:
        y = (X[:, 0] - 0.5 * X[:, 1] + 0.3 * rng.standard_normal(n)).astype(np.float32)
    else:
        y = np.asarray(classes)[np.arange(n) % len(classes)]
    return (X[:90], y[:90]), (X[90:], y[90:])


class _Net:
    def __init__(self, p=5, out=1):
        self.p, self.out = p, out

    def __call__(self):
        return nn.Sequential(nn.Linear(self.p, 8), nn.ReLU(), nn.Dropout(0.0),
                             nn.Linear(8, self.out))


def _quiet(**kw):
    return dict(epochs=4, batch_size=30, progress=False, n_jobs=1, **kw)


def test_a_fixed_weight_decay_is_part_of_every_swept_run():
    train, val = _data()
    # an L1 step of strength 0 is the identity: with a fixed decay beside it, each run is
    # the run of the decay alone, bit for bit
    fixed = sweep(_Net(), train, val, knob="l1", values=[0.0], weight_decay=0.3, **_quiet())
    alone = sweep(_Net(), train, val, knob="weight_decay", values=[0.3], **_quiet())
    np.testing.assert_array_equal(fixed.seed_scores, alone.seed_scores)
    assert fixed.extra["weight_decay"] == 0.3
    with pytest.raises(ValueError, match="weight_decay must be a finite number >= 0"):
        sweep(_Net(), train, val, knob="l1", values=[0.0], weight_decay=-1.0, **_quiet())
    with pytest.raises(ValueError, match="weight_decay is the swept knob"):
        sweep(_Net(), train, val, knob="weight_decay", values=[0.1], weight_decay=0.3,
              **_quiet())


def test_estimators_choose_their_knob_for_the_model_they_train():
    X = np.random.default_rng(1).standard_normal((80, 4))
    y = X[:, 0] + 0.2 * np.random.default_rng(2).standard_normal(80)
    kw = dict(tune="dropout", tune_values=[0.0, 0.3], epochs=5, random_state=0)
    plain = MLPRegressor(weight_decay=0.0, **kw).fit(X, y)
    decayed = MLPRegressor(weight_decay=5.0, **kw).fit(X, y)
    assert decayed.sweep_.extra["weight_decay"] == 5.0
    assert not np.array_equal(plain.sweep_.seed_scores, decayed.sweep_.seed_scores)


@pytest.mark.parametrize("k", [1e-5, 2e6, 1.23456789, 0.5, 3.0])
def test_a_rule_of_any_k_reads_back_as_the_same_rule(k):
    rule = selection.Rule("se", k)
    assert selection.parse_rule(rule.text) == rule
    train, val = _data()
    res = sweep(_Net(), train, val, knob="l2", values=[0.0, 0.1], k=k, **_quiet())
    assert selection.parse_rule(res.rule).value == k


def test_rule_texts_round_trip_for_random_strengths():
    rng = np.random.default_rng(0)
    for k in 10.0 ** rng.uniform(-12, 12, 500):
        assert selection.parse_rule(selection.Rule("se", float(k)).text).value == k
    assert selection.parse_rule("1E-3se").value == 1e-3


@pytest.mark.parametrize("convert, match", [
    (lambda m: m.half(), "torch.float16"),
    (lambda m: m.bfloat16(), "torch.bfloat16"),
    (lambda m: m[0].double() and m, "mix dtypes"),
])
def test_networks_of_other_dtypes_are_refused_before_anything_is_written(tmp_path, convert,
                                                                         match):
    net = convert(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1)))
    with pytest.raises(TypeError, match=match):
        sio.save(net, tmp_path / "net.npz")
    assert not (tmp_path / "net.npz").exists()
    double = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 1)).double()
    back = sio.load(sio.save(double, tmp_path / "ok.npz"))
    assert all(p.dtype == torch.float64 for p in back.parameters())


def test_a_target_that_does_not_match_the_outputs_is_refused():
    train, val = _data()
    two = lambda y: np.stack([y, -y], axis=1)  # noqa: E731
    with pytest.raises(ValueError, match=r"outputs of shape .* needs one target per output"):
        sweep(_Net(out=1), (train[0], two(train[1])), (val[0], two(val[1])), knob="l2",
              values=[0.0], **_quiet())
    with pytest.raises(ValueError, match="one target per output"):
        sweep(_Net(out=2), train, val, knob="l2", values=[0.0], **_quiet())


def test_mixup_one_hot_encodes_with_the_models_width():
    train, val = _data(classes=[0, 1])  # a three-class model; class 2 absent from the data
    res = sweep(_Net(out=3), train, val, knob="mixup", values=[0.0, 0.4],
                loss="cross_entropy", **_quiet())
    assert np.all(np.isfinite(res.seed_scores))
    train, val = _data(classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match="class label 3 is out of range .* 3 outputs"):
        sweep(_Net(out=3), train, val, knob="mixup", values=[0.4], loss="cross_entropy",
              **_quiet())


def test_a_diverged_epoch_is_a_failed_one():
    model = nn.Linear(2, 1)
    restored = []
    for bad in (math.inf, math.nan):
        es = EarlyStopping(patience=2, restore="strongest_within")
        for s in (5.0, bad, 2.0, 3.0, 4.0):
            es.step(s, model, se=0.1)
        assert math.isnan(es.scores[1]) and es.best_epoch == 3
        restored.append(es.restore(model))
    assert restored[0] == restored[1]
    es = EarlyStopping(patience=2, restore="strongest_within")
    es.step([1.0, 2.0, 3.0], model)
    es.step([1.0, math.inf, 3.0], model)  # one example overflowed
    assert math.isnan(es.scores[1]) and es.wait == 1


def test_a_zero_learning_rate_step_is_the_identity():
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, s / 10))  # warm-up
    assert opt.param_groups[0]["lr"] == 0.0
    before = [p.detach().clone() for p in model.parameters()]
    L1(0.5).step(model, opt)
    for a, b in zip(before, model.parameters()):
        assert torch.equal(a, b)
    opt.step()
    sched.step()
    L1(0.5).step(model, opt)  # lr 0.1 now: the weights shrink
    assert not torch.equal(before[0], model.weight)


class _Attention(nn.Module):
    def __init__(self, attn_dropout, dropout):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, dropout=attn_dropout, batch_first=True)
        self.drop = nn.Identity() if dropout is None else nn.Dropout(dropout)
        self.head = nn.Linear(8, 1)

    def forward(self, x):
        h, _ = self.attn(x, x, x)
        return self.head(self.drop(h)).mean(dim=(1, 2))


def test_mc_dropout_keeps_attention_dropout_active():
    torch.manual_seed(0)
    x = torch.randn(4, 5, 8)
    # beside a dropout layer of rate 0, and as the model's only dropout
    for model in (_Attention(0.5, 0.0), _Attention(0.5, 0.0).eval(), _Attention(0.5, None)):
        was = [m.training for m in model.modules()]
        mean, std = mc_dropout_predict(model, x, n_samples=20, seed=0)
        assert torch.all(std > 0)
        assert [m.training for m in model.modules()] == was
    _, std = mc_dropout_predict(_Attention(0.0, 0.0), x, n_samples=5, seed=0)
    assert torch.all(std == 0)


def test_negative_seeds_are_refused_by_name():
    train, val = _data()
    for knob in ("l2", "mixup"):
        with pytest.raises(ValueError, match="seeds must be integers >= 0.*-3"):
            sweep(_Net(), train, val, knob=knob, values=[0.1], seeds=[-3], **_quiet())
