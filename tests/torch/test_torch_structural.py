"""Dropout setter, Monte Carlo dropout, Gaussian input noise, mixup; the optional import."""

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from shrinkage.torch import (  # noqa: E402
    Compose,
    GaussianNoise,
    Mixup,
    mc_dropout_predict,
    set_dropout,
)

nn = torch.nn


def _net_with_every_dropout():
    return nn.Sequential(
        nn.Linear(4, 8),
        nn.Dropout(0.1),
        nn.AlphaDropout(0.2),
        nn.Sequential(nn.Linear(8, 8), nn.FeatureAlphaDropout(0.3)),
        nn.Linear(8, 3),
    )


def test_set_dropout_sets_every_dropout_module():
    net = _net_with_every_dropout()
    mha = nn.MultiheadAttention(8, 2, dropout=0.0)
    net.add_module("attn", mha)
    conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Dropout2d(0.5))
    net.add_module("conv", conv)
    assert set_dropout(net, 0.35) == 5
    ps = [m.p for m in net.modules() if hasattr(m, "p") and isinstance(m.p, float)]
    assert ps == [0.35] * 4
    assert mha.dropout == 0.35


def test_set_dropout_bad_inputs():
    with pytest.raises(ValueError, match="has no dropout module"):
        set_dropout(nn.Linear(2, 2), 0.1)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\)"):
        set_dropout(_net_with_every_dropout(), 1.0)
    with pytest.raises(TypeError, match="p must be a real number"):
        set_dropout(_net_with_every_dropout(), True)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        set_dropout("net", 0.1)


def _bn_dropout_net():
    return nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(16, 3))  # fmt: skip


def test_mc_dropout_shapes_reproducibility_and_modes():
    torch.manual_seed(0)
    net = _bn_dropout_net()
    x = torch.randn(10, 4)
    net.train()
    bn_mean = net[1].running_mean.clone()
    mean, std, samples = mc_dropout_predict(net, x, n_samples=30, seed=1, return_samples=True)
    assert mean.shape == (10, 3) and std.shape == (10, 3) and samples.shape == (30, 10, 3)
    torch.testing.assert_close(mean, samples.mean(0))
    torch.testing.assert_close(std, samples.std(0, correction=1))
    assert torch.all(std > 0)
    # batch norm ran in eval mode (running statistics untouched), flags restored
    torch.testing.assert_close(net[1].running_mean, bn_mean, rtol=0, atol=0)
    assert all(m.training for m in net.modules())
    # seeded: the same predictions, and the caller's random stream is untouched
    state = torch.random.get_rng_state()
    mean2, std2 = mc_dropout_predict(net, x, n_samples=30, seed=1)
    assert torch.equal(torch.random.get_rng_state(), state)
    torch.testing.assert_close(mean2, mean, rtol=0, atol=0)
    torch.testing.assert_close(std2, std, rtol=0, atol=0)
    # with rate 0 every pass is the deterministic eval-mode prediction
    set_dropout(net, 0.0)
    mean0, std0 = mc_dropout_predict(net.eval(), x, n_samples=5)
    assert torch.all(std0 == 0)
    with torch.no_grad():
        torch.testing.assert_close(mean0, net(x))
    assert not net.training


def test_mc_dropout_bad_inputs():
    net = _bn_dropout_net()
    with pytest.raises(ValueError, match="n_samples must be an integer >= 2"):
        mc_dropout_predict(net, torch.zeros(2, 4), n_samples=1)
    with pytest.raises(ValueError, match="no dropout module"):
        mc_dropout_predict(nn.Linear(4, 1), torch.zeros(2, 4))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        mc_dropout_predict(net, np.zeros((2, 4)))


