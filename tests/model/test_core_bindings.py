"""The compiled core's binding surface: _core.LayerSpec, the stats dicts computed by LossStats, the
optimizer and generator state checks owned by the C++ classes, and _core.matmul's float32-only
operands (fm.matmul converts)."""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import _core


# --------------------------------------------------------------------------- LayerSpec
def test_layer_spec_keyword_constructor_and_fields():
    spec = _core.LayerSpec("batch_norm", momentum=0.25, eps=1e-3, affine=False, track_running_stats=False)
    assert spec.kind == "batch_norm"
    assert spec.momentum == np.float32(0.25) and spec.eps == np.float32(1e-3)
    assert spec.affine is False and spec.track_running_stats is False
    dense = _core.LayerSpec("dense", units=7, activation="leaky_relu", activation_params={"negative_slope": 0.2},
                            kernel_init="he_normal", bias_init="zeros", l1=0.5, l2=0.25)
    assert (dense.kind, dense.units, dense.l1, dense.l2) == ("dense", 7, 0.5, 0.25)
    defaults = _core.LayerSpec("dropout")
    assert (defaults.units, defaults.rate, defaults.l1, defaults.l2) == (0, 0.0, 0.0, 0.0)
    assert defaults.affine is True and defaults.track_running_stats is True


def test_layer_spec_takes_only_the_kind_positionally():
    with pytest.raises(TypeError):
        _core.LayerSpec("dense", 3)  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs,pattern",
    [
        ({"kind": "conv"}, r"unknown layer kind 'conv'; expected one of: dense, dropout, layer_norm, batch_norm"),
        ({"kind": "dense", "units": 2, "activation": "swish"}, r"unknown activation 'swish'"),
        ({"kind": "dense", "units": 2, "activation": "relu", "activation_params": {"alpha": 1.0}}, r"alpha"),
        ({"kind": "dense", "units": 2, "kernel_init": "uniform"}, r"unknown kernel initialiser 'uniform'"),
        ({"kind": "dense", "units": 2, "bias_init": "ones"}, r"unknown bias initialiser 'ones'"),
    ],
)
def test_layer_spec_parses_names_on_construction(kwargs, pattern):
    kind = kwargs.pop("kind")
    with pytest.raises(ValueError, match=pattern):
        _core.LayerSpec(kind, **kwargs)


def test_network_from_specs_matches_sequential_bitwise():
    layers = [fm.Dense(6, activation="elu", kernel_init="glorot_uniform"), fm.LayerNorm(), fm.Dropout(0.1),
              fm.BatchNorm(momentum=0.3), fm.Dense(2, kernel_regularizer=fm.regularizers.L2(0.01))]
    model = fm.Sequential(layers, input_dim=4, seed=11)
    net = _core.Network(4, [layer._core_spec() for layer in layers], 11)
    for got, want in zip(net.parameters(), model.parameters()):
        assert got.tobytes() == want.tobytes()
    specs = [layer._core_spec() for layer in layers]
    assert [s.kind for s in specs] == ["dense", "layer_norm", "dropout", "batch_norm", "dense"]
    assert specs[4].l2 == np.float32(0.01) and specs[2].rate == np.float32(0.1)


def test_network_checks_spec_values():
    with pytest.raises(ValueError, match="Dense units must be a positive integer"):
        _core.Network(3, [_core.LayerSpec("dense")], 0)
    with pytest.raises(ValueError, match=r"Dropout rate must be in \[0, 1\)"):
        _core.Network(3, [_core.LayerSpec("dropout", rate=1.0)], 0)
    with pytest.raises(ValueError, match="layers\\[0\\]: softmax"):
        _core.Network(3, [_core.LayerSpec("dense", units=3, activation="softmax"), _core.LayerSpec("dropout")], 0)


# --------------------------------------------------------------------------- stats dicts
def _net(loss, outputs, seed=0):
    net = _core.Network(5, [_core.LayerSpec("dense", units=8, activation="tanh"),
                            _core.LayerSpec("dense", units=outputs)], seed)
    net.set_loss(loss)
    net.set_sgd(0.01, 0.0, 0.0, 0.0, False)
    return net


@pytest.mark.parametrize("loss,outputs,per_row", [("cross_entropy", 3, 1), ("binary_cross_entropy", 2, 2),
                                                   ("mse", 2, 1)])
