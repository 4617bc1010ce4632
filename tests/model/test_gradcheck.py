"""Gradient checks.

- The gradients of train_step against central finite differences of the loss (model.evaluate on
  fixed data, parameters perturbed through the writable parameters() views), read from
  model.gradients() after a train_step with SGD(lr=0); the float64 reference's own gradients
  against finite differences too.
- fm.check_gradients: small on the core's backprop, and a deliberately wrong gradient it must flag;
  it changes neither the weights nor the optimizer state."""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm

import reference as ref


# ------------------------------------------------------------------------- finite differences
FD_CASES = [
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


@pytest.mark.parametrize("case", range(len(FD_CASES)))
def test_gradients_match_central_finite_differences(case):
    n_in, spec, loss, batch = FD_CASES[case]
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


@pytest.mark.parametrize("case", range(len(FD_CASES)))
def test_reference_mlp_gradients_match_finite_differences(case):
    # validates the oracle itself, in float64 with a small step
    n_in, spec, loss, batch = FD_CASES[case]
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


# ------------------------------------------------------------------------- check_gradients
CASES = [
    # (input_dim, [layers], loss, batch, eps)
    (4, [fm.Dense(5, "tanh"), fm.Dense(3, "sigmoid"), fm.Dense(2)], "cross_entropy", 6, 1e-2),
    (3, [fm.Dense(7, "sigmoid"), fm.Dropout(0.5), fm.Dense(4)], "cross_entropy", 1, 1e-2),
    (1, [fm.Dense(3, "tanh"), fm.Dense(1)], "mse", 1, 1e-2),
    (5, [fm.Dense(2, "tanh"), fm.Dense(3, "tanh"), fm.Dense(2, "sigmoid")], "mse", 7, 1e-2),
    # ReLU: a smaller step, so that (for this fixed data) no step crosses a kink
    (6, [fm.Dense(11, "relu"), fm.Dense(3)], "mse", 13, 1e-3),
]


def _case(case, seed=0):
    n_in, layers, loss, batch, _ = CASES[case]
    model = fm.Sequential(layers, input_dim=n_in, seed=case + 1)
    model.compile(loss=loss, optimizer=fm.optim.Adam(lr=0.01))
    rng = np.random.default_rng(seed + case)
    X = rng.standard_normal((batch, n_in)).astype(np.float32)
    n_out = model.output_dim
    y = rng.integers(0, n_out, batch) if loss == "cross_entropy" else rng.standard_normal((batch, n_out)).astype(np.float32)
    return model, X, y


@pytest.mark.parametrize("case", range(len(CASES)))
def test_check_gradients_is_small_for_the_cores_backprop(case):
    model, X, y = _case(case)
    errors = fm.check_gradients(model, X, y, eps=CASES[case][-1])
    names = [n for i, layer in enumerate(model.layers) if isinstance(layer, fm.Dense)
             for n in (f"layers.{i}.weight", f"layers.{i}.bias")]
    assert list(errors) == names
    assert max(errors.values()) < 2e-2, errors


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("tensor", [0, -1])
def test_check_gradients_flags_a_wrong_gradient(case, tensor):
    model, X, y = _case(case)
    correct = model._compute_gradients

    def wrong(X_, y_):
        loss, grads = correct(X_, y_)
        g = grads[tensor].reshape(-1)
        g[int(np.argmax(np.abs(g)))] *= 1.2  # 20% off on one entry
        return loss, grads

    model._compute_gradients = wrong
    errors = fm.check_gradients(model, X, y, eps=CASES[case][-1])
    names = list(errors)
    assert errors[names[tensor]] > 0.1, errors
    assert all(v < 2e-2 for n, v in errors.items() if n != names[tensor]), errors


@pytest.mark.parametrize("case", range(len(CASES)))
def test_check_gradients_changes_neither_weights_nor_optimizer_state(case):
    model, X, y = _case(case)
    twin, _, _ = _case(case)
    model.train_step(X, y)
    twin.train_step(X, y)  # Adam now has state that must survive the check
    before = [p.copy() for p in model.parameters()]
    fm.check_gradients(model, X, y, eps=CASES[case][-1])
    assert all(np.array_equal(a, b) for a, b in zip(before, model.parameters()))
    model.train_step(X, y)
    twin.train_step(X, y)
    assert all(np.array_equal(a, b) for a, b in zip(twin.parameters(), model.parameters()))


def test_check_gradients_sampling_and_arguments():
    model, X, y = _case(4)
    errors = fm.check_gradients(model, X, y, eps=1e-3, max_checks_per_tensor=3, seed=1)
    assert max(errors.values()) < 2e-2
    for kwargs, error in [({"eps": 0}, ValueError), ({"eps": 1.5}, ValueError), ({"atol": -1}, ValueError),
                          ({"max_checks_per_tensor": 0}, ValueError)]:
        with pytest.raises(error):
            fm.check_gradients(model, X, y, **kwargs)
    with pytest.raises(TypeError, match="Sequential"):
        fm.check_gradients("model", X, y)
    with pytest.raises(RuntimeError, match="compile"):
        fm.check_gradients(fm.Sequential([fm.Dense(2)], input_dim=6), X, y)


def test_compute_gradients_equals_train_step_gradients_without_dropout():
    model, X, y = _case(0)
    loss, grads = model._compute_gradients(X, y)
    before = [p.copy() for p in model.parameters()]
    step_loss = model.train_step(X, y)
    assert loss == step_loss
    assert all(np.array_equal(a, b) for a, b in zip(grads, model.gradients()))
    assert not all(np.array_equal(a, b) for a, b in zip(before, model.parameters()))
