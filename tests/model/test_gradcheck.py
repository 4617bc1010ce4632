"""Central finite differences of the loss (model.evaluate on fixed data, parameters perturbed through
the writable parameters() views) against model.gradients() after a train_step with SGD(lr=0)."""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm

import reference as ref

CASES = [
    # (input_dim, [(units, activation), ...], loss, batch)
    (4, [(5, "tanh"), (3, "sigmoid"), (2, None)], "cross_entropy", 6),
    (3, [(7, "sigmoid"), (4, None)], "cross_entropy", 1),
    (1, [(3, "tanh"), (1, None)], "mse", 1),
    (5, [(2, "tanh"), (3, "tanh"), (2, "sigmoid")], "mse", 7),
]


def _fixed_data(seed, n_in, n_out, loss, batch):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch, n_in)).astype(np.float32)
    if loss == "cross_entropy":
        y = rng.integers(0, n_out, size=batch)
    else:
        y = rng.standard_normal((batch, n_out)).astype(np.float32)
    return X, y


@pytest.mark.parametrize("case", range(len(CASES)))
def test_gradients_match_central_finite_differences(case):
    n_in, spec, loss, batch = CASES[case]
    model = fm.Sequential([fm.Dense(u, activation=a) for u, a in spec], input_dim=n_in, seed=case + 1)
    model.compile(loss=loss, optimizer=fm.optim.SGD(lr=0.0))
    X, y = _fixed_data(case, n_in, spec[-1][0], loss, batch)

    # scale the weights up a little so the activations are in their curved regime
    for p in model.parameters():
        p *= np.float32(2.0)

    loss_before = model.evaluate(X, y)["loss"]
    step_loss = model.train_step(X, y)
    assert step_loss == pytest.approx(loss_before, rel=1e-6, abs=1e-7)
    grads = [g.copy() for g in model.gradients()]
    params = model.parameters()
    assert [g.shape for g in grads] == [p.shape for p in params]

    h = 1e-2
    for pi, (p, g) in enumerate(zip(params, grads)):
        fd = np.zeros(p.shape, dtype=np.float64)
        for idx in np.ndindex(p.shape):
            orig = p[idx].copy()
            p[idx] = orig + np.float32(h)
            plus = model.evaluate(X, y)["loss"]
            p[idx] = orig - np.float32(h)
            minus = model.evaluate(X, y)["loss"]
            p[idx] = orig
            fd[idx] = (plus - minus) / (2 * h)
        scale = max(np.abs(fd).max(), 1e-3)
        err = np.abs(g.astype(np.float64) - fd)
        assert np.all(err <= 1e-2 * np.abs(fd) + 2e-3 * scale), (
            f"parameter {pi}: max abs error {err.max():.3g}, fd scale {scale:.3g}"
        )
    # the perturbations were undone exactly
    assert model.evaluate(X, y)["loss"] == loss_before


@pytest.mark.parametrize("case", range(len(CASES)))
def test_reference_mlp_gradients_match_finite_differences(case):
    # validates the oracle itself, in float64 with a small step
    n_in, spec, loss, batch = CASES[case]
    rng = np.random.default_rng(50 + case)
    layers, fan_in = [], n_in
    for units, act in spec:
        layers.append((rng.uniform(-1, 1, (units, fan_in)), rng.uniform(-1, 1, units), act))
        fan_in = units
    X, y = _fixed_data(case, n_in, spec[-1][0], loss, batch)
    _, grads, _ = ref.mlp_loss_and_grads(layers, X, y, loss)
    h = 1e-6
    flat = [arr for W, b, _ in layers for arr in (W, b)]
    for arr, g in zip(flat, grads):
        fd = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            orig = arr[idx]
            arr[idx] = orig + h
            plus = ref.mlp_loss(layers, X, y, loss)
            arr[idx] = orig - h
            minus = ref.mlp_loss(layers, X, y, loss)
            arr[idx] = orig
            fd[idx] = (plus - minus) / (2 * h)
        np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-8)