def test_stats_dicts_count_samples_and_predictions(loss, outputs, per_row):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((37, 5)).astype(np.float32)
    if loss == "cross_entropy":
        y = rng.integers(0, outputs, size=37).astype(np.int64)
    elif loss == "binary_cross_entropy":
        y = (rng.random((37, outputs)) > 0.5).astype(np.float32)
    else:
        y = rng.standard_normal((37, outputs)).astype(np.float32)
    net = _net(loss, outputs)
    keys = {"loss", "samples", "predictions", "correct", "abs_error_sum", "sq_error_sum"}
    epoch = net.train_epoch(X, y, 8, True)
    assert set(epoch) == keys | {"steps", "diverged"}
    assert (epoch["samples"], epoch["predictions"], epoch["steps"]) == (37, 37 * per_row, 5)
    step = net.train_step(X[:9], y[:9])
    assert set(step) == keys | {"diverged"} and (step["samples"], step["predictions"]) == (9, 9 * per_row)
    for stats in (net.evaluate(X, y), net.compute_gradients(X, y)):
        assert set(stats) == keys and (stats["samples"], stats["predictions"]) == (37, 37 * per_row)
    value, _ = _core.loss(loss, net.predict(X), y)
    assert net.evaluate(X, y)["loss"] == pytest.approx(value, rel=1e-12)


def test_set_loss_checks_its_hyperparameters_in_cpp():
    net = _net("mse", 2)
    with pytest.raises(ValueError, match="huber_delta must be positive and finite"):
        net.set_loss("huber", huber_delta=float("inf"))
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\]"):
        net.set_loss("cross_entropy", label_smoothing=float("nan"))
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        net.set_loss("hinge")


# --------------------------------------------------------------------------- state owned by C++
def test_optimizer_state_checks_then_copies():
    net = _net("mse", 2)
    net.set_rmsprop(0.01, 0.99, 1e-8, 0.0, 0.9, True)
    X = np.ones((4, 5), np.float32)
    net.train_step(X, np.zeros((4, 2), np.float32))
    good = net.optimizer_state()
    assert list(good) == ["step", "square_avg", "momentum_buffer", "grad_avg"]
    bad_last = {**good, "grad_avg": np.full_like(good["grad_avg"], np.inf),
                "square_avg": np.zeros_like(good["square_avg"])}
    with pytest.raises(ValueError, match="'grad_avg' contains NaN or infinite values"):
        net.set_optimizer_state(bad_last)
    after = net.optimizer_state()
    np.testing.assert_array_equal(after["square_avg"], good["square_avg"])  # nothing copied
    with pytest.raises(ValueError, match=r"exactly the keys 'step', 'square_avg', 'momentum_buffer', 'grad_avg'"):
        net.set_optimizer_state({k: v for k, v in good.items() if k != "step"})
    with pytest.raises(ValueError, match="'momentum_buffer' must be a 1-D float array"):
        net.set_optimizer_state({**good, "momentum_buffer": good["momentum_buffer"].reshape(1, -1)})
    restored = {**good, "step": 5, "square_avg": good["square_avg"] * 2}
    net.set_optimizer_state(restored)
    after = net.optimizer_state()
    assert after["step"] == 5
    np.testing.assert_array_equal(after["square_avg"], good["square_avg"] * 2)


def test_rng_state_word_count_is_checked_in_cpp():
    net = _net("mse", 2)
    state = net.rng_state()
    with pytest.raises(ValueError, match="state must be 8 uint64 words, got 9"):
        net.set_rng_state(state + [1])
    net.set_rng_state(state)
    assert net.rng_state() == state


# --------------------------------------------------------------------------- matmul operands
def test_core_matmul_takes_float32_arrays_only():
    a = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match="a must be a float32 NumPy array"):
        _core.matmul(a.astype(np.float64), a.T)
    with pytest.raises(ValueError, match="b must be a float32 NumPy array"):
        _core.matmul(a, [[1.0]] * 3)  # type: ignore[arg-type]
    np.testing.assert_array_equal(_core.matmul(a, np.asfortranarray(a.T)), np.full((2, 2), 3.0, np.float32))


def test_fm_matmul_converts_other_operands_once():
    a = np.arange(6, dtype=">f4").reshape(2, 3)  # float32, but not in native byte order
    b = np.arange(6, dtype=np.float16).reshape(3, 2)
    np.testing.assert_array_equal(fm.matmul(a, b), a.astype(np.float64) @ b.astype(np.float64))
    with pytest.raises(ValueError, match=r"^a must be an array of real numbers \(given a: list"):
        fm.matmul([[1.0, 2.0], [3.0]], b)
