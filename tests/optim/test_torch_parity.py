"""Parity with PyTorch (CPU, float32): the same initial weights, the same batches, the same optimizer;
per-step losses and gradients, and the final weights and predictions, agree to float32 accuracy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import fastmlp as fm

N_STEPS = 20
BATCH_SIZES = [1, 7, 13, 16, 31, 2, 3, 17] * 3  # cycled over the steps


def _torch_act(name):
    return {"relu": torch.nn.ReLU(), "tanh": torch.nn.Tanh(), "sigmoid": torch.nn.Sigmoid(), None: None}[name]


def _build(n_in, spec, seed):
    """fastmlp model and a torch.nn.Sequential holding a float32 copy of its initial weights."""
    model = fm.Sequential([fm.Dense(u, activation=a) for u, a in spec], input_dim=n_in, seed=seed)
    modules, fan_in = [], n_in
    params = model.parameters()
    for i, (units, act) in enumerate(spec):
        lin = torch.nn.Linear(fan_in, units)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(params[2 * i].copy()))
            lin.bias.copy_(torch.from_numpy(params[2 * i + 1].copy()))
        modules.append(lin)
        if _torch_act(act) is not None:
            modules.append(_torch_act(act))
        fan_in = units
    net = torch.nn.Sequential(*modules)
    return model, net, [p for p in net.parameters()]


def _batches(seed, n_in, n_out, loss):
    rng = np.random.default_rng(seed)
    out = []
    for step in range(N_STEPS):
        bs = BATCH_SIZES[step]
        x = rng.standard_normal((bs, n_in)).astype(np.float32)
        if loss == "cross_entropy":
            y = rng.integers(0, n_out, size=bs)
        else:
            y = rng.standard_normal((bs, n_out)).astype(np.float32)
        out.append((x, y))
    return out


def _run_parity(n_in, spec, loss, make_fm_opt, make_torch_opt, seed):
    torch.manual_seed(0)
    model, net, tparams = _build(n_in, spec, seed)
    model.compile(loss=loss, optimizer=make_fm_opt())
    initial = [p.copy() for p in model.parameters()]
    opt = make_torch_opt(tparams)
    criterion = torch.nn.CrossEntropyLoss() if loss == "cross_entropy" else torch.nn.MSELoss()
    n_out = spec[-1][0]
    losses_fm, losses_torch = [], []
    for x, y in _batches(seed, n_in, n_out, loss):
        losses_fm.append(model.train_step(x, y))
        opt.zero_grad()
        target = torch.from_numpy(np.asarray(y, dtype=np.int64 if loss == "cross_entropy" else np.float32))
        t_loss = criterion(net(torch.from_numpy(x)), target)
        t_loss.backward()
        losses_torch.append(float(t_loss.detach()))
        # gradients of this step, before torch's update
        for g, tp in zip(model.gradients(), tparams):
            np.testing.assert_allclose(g, tp.grad.numpy(), rtol=1e-4, atol=1e-5)
        opt.step()
    np.testing.assert_allclose(losses_fm, losses_torch, rtol=1e-4, atol=1e-5)
    for p, tp in zip(model.parameters(), tparams):
        np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-4, atol=1e-5)
    # and the trained networks predict the same
    xs = np.random.default_rng(seed + 1).standard_normal((33, n_in)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(xs)).numpy()
    np.testing.assert_allclose(model.predict(xs), expected, rtol=1e-4, atol=1e-5)
    # the run really trained: every weight matrix moved away from its initial values
    for p, p0 in zip(model.parameters()[::2], initial[::2]):
        assert np.abs(p - p0).max() > 1e-3
    return losses_fm


CLASSIFIER = (20, [(32, "relu"), (16, "tanh"), (5, None)])


def test_sgd_momentum_parity():
    n_in, spec = CLASSIFIER
    _run_parity(n_in, spec, "cross_entropy",
                lambda: fm.optim.SGD(lr=0.05, momentum=0.9),
                lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9), seed=1)


def test_sgd_nesterov_weight_decay_parity():
    n_in, spec = CLASSIFIER
    _run_parity(n_in, spec, "cross_entropy",
                lambda: fm.optim.SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2),
                lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2), seed=2)


def test_sgd_dampening_parity():
    n_in, spec = CLASSIFIER
    _run_parity(n_in, spec, "cross_entropy",
                lambda: fm.optim.SGD(lr=0.05, momentum=0.5, dampening=0.5),
                lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.5, dampening=0.5), seed=5)


def test_adam_parity():
    n_in, spec = CLASSIFIER
    losses = _run_parity(n_in, spec, "cross_entropy",
                         lambda: fm.optim.Adam(lr=1e-2),
                         lambda ps: torch.optim.Adam(ps, lr=1e-2), seed=3)
    assert np.all(np.isfinite(losses))


def test_adam_weight_decay_parity():
    n_in, spec = CLASSIFIER
    _run_parity(n_in, spec, "cross_entropy",
                lambda: fm.optim.Adam(lr=1e-2, weight_decay=1e-2),
                lambda ps: torch.optim.Adam(ps, lr=1e-2, weight_decay=1e-2), seed=6)


def test_mse_regression_parity():
    spec = [(17, "sigmoid"), (7, "tanh"), (3, None)]
    _run_parity(13, spec, "mse",
                lambda: fm.optim.SGD(lr=0.1, momentum=0.5),
                lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.5), seed=4)


def test_initial_forward_matches_torch():
    n_in, spec = CLASSIFIER
    model, net, _ = _build(n_in, spec, seed=9)
    x = np.random.default_rng(9).standard_normal((65, n_in)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-6)
    # same default init distribution as torch.nn.Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    for p, fan_in in zip(model.parameters()[::2], (n_in, 32, 16)):
        assert np.abs(p).max() <= 1.0 / np.sqrt(fan_in)


@pytest.mark.parametrize("rows,classes", [(1, 2), (7, 5), (31, 17)])
def test_cross_entropy_matches_torch(rows, classes):
    from fastmlp import _core

    rng = np.random.default_rng(rows)
    logits = (4 * rng.standard_normal((rows, classes))).astype(np.float32)
    labels = rng.integers(0, classes, size=rows).astype(np.int64)
    t = torch.from_numpy(logits.copy()).requires_grad_(True)
    tl = torch.nn.functional.cross_entropy(t, torch.from_numpy(labels))
    tl.backward()
    value, grad = _core.loss("cross_entropy", logits, labels)
    np.testing.assert_allclose(value, float(tl.detach()), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-4, atol=1e-7)
