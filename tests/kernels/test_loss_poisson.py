"""The Poisson loss (issue 20): ``exp(z) - y z`` on the log of the mean z, PyTorch's
PoissonNLLLoss(log_input=True, full=False). Value and gradient against a float64 NumPy reference and
torch autograd (batch 1, one and three outputs, y = 0, large and very negative z); the gradient of a
whole network (loss_and_gradients) against backprop by hand in float64; fit / evaluate / train_step
and their metrics (on the mean exp(z)); divergence when exp overflows; targets >= 0; files and
torch interop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import fastmlp as fm
from fastmlp import _core

SHAPES = [(1, 1), (1, 3), (2, 3), (7, 1), (13, 3), (31, 17), (64, 2)]
NEGATIVE = "Some value\\(s\\) of y are negative which is not allowed for Poisson regression"


def _reference(z, y, sw=None):
    """float64 (mean loss, gradient) of sum_ij s_i (exp(z) - y z) / sum_ij s_i."""
    z = np.asarray(z, np.float64)
    y = np.asarray(y, np.float64)
    s = np.ones(z.shape[0]) if sw is None else np.asarray(sw, np.float64)
    total = s.sum() * z.shape[1]
    mean = np.exp(z)
    return float((s[:, None] * (mean - y * z)).sum() / total), s[:, None] * (mean - y) / total


def _counts(rng, rows, cols, lam=2.0):
    y = rng.poisson(lam, (rows, cols)).astype(np.float32)
    y[0, 0] = 0.0  # a zero count in every case
    return y


@pytest.mark.parametrize("rows,cols", SHAPES)
def test_value_and_gradient_match_numpy_and_torch_float64(rows, cols):
    rng = np.random.default_rng(rows * 100 + cols)
    z = rng.standard_normal((rows, cols)).astype(np.float32)
    y = _counts(rng, rows, cols)
    value, grad = _core.loss("poisson", z, y)
    rvalue, rgrad = _reference(z, y)
    assert isinstance(value, float) and grad.dtype == np.float32 and grad.shape == z.shape
    np.testing.assert_allclose(value, rvalue, rtol=1e-12)  # float64 accumulation: the same sum
    np.testing.assert_allclose(grad, rgrad, rtol=1e-6, atol=1e-9)  # float32 rounding of the gradient
    t = torch.from_numpy(z.astype(np.float64)).requires_grad_(True)
    tl = torch.nn.PoissonNLLLoss(log_input=True, full=False)(t, torch.from_numpy(y.astype(np.float64)))
    tl.backward()
    np.testing.assert_allclose(value, float(tl.detach()), rtol=1e-12)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-6, atol=1e-9)


def test_all_zero_targets_and_very_negative_z():
    z = np.array([[-1e4, 0.0, 3.0], [-80.0, 1.0, -2.0]], np.float32)
    y0 = np.zeros_like(z)
    value, grad = _core.loss("poisson", z, y0)
    rvalue, rgrad = _reference(z, y0)
    np.testing.assert_allclose(value, rvalue, rtol=1e-12)
    np.testing.assert_allclose(grad, rgrad, rtol=1e-6, atol=1e-30)
    assert grad[0, 0] == 0.0  # exp(-1e4) underflows to 0: the gradient too, not NaN
    y = np.full_like(z, 3.0)
    value, grad = _core.loss("poisson", z, y)
    rvalue, rgrad = _reference(z, y)
    assert value == pytest.approx(rvalue, rel=1e-12) and value > 5e3  # -y z = 3e4 / 6
    np.testing.assert_allclose(grad, rgrad, rtol=1e-6)


def test_large_z_is_finite_until_exp_overflows():
    y = np.array([[0.0, 5.0]], np.float32)
    # exp(80) = 5.5e34 fits float32: finite value and gradient
    value, grad = _core.loss("poisson", np.array([[80.0, 80.0]], np.float32), y)
    rvalue, rgrad = _reference([[80.0, 80.0]], y)
    assert np.isfinite(value) and np.isfinite(grad).all()
    np.testing.assert_allclose(value, rvalue, rtol=1e-12)
    np.testing.assert_allclose(grad, rgrad, rtol=1e-6)
    # exp(100) / 2 is finite in float64 (the loss) but not in float32 (the gradient)
    value, grad = _core.loss("poisson", np.array([[100.0, 0.0]], np.float32), y)
    assert np.isfinite(value) and np.isinf(grad[0, 0]) and np.isfinite(grad[0, 1])
    # exp(1000) overflows float64: an infinite loss
    value, _ = _core.loss("poisson", np.array([[1000.0, 0.0]], np.float32), y)
    assert value == np.inf


def test_sample_weight_is_the_weighted_mean():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((9, 3)).astype(np.float32)
    y = _counts(rng, 9, 3)
    sw = rng.uniform(0.0, 3.0, 9).astype(np.float32)
    value, grad = _core.loss("poisson", z, y, sample_weight=sw)
    rvalue, rgrad = _reference(z, y, sw)
    np.testing.assert_allclose(value, rvalue, rtol=1e-12)
    np.testing.assert_allclose(grad, rgrad, rtol=1e-6, atol=1e-9)


# --------------------------------------------------------------------------- through the model
def _model(n_out, seed=0, optimizer=None, metrics=None, loss="poisson"):
    model = fm.Sequential([fm.Dense(5, activation="tanh"), fm.Dense(n_out)], input_dim=4, seed=seed)
    model.compile(loss=loss, optimizer=optimizer or fm.optim.SGD(lr=0.05), metrics=metrics or [])
    return model


def _data(n, n_out, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4)).astype(np.float32)
    rate = np.exp(0.5 * X[:, :1] - 0.3 * X[:, 1:2] + 0.2 * np.arange(n_out))
    return X, rng.poisson(rate).astype(np.float32)


def _backprop(params, X, y):
    """float64 (loss, [dW0, db0, dW1, db1]) of tanh hidden layer + linear output, by hand."""
    W0, b0, W1, b1 = [p.astype(np.float64) for p in params]
    h = np.tanh(X.astype(np.float64) @ W0.T + b0)
    z = h @ W1.T + b1
    value, dz = _reference(z, y)
    dh = (dz @ W1) * (1.0 - h * h)
    return value, [dh.T @ X.astype(np.float64), dh.sum(axis=0), dz.T @ h, dz.sum(axis=0)]


@pytest.mark.parametrize("n,n_out", [(1, 1), (1, 3), (6, 1), (11, 3)])
def test_loss_and_gradients_of_a_network_match_backprop_in_float64(n, n_out):
    model = _model(n_out, seed=n)
    X, y = _data(n, n_out, seed=n)
    value, grads = model.loss_and_gradients(X, y)
    rvalue, rgrads = _backprop(model.parameters(), X, y)
    assert value == pytest.approx(rvalue, rel=1e-5)
    for g, r in zip(grads, rgrads):
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-6)


def test_train_step_returns_the_loss_before_the_update_and_takes_the_sgd_step():
    model = _model(3)
    X, y = _data(10, 3)
    before = [p.astype(np.float64) for p in model.parameters()]
    rvalue, rgrads = _backprop(before, X, y)
    assert model.train_step(X, y) == pytest.approx(rvalue, rel=1e-5)
    for p, b, g in zip(model.parameters(), before, rgrads):
        np.testing.assert_allclose(p, b - 0.05 * g, rtol=1e-5, atol=1e-6)


def test_evaluate_reports_the_loss_and_metrics_of_the_mean():
    model = _model(3, metrics=["mse", "mae", "r2"])
    X, y = _data(40, 3)
    scores = model.evaluate(X, y)
    z = model.predict(X)  # the log of the mean
    mean = np.exp(z.astype(np.float64))
    assert scores["loss"] == pytest.approx(_reference(z, y)[0], rel=1e-6)
    assert scores["mse"] == pytest.approx(((mean - y) ** 2).mean(), rel=1e-5)
    assert scores["mae"] == pytest.approx(np.abs(mean - y).mean(), rel=1e-5)
    ss_res = ((y - mean) ** 2).sum(axis=0)
    ss_tot = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    assert scores["r2"] == pytest.approx(float(np.mean(1.0 - ss_res / ss_tot)), rel=1e-4)


def test_fit_learns_the_rate_and_logs_validation_values():
    model = _model(1, optimizer=fm.optim.Adam(lr=0.02), metrics=["mae"])
    X, y = _data(400, 1, seed=5)
    history = model.fit(X, y[:, 0], epochs=30, batch_size=32, verbose=0, validation_split=0.2)
    losses = history.history["loss"]
    assert losses[-1] < losses[0] - 0.1 and np.isfinite(history.history["val_loss"]).all()
    assert set(history.history) == {"loss", "mae", "val_loss", "val_mae"}
    # the predicted mean follows the true rate exp(0.5 x0 - 0.3 x1)
    rate = np.exp(0.5 * X[:, 0] - 0.3 * X[:, 1])
    assert np.corrcoef(np.exp(model.predict(X)[:, 0]), rate)[0, 1] > 0.9


def test_an_overflowing_exp_is_reported_as_divergence():
    model = _model(1, optimizer=fm.optim.SGD(lr=0.0))
    X, y = _data(8, 1)
    model.parameters()[3][...] = 1000.0  # output bias: z ~ 1000, exp overflows
    before = [p.copy() for p in model.parameters()]
    with pytest.raises(FloatingPointError, match="diverged"):
        model.fit(X, y, epochs=1, batch_size=8, verbose=0)
    with pytest.raises(FloatingPointError):
        model.train_step(X, y)
    with pytest.raises(FloatingPointError, match="the loss is inf"):
        model.evaluate(X, y)
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p, b)


@pytest.mark.parametrize("call", [
    lambda m, X, y: m.fit(X, y, verbose=0),
    lambda m, X, y: m.evaluate(X, y),
    lambda m, X, y: m.train_step(X, y),
    lambda m, X, y: m.loss_and_gradients(X, y),
])
def test_negative_targets_raise_value_error_naming_y(call):
    model = _model(2)
    X, y = _data(6, 2)
    y[3, 1] = -0.5
    with pytest.raises(ValueError, match=NEGATIVE + r" \(loss 'poisson': targets must be >= 0, got a minimum of -0.5\)"):
        call(model, X, y)


def test_negative_validation_targets_name_the_validation_array():
    model = _model(2)
    X, y = _data(6, 2)
    with pytest.raises(ValueError, match=r"Some value\(s\) of validation_data\[1\] are negative"):
        model.fit(X, y, verbose=0, validation_data=(X, -y - 1.0))


def test_names_and_metrics():
    assert fm.losses.get("poisson_nll_loss").name == "poisson"
    assert isinstance(fm.losses.get("Poisson"), fm.losses.Poisson)
    model = _model(1)
    with pytest.raises(ValueError, match="needs a classification loss.*'poisson'"):
        model.compile(loss="poisson", metrics=["accuracy"])


# --------------------------------------------------------------------------- files and torch
def test_save_and_load_continue_bit_for_bit(tmp_path):
    X, y = _data(50, 2, seed=7)
    a = _model(2, optimizer=fm.optim.Adam(lr=0.01), metrics=["mse"])
    a.fit(X, y, epochs=2, batch_size=8, verbose=0)
    a.save(tmp_path / "m.safetensors")
    b = fm.load(tmp_path / "m.safetensors")
    assert isinstance(b.loss, fm.losses.Poisson)
    ha = a.fit(X, y, epochs=4, batch_size=8, verbose=0, initial_epoch=2)
    hb = b.fit(X, y, epochs=4, batch_size=8, verbose=0, initial_epoch=2)
    assert ha.history == hb.history
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)
    c = fm.io.from_bytes(fm.io.to_bytes(a))  # pickling's path
    assert c.loss.name == "poisson" and c.evaluate(X, y) == a.evaluate(X, y)


def test_to_torch_predicts_the_log_mean_and_trains_with_poisson_nll_loss():
    model = _model(3)
    X, y = _data(12, 3)
    net = fm.to_torch(model).double()
    xt = torch.from_numpy(X.astype(np.float64))
    np.testing.assert_allclose(net(xt).detach().numpy(), model.predict(X), rtol=1e-5, atol=1e-6)
    tl = F.poisson_nll_loss(net(xt), torch.from_numpy(y.astype(np.float64)), log_input=True, full=False)
    assert model.evaluate(X, y)["loss"] == pytest.approx(float(tl.detach()), rel=1e-5)
