"""model.summary() and fm.check_gradients (with a deliberately wrong gradient it must flag)."""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm

ARCHS = [
    # (input_dim, layers)
    (1, [fm.Dense(1)]),
    (7, [fm.Dense(13, activation="relu"), fm.Dropout(0.5), fm.Dense(3)]),
    (784, [fm.Dense(256, activation="relu"), fm.Dense(128, activation="tanh"), fm.Dense(10)]),
    (5, [fm.Dropout(0.1), fm.Dense(2, activation="sigmoid"), fm.Dense(2), fm.Dropout(0.2), fm.Dense(31)]),
]


@pytest.mark.parametrize("case", range(len(ARCHS)))
def test_summary_counts_parameters_and_shapes(case):
    n_in, layers = ARCHS[case]
    model = fm.Sequential(layers, input_dim=n_in)
    printed = []
    text = model.summary(print_fn=printed.append)
    assert printed == [text]
    assert f"Total params: {model.num_params:,}" in text
    assert "Trainable params" in text and "Non-trainable params: 0" in text
    width = n_in
    rows = [line for line in text.splitlines() if line.startswith(("dense", "dropout"))]
    assert len(rows) == len(layers)
    for row, layer in zip(rows, layers):
        if isinstance(layer, fm.Dense):
            params = layer.units * (width + 1)
            width = layer.units
        else:
            params = 0
        assert row.split()[-1] == f"{params:,}" and f"(None, {width})" in row


def test_summary_names_layers_like_keras_and_prints(capsys):
    model = fm.Sequential([fm.Dense(4, activation="relu"), fm.Dropout(0.1), fm.Dense(2)], input_dim=3)
    text = model.summary()
    assert capsys.readouterr().out == text + "\n"
    names = [line.split()[0] for line in text.splitlines() if line.startswith(("dense", "dropout"))]
    assert names == ["dense", "dropout", "dense_1"]


def test_summary_before_the_input_width_is_known_raises():
    with pytest.raises(RuntimeError, match="input_dim"):
        fm.Sequential([fm.Dense(3)]).summary()


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


def test_summary_counts_normalisation_parameters_and_running_statistics():
    model = fm.Sequential([fm.Dense(6), fm.BatchNorm(), fm.Dense(4), fm.LayerNorm(), fm.BatchNorm(affine=False),
                           fm.LayerNorm(elementwise_affine=False)], input_dim=3)
    text = model.summary(print_fn=lambda _: None)
    n_buffers = sum(b.size for b in model.buffers())
    assert n_buffers == 2 * 6 + 2 * 4
    assert f"Trainable params: {model.num_params:,}" in text
    assert f"Non-trainable params: {n_buffers:,}" in text
    assert f"Total params: {model.num_params + n_buffers:,}" in text
    counts = [line.split()[-1] for line in text.splitlines() if line.startswith(("batchnorm", "layernorm"))]
    assert counts == [f"{4 * 6}", f"{2 * 4}", f"{2 * 4}", "0"]
