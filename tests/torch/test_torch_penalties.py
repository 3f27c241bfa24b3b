"""Penalties: masks, proximal steps against the lasso / elastic net, coupled vs decoupled."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.linear_model import ElasticNet as SkElasticNet  # noqa: E402
from sklearn.linear_model import Lasso, Ridge  # noqa: E402

from shrinkage.torch import (  # noqa: E402
    L1,
    L2,
    DecoupledWeightDecay,
    ElasticNet,
    GroupLasso,
    MaxNorm,
    default_mask,
    select_parameters,
)

nn = torch.nn


def _sparse_data(n=200, p=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) + 0.3 * rng.standard_normal((n, 1))  # correlated columns
    beta = np.zeros(p)
    beta[[0, 3, 7]] = [2.0, -1.5, 1.0]
    y = 0.7 + X @ beta + 0.5 * rng.standard_normal(n)
    return X, y


def _prox_gradient_fit(X, y, penalty, iters):
    """Full-batch ISTA on (1/2n)||y - Xw - b||^2 + penalty, with a 1-layer linear network."""
    n, p = X.shape
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    model = nn.Linear(p, 1).double()
    with torch.no_grad():
        model.weight.zero_()
        model.bias.zero_()
    A = np.hstack([np.ones((n, 1)), X])
    lr = 1.0 / np.linalg.eigvalsh(A.T @ A / n).max()  # 1 / Lipschitz constant of the gradient
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(iters):
        opt.zero_grad()
        loss = 0.5 * ((model(Xt)[:, 0] - yt) ** 2).mean()
        loss.backward()
        opt.step()
        penalty.step(model, opt)  # proximal step, lr read from the optimizer
    return model.weight.detach().numpy()[0], float(model.bias.detach()[0])


def test_proximal_l1_reaches_the_lasso_solution():
    X, y = _sparse_data()
    n = X.shape[0]
    lam = 0.08
    ref = Lasso(alpha=lam, tol=1e-14, max_iter=100_000).fit(X, y)
    # the reference must have a clear zero pattern, or "same zeros" would be fragile
    r = y - ref.predict(X)
    corr = np.abs(X.T @ r) / n
    zeros = ref.coef_ == 0
    assert 2 <= zeros.sum() <= X.shape[1] - 2
    assert np.all(corr[zeros] < lam * (1 - 1e-2))
    assert np.all(np.abs(ref.coef_[~zeros]) > 1e-2)

    w, b = _prox_gradient_fit(X, y, L1(lam), iters=300)
    np.testing.assert_array_equal(w == 0, zeros)  # exact zeros in the same places
    np.testing.assert_allclose(w, ref.coef_, atol=1e-8)
    assert abs(b - ref.intercept_) < 1e-8


def test_l1_as_a_loss_term_gives_no_exact_zeros():
    X, y = _sparse_data()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    model = nn.Linear(X.shape[1], 1).double()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    pen = L1(0.08)
    for _ in range(500):
        opt.zero_grad()
        (0.5 * ((model(Xt)[:, 0] - yt) ** 2).mean() + pen(model)).backward()
        opt.step()
    assert np.count_nonzero(model.weight.detach().numpy() == 0) == 0


def test_proximal_elastic_net_reaches_sklearn_elastic_net():
    X, y = _sparse_data(seed=1)
    lam, a = 0.1, 0.6
    ref = SkElasticNet(alpha=lam, l1_ratio=a, tol=1e-14, max_iter=100_000).fit(X, y)
    w, b = _prox_gradient_fit(X, y, ElasticNet(lam, a), iters=300)
    np.testing.assert_array_equal(w == 0, ref.coef_ == 0)
    np.testing.assert_allclose(w, ref.coef_, atol=1e-8)
    assert abs(b - ref.intercept_) < 1e-8


def test_lasso_solution_matches_the_engine_path_when_available():
    shrinkage = pytest.importorskip("shrinkage")
    try:
        path_fn = shrinkage.regularization_path
    except (AttributeError, ImportError):
        pytest.skip("shrinkage.regularization_path is not available yet")
    X, y = _sparse_data()
    lam = 0.08
    path = path_fn(X, y, family="gaussian", lams=[lam], standardize=False, tol=1e-12)
    w, b = _prox_gradient_fit(X, y, L1(lam), iters=300)
    np.testing.assert_array_equal(w == 0, path.coefs[0] == 0)
    np.testing.assert_allclose(w, path.coefs[0], atol=1e-6)
    assert abs(b - float(path.intercepts[0])) < 1e-6


def test_l2_with_mse_loss_reaches_ridge_through_the_units_conversion():
    units = pytest.importorskip("shrinkage.units")
    X, y = _sparse_data(seed=2)
    n, p = X.shape
    lam = 0.3
    ref = Ridge(alpha=units.to_sklearn_ridge(lam, n), tol=1e-14).fit(X, y)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    model = nn.Linear(p, 1).double()
    A = np.hstack([np.ones((n, 1)), X])
    lr = 1.0 / np.linalg.eigvalsh(2 * A.T @ A / n + lam * np.eye(p + 1)).max()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    # torch's MSELoss is twice shrinkage's half squared error: strength 2 * lam
    pen = L2(units.to_torch_weight_decay(lam, loss="mse"))
    mse = nn.MSELoss()
    for _ in range(400):
        opt.zero_grad()
        (mse(model(Xt)[:, 0], yt) + pen(model)).backward()
        opt.step()
    np.testing.assert_allclose(model.weight.detach().numpy()[0], ref.coef_, atol=1e-9)
    assert abs(float(model.bias.detach()[0]) - ref.intercept_) < 1e-9


# --------------------------------------------------------------- coupled vs decoupled


def _linear_problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(64, 5, generator=g, dtype=torch.float64)
    y = torch.randn(64, generator=g, dtype=torch.float64)
    model = nn.Linear(5, 1).double()
    with torch.no_grad():
        model.weight.copy_(torch.randn(1, 5, generator=g, dtype=torch.float64))
        model.bias.copy_(torch.randn(1, generator=g, dtype=torch.float64))
    return X, y, model


def _data_loss(model, X, y):
    return 0.5 * ((model(X)[:, 0] - y) ** 2).mean()


def _run(model, X, y, opt, steps, *, loss_term=None, before=None, after=None, lr=None):
    for _ in range(steps):
        opt.zero_grad()
        loss = _data_loss(model, X, y)
        if loss_term is not None:
            loss = loss + loss_term(model)
        loss.backward()
        if before is not None:
            before.step(model, lr)
        opt.step()
        if after is not None:
            after.step(model, lr)
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def _clone(model):
    twin = nn.Linear(5, 1).double()
    twin.load_state_dict(model.state_dict())
    return twin


def test_l2_loss_term_equals_coupled_weight_decay_and_decoupled_equals_adamw():
    X, y, model = _linear_problem()
    lr, wd = 0.01, 0.3
    everything = "*"  # torch's weight_decay also hits the bias
    m1, m2, m3, m4 = (_clone(model) for _ in range(4))
    coupled_torch = _run(m1, X, y, torch.optim.Adam(m1.parameters(), lr=lr, weight_decay=wd), 7)
    coupled_ours = _run(
        m2, X, y, torch.optim.Adam(m2.parameters(), lr=lr), 7, loss_term=L2(wd, mask=everything)
    )
    adamw = _run(m3, X, y, torch.optim.AdamW(m3.parameters(), lr=lr, weight_decay=wd), 7)
    decoupled_ours = _run(
        m4, X, y, torch.optim.Adam(m4.parameters(), lr=lr), 7,
        before=DecoupledWeightDecay(wd, mask=everything), lr=lr,
    )  # fmt: skip
    torch.testing.assert_close(coupled_ours, coupled_torch, rtol=0, atol=1e-13)
    torch.testing.assert_close(decoupled_ours, adamw, rtol=0, atol=1e-13)
    # and the two forms really differ under Adam
    assert torch.max(torch.abs(coupled_torch - adamw)) > 1e-4


def test_one_adam_step_coupled_vs_decoupled_follows_the_formula():
    X, y, model = _linear_problem(seed=3)
    lr, wd, eps = 0.05, 0.5, 1e-8
    w0 = model.weight.detach().clone()
    model.zero_grad()
    _data_loss(model, X, y).backward()
    g = model.weight.grad.detach().clone()
    # first Adam step: bias-corrected m_hat = grad, v_hat = grad^2
    coupled_formula = w0 - lr * (g + wd * w0) / ((g + wd * w0).abs() + eps)
    decoupled_formula = w0 * (1 - lr * wd) - lr * g / (g.abs() + eps)

    m1, m2 = _clone(model), _clone(model)
    opt1 = torch.optim.Adam(m1.parameters(), lr=lr, eps=eps)
    _run(m1, X, y, opt1, 1, loss_term=L2(wd))
    opt2 = torch.optim.Adam(m2.parameters(), lr=lr, eps=eps)
    _run(m2, X, y, opt2, 1, before=DecoupledWeightDecay(wd), lr=lr)
    torch.testing.assert_close(m1.weight.detach(), coupled_formula, rtol=0, atol=1e-12)
    torch.testing.assert_close(m2.weight.detach(), decoupled_formula, rtol=0, atol=1e-12)
    # biases are outside the default mask: no decay in either form, the same Adam step
    torch.testing.assert_close(m1.bias.detach(), m2.bias.detach(), rtol=0, atol=1e-14)


def test_sgd_without_momentum_coupled_equals_decoupled():
    X, y, model = _linear_problem(seed=5)
    lr, wd = 0.1, 0.7
    m1, m2, m3 = _clone(model), _clone(model), _clone(model)
    a = _run(m1, X, y, torch.optim.SGD(m1.parameters(), lr=lr), 9, loss_term=L2(wd))
    b = _run(m2, X, y, torch.optim.SGD(m2.parameters(), lr=lr), 9,
             before=DecoupledWeightDecay(wd), lr=lr)  # fmt: skip
    torch.testing.assert_close(a, b, rtol=0, atol=1e-13)
    # after the step instead: off by O(lr^2 * wd), small but not zero
    c = _run(m3, X, y, torch.optim.SGD(m3.parameters(), lr=lr), 9,
             after=DecoupledWeightDecay(wd), lr=lr)  # fmt: skip
    gap = float(torch.max(torch.abs(a - c)))
    assert 0 < gap < 10 * lr**2 * wd


# --------------------------------------------------------------- masks


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 3, 3)
        self.bn = nn.BatchNorm1d(3)
        self.fc = nn.Linear(12, 4)
        self.ln = nn.LayerNorm(4)
        self.head = nn.Linear(4, 2, bias=False)
        self.frozen = nn.Linear(2, 2)
        self.frozen.weight.requires_grad_(False)

    def forward(self, x):
        h = self.bn(self.conv(x)).flatten(1)
        return self.head(self.ln(self.fc(h)))


def test_default_mask_skips_biases_norm_layers_and_frozen_parameters():
    net = _Net()
    names = [n for n, _ in select_parameters(net)]
    assert names == ["conv.weight", "fc.weight", "head.weight"]
    for cls in (L1, L2, GroupLasso):
        assert cls(0.1).selected(net) == names
    assert not default_mask("fc.bias", net.fc.bias, net.fc)
    assert not default_mask("bn.weight", net.bn.weight, net.bn)


def test_steps_leave_unselected_parameters_untouched():
    net = _Net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    L1(10.0).step(net, 1.0)  # a huge threshold zeroes every selected weight
    after = net.state_dict()
    for name in ("conv.weight", "fc.weight", "head.weight"):
        assert torch.count_nonzero(after[name]) == 0
    for name, value in before.items():
        if name not in ("conv.weight", "fc.weight", "head.weight"):
            torch.testing.assert_close(after[name], value, rtol=0, atol=0)


def test_penalty_values_match_their_formulas():
    net = _Net()
    ws = [net.conv.weight, net.fc.weight, net.head.weight]
    l1 = sum(w.abs().sum() for w in ws)
    sq = sum((w**2).sum() for w in ws)
    torch.testing.assert_close(L1(0.3)(net), 0.3 * l1)
    torch.testing.assert_close(L2(0.3)(net), 0.15 * sq)
    torch.testing.assert_close(ElasticNet(0.3, 0.25)(net), 0.3 * (0.25 * l1 + 0.375 * sq))
    group = sum(
        np.sqrt(w[0].numel()) * torch.linalg.vector_norm(w.reshape(w.shape[0], -1), dim=1).sum()
        for w in ws
    )
    torch.testing.assert_close(GroupLasso(0.3)(net), 0.3 * group)


def test_pattern_and_callable_masks():
    net = _Net()
    assert L1(1.0, mask="fc.*").selected(net) == ["fc.weight", "fc.bias"]
    assert L1(1.0, mask=["*.bias"]).selected(net) == ["conv.bias", "bn.bias", "fc.bias",
                                                      "ln.bias", "frozen.bias"]  # fmt: skip
    only_bn = L2(1.0, mask=lambda name, p, module: isinstance(module, nn.BatchNorm1d))
    assert only_bn.selected(net) == ["bn.weight", "bn.bias"]


def test_tied_parameter_is_penalized_once():
    a = nn.Linear(3, 3, bias=False)
    net = nn.Sequential(a, nn.ReLU(), a)
    torch.testing.assert_close(L1(1.0)(net), a.weight.abs().sum())


# --------------------------------------------------------------- group lasso, max-norm


def test_group_lasso_step_zeroes_whole_output_units():
    lin = nn.Linear(4, 3, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[3.0, 4.0, 0, 0], [0.1, 0.1, 0.1, 0.1], [0, 0, 0, 0]]))
    t, lam = 0.5, 1.0
    GroupLasso(lam).step(lin, t)  # threshold t*lam*sqrt(4) = 1
    expected = torch.zeros(3, 4, dtype=torch.float64)
    # the row of norm 5 shrinks by the factor 1 - 1/5; the others are zeroed
    expected[0, :2] = torch.tensor([3.0, 4.0], dtype=torch.float64) * (1 - 1 / 5)
    torch.testing.assert_close(lin.weight.detach(), expected, rtol=0, atol=1e-15)
    # the loss-term form has finite gradients even at a zero unit
    GroupLasso(lam)(lin).backward()
    assert torch.isfinite(lin.weight.grad).all()


def test_max_norm_projects_rows_and_reports_violation():
    lin = nn.Linear(2, 2, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[3.0, 4.0], [0.3, 0.4]]))
    mn = MaxNorm(2.0)
    assert mn(lin).item() == pytest.approx(3.0)
    mn.step(lin)
    torch.testing.assert_close(
        lin.weight.detach(), torch.tensor([[1.2, 1.6], [0.3, 0.4]], dtype=torch.float64)
    )
    assert mn(lin).item() == pytest.approx(0.0, abs=1e-12)


def test_step_uses_each_parameter_groups_learning_rate():
    net = nn.Sequential(nn.Linear(2, 2, bias=False), nn.Linear(2, 2, bias=False)).double()
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(1.0)
    opt = torch.optim.SGD(
        [{"params": net[0].parameters(), "lr": 0.1}, {"params": net[1].parameters(), "lr": 0.5}]
    )
    L1(1.0).step(net, opt)
    assert torch.all(net[0].weight == 0.9) and torch.all(net[1].weight == 0.5)
    partial = torch.optim.SGD(net[0].parameters(), lr=0.1)
    with pytest.raises(ValueError, match="not held by the optimizer"):
        L1(1.0).step(net, partial)


# --------------------------------------------------------------- bad input


def test_bad_inputs_raise_clear_errors():
    net = nn.Linear(2, 1)
    with pytest.raises(ValueError, match="lam must be a finite number >= 0"):
        L1(-1.0)
    with pytest.raises(TypeError, match="lam must be a real number"):
        L2("0.1")
    with pytest.raises(ValueError, match="l1_ratio must lie in"):
        ElasticNet(0.1, 1.5)
    with pytest.raises(ValueError, match="max_norm must be > 0"):
        MaxNorm(0.0)
    with pytest.raises(ValueError, match="lr must be a finite number >= 0"):
        L1(0.1).step(net, -0.1)
    with pytest.raises(TypeError, match="lr must be a number >= 0 or a torch.optim"):
        L1(0.1).step(net, "fast")
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        L1(0.1)(np.zeros(3))
    with pytest.raises(ValueError, match="mask selects no parameter"):
        L1(0.1, mask="encoder.*")(net)
    with pytest.raises(TypeError, match="mask must be None, a callable"):
        L1(0.1, mask=3)(net)
    with pytest.raises(TypeError, match="not a loss term"):
        DecoupledWeightDecay(0.1)(net)
    with pytest.raises(ValueError, match="decay factor 1 - lr\\*weight_decay would be negative"):
        DecoupledWeightDecay(20.0).step(net, 0.1)
