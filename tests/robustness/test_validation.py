"""Bad inputs: ValueError naming the argument, RuntimeError before compile, and silent dtype
conversion of acceptable inputs."""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import _core

import reference as ref

N_IN, N_OUT = 7, 3
X_MSG = r"\bX\b"
Y_MSG = r"\by\b"
XY_MSG = r"\b(X|y)\b"


def _classifier(seed=0):
    model = fm.Sequential([fm.Dense(13, activation="relu"), fm.Dense(N_OUT)], input_dim=N_IN, seed=seed)
    model.compile(loss="cross_entropy", optimizer=fm.optim.SGD(lr=0.1), metrics=["accuracy"])
    return model


def _regressor(seed=0):
    model = fm.Sequential([fm.Dense(13, activation="tanh"), fm.Dense(N_OUT)], input_dim=N_IN, seed=seed)
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.1))
    return model


def _data(n=17, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, N_IN)).astype(np.float32), rng.integers(0, N_OUT, size=n)


def _unchanged(model):
    return [p.copy() for p in model.parameters()]


def _assert_same(model, snapshot):
    for p, s in zip(model.parameters(), snapshot):
        np.testing.assert_array_equal(p, s)


def _assert_fit_predict_evaluate_reject_X(model, X, y):
    """fit, predict and evaluate each raise a ValueError naming X."""
    with pytest.raises(ValueError, match=X_MSG):
        model.fit(X, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=X_MSG):
        model.predict(X)
    with pytest.raises(ValueError, match=X_MSG):
        model.evaluate(X, y)


# --------------------------------------------------------------------------- feature count
@pytest.mark.parametrize("n_features", [1, N_IN - 1, N_IN + 1, 64])
def test_wrong_feature_count(n_features):
    model = _classifier()
    snapshot = _unchanged(model)
    X = np.zeros((5, n_features), dtype=np.float32)
    y = np.zeros(5, dtype=np.int64)
    _assert_fit_predict_evaluate_reject_X(model, X, y)
    with pytest.raises(ValueError, match=r"\b[Xx]\b"):
        model.train_step(X, y)
    _assert_same(model, snapshot)


# --------------------------------------------------------------------------- labels
@pytest.mark.parametrize("bad_label", [-1, N_OUT, N_OUT + 5, 10**6])
def test_labels_out_of_range(bad_label):
    model = _classifier()
    snapshot = _unchanged(model)
    X, y = _data()
    y = y.copy()
    y[3] = bad_label
    with pytest.raises(ValueError, match=Y_MSG):
        model.fit(X, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=Y_MSG):
        model.evaluate(X, y)
    with pytest.raises(ValueError, match=Y_MSG):
        model.train_step(X, y)
    _assert_same(model, snapshot)


def test_non_integer_float_labels_for_cross_entropy():
    model = _classifier()
    X, y = _data()
    y_float = y.astype(np.float64)
    y_float[2] = 1.5
    with pytest.raises(ValueError, match=Y_MSG):
        model.fit(X, y_float, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=Y_MSG):
        model.train_step(X, y_float)


def test_integer_valued_float_and_narrow_int_labels_are_accepted():
    X, y = _data()
    losses = []
    for labels in (y.astype(np.int64), y.astype(np.float32), y.astype(np.float64), y.astype(np.int32),
                   y.astype(np.uint8)):
        model = _classifier(seed=1)
        losses.append(model.train_step(X, labels))
        np.testing.assert_array_equal(model.predict(X), _trained_reference_prediction(X, y))
    assert all(loss == losses[0] for loss in losses)


def _trained_reference_prediction(X, y):
    model = _classifier(seed=1)
    model.train_step(X, y.astype(np.int64))
    return model.predict(X)


# --------------------------------------------------------------------------- non-finite X
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_X(bad):
    model = _classifier()
    snapshot = _unchanged(model)
    X, y = _data()
    X = X.copy()
    X[4, 2] = bad
    _assert_fit_predict_evaluate_reject_X(model, X, y)
    _assert_same(model, snapshot)


def test_float64_value_that_overflows_float32_is_rejected():
    model = _regressor()
    X = np.ones((3, N_IN), dtype=np.float64)
    X[1, 1] = 1e300  # finite in float64, inf in float32
    with pytest.raises(ValueError, match=X_MSG):
        model.predict(X)