def test_gaussian_noise_statistics_and_ridge_equivalence():
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(200_000, 1, dtype=torch.float64)
    noisy, y = GaussianNoise(0.3, generator=g)(x, "labels")
    assert y == "labels"
    assert abs(float(noisy.std()) - 0.3) < 0.003
    assert GaussianNoise(0.0)(x, None)[0] is x
    # expected half squared error on noisy inputs = clean loss + sigma^2/2 * ||w||^2
    gen = torch.Generator().manual_seed(1)
    xs = torch.randn(50, 3, generator=gen, dtype=torch.float64)
    ys = torch.randn(50, generator=gen, dtype=torch.float64)
    w = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    sigma = 0.4
    reps = 4000
    big = xs.repeat(reps, 1)
    noisy_loss = 0.5 * ((ys.repeat(reps) - GaussianNoise(sigma, generator=gen)(big)[0] @ w) ** 2)
    clean = 0.5 * ((ys - xs @ w) ** 2).mean() + 0.5 * sigma**2 * (w @ w)
    assert abs(float(noisy_loss.mean()) - float(clean)) < 0.01 * float(clean)


def test_gaussian_noise_bad_inputs():
    with pytest.raises(ValueError, match="sigma must be a finite number >= 0"):
        GaussianNoise(-0.1)
    with pytest.raises(TypeError, match="floating-point inputs"):
        GaussianNoise(0.1)(torch.zeros(2, 2, dtype=torch.int64))
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        GaussianNoise(0.1, generator=0)


def test_mixup_is_a_convex_combination_with_the_same_weights_for_x_and_y():
    n = 6
    x = torch.eye(n, dtype=torch.float64)
    y = torch.arange(n)
    mx, my = Mixup(0.4, num_classes=n, seed=0)(x, y)
    # with one-hot inputs equal to the one-hot labels, inputs and targets mix identically
    torch.testing.assert_close(mx, my)
    torch.testing.assert_close(my.sum(1), torch.ones(n, dtype=torch.float64))
    # each row is lam * e_i + (1 - lam) * e_perm(i): at most two non-zeros in [0, 1]
    assert torch.all((mx >= 0) & (mx <= 1))
    assert torch.all((mx > 0).sum(1) <= 2)
    # one lam per batch: every row not mapped to itself keeps the same weight lam
    d = mx.diagonal()
    moved = d < 1
    assert moved.any() and torch.allclose(d[moved], d[moved][0].expand(int(moved.sum())))
    # alpha = 0: no mixing, labels one-hot encoded
    x0, y0 = Mixup(0.0, num_classes=n)(x, y)
    assert torch.equal(x0, x) and torch.equal(y0, x)
    # regression targets mix with the same weights as the inputs
    xr, yr = Mixup(1.0, seed=3)(x, torch.arange(n, dtype=torch.float64))
    torch.testing.assert_close(yr, xr @ torch.arange(n, dtype=torch.float64))


def test_mixup_bad_inputs():
    x = torch.zeros(4, 2)
    with pytest.raises(ValueError, match="pass num_classes"):
        Mixup(0.2)(x, torch.arange(4))
    with pytest.raises(ValueError, match="x has 4 rows but y has 3"):
        Mixup(0.2)(x, torch.zeros(3))
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0"):
        Mixup(-1.0)
    with pytest.raises(ValueError, match="num_classes must be an integer >= 2"):
        Mixup(0.2, num_classes=1)


def test_compose_applies_transforms_in_order():
    calls = []

    def first(x, y):
        calls.append("first")
        return x + 1, y

    def second(x, y):
        calls.append("second")
        return x * 2, y

    x, y = Compose(first, second)(torch.ones(2), "y")
    assert calls == ["first", "second"] and torch.equal(x, torch.full((2,), 4.0)) and y == "y"
    with pytest.raises(TypeError, match="must be callable"):
        Compose(first, 3)


def test_import_shrinkage_does_not_import_torch_and_missing_torch_is_explained():
    code = (
        "import sys, shrinkage, shrinkage.selection, shrinkage.results\n"
        "assert 'torch' not in sys.modules, 'import shrinkage pulled in torch'\n"
        "sys.modules['torch'] = None  # simulate an environment without torch\n"
        "try:\n"
        "    import shrinkage.torch\n"
        "except ImportError as err:\n"
        "    print(err)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert 'pip install "shrinkage[torch]"' in out.stdout