# --------------------------------------------------------------------------- lengths and shapes
@pytest.mark.parametrize("n_x,n_y", [(17, 16), (1, 2), (5, 1)])
def test_mismatched_lengths(n_x, n_y):
    X, _ = _data(n_x)
    y = np.zeros(n_y, dtype=np.int64)
    model = _classifier()
    with pytest.raises(ValueError, match=XY_MSG):
        model.fit(X, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=XY_MSG):
        model.evaluate(X, y)
    with pytest.raises(ValueError, match=r"\b[XxYy]\b"):
        model.train_step(X, y)
    reg = _regressor()
    with pytest.raises(ValueError, match=XY_MSG):
        reg.fit(X, np.zeros((n_y, N_OUT), np.float32), epochs=1, verbose=0)


def test_mse_targets_with_wrong_width():
    model = _regressor()
    X, _ = _data(9)
    with pytest.raises(ValueError, match=Y_MSG):
        model.fit(X, np.zeros((9, N_OUT + 1), np.float32), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=Y_MSG):
        model.evaluate(X, np.zeros((9, 1), np.float32))


# --------------------------------------------------------------------------- conversions
def test_float64_and_integer_X_are_converted_silently():
    model = _regressor(seed=3)
    rng = np.random.default_rng(3)
    X64 = rng.standard_normal((13, N_IN))
    Xi = rng.integers(-3, 4, size=(13, N_IN))
    np.testing.assert_array_equal(model.predict(X64), model.predict(X64.astype(np.float32)))
    np.testing.assert_array_equal(model.predict(Xi), model.predict(Xi.astype(np.float32)))
    out = model.predict(Xi.astype(np.int32))
    assert out.dtype == np.float32 and out.shape == (13, N_OUT)
    layers = ref.layers_from_params(model.parameters(), ["tanh", None])
    np.testing.assert_allclose(out, ref.mlp_predict(layers, Xi), rtol=1e-5, atol=1e-5)
    # non-contiguous float32 input
    Xnc = np.asfortranarray(X64.astype(np.float32))
    np.testing.assert_array_equal(model.predict(Xnc), model.predict(np.ascontiguousarray(Xnc)))
    # float64 targets for mse
    Y = rng.standard_normal((13, N_OUT))
    loss64 = model.evaluate(X64, Y)["loss"]
    assert loss64 == model.evaluate(X64.astype(np.float32), Y.astype(np.float32))["loss"]


# --------------------------------------------------------------------------- compile / names
def test_fit_before_compile_is_runtime_error():
    model = fm.Sequential([fm.Dense(3)], input_dim=N_IN, seed=0)
    X, y = _data()
    with pytest.raises(RuntimeError):
        model.fit(X, y, epochs=1, verbose=0)


def test_unknown_activation_name():
    with pytest.raises(ValueError, match="relux"):
        fm.Sequential([fm.Dense(3, activation="relux")], input_dim=N_IN, seed=0)
    with pytest.raises(ValueError):
        _core.activation_forward("softplusx", np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError):
        _core.dense_forward(np.zeros((1, 2), np.float32), np.zeros((3, 2), np.float32), np.zeros(3, np.float32),
                            "gelux")


def test_activation_none_means_identity():
    X, _ = _data()
    a = fm.Sequential([fm.Dense(13, activation="tanh"), fm.Dense(N_OUT, activation=None)], input_dim=N_IN, seed=4)
    b = fm.Sequential([fm.Dense(13, activation="tanh"), fm.Dense(N_OUT, activation="identity")], input_dim=N_IN,
                      seed=4)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    # identity output can be negative (it is not squashed)
    assert np.any(a.predict(X * 10) < 0)


def test_unknown_loss_name():
    model = fm.Sequential([fm.Dense(3)], input_dim=N_IN, seed=0)
    with pytest.raises(ValueError, match="hinge_loss"):
        model.compile(loss="hinge_loss", optimizer=fm.optim.SGD(lr=0.1))
    # a failed compile leaves the model uncompiled
    X, y = _data()
    with pytest.raises(RuntimeError):
        model.fit(X, y, epochs=1, verbose=0)


@pytest.mark.parametrize("units,input_dim", [(10**10, 10**10), (2**40, 3), (10**6, 10**6)])
def test_layers_too_large_for_memory_raise_memory_error(units, input_dim):
    with pytest.raises(MemoryError):
        fm.Sequential([fm.Dense(units)], input_dim=input_dim)
