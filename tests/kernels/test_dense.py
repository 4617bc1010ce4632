"""Dense layers at kernel level (fastmlp._core) against the float64 reference, plus Dense's default
initialisation through the public API. (The activation kernels are tested in test_activations.py.)"""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import _core

import reference as ref

ACTS = ("relu", "sigmoid", "tanh", "identity")


# --------------------------------------------------------------------------- dense layer
DENSE_SHAPES = [  # (batch, in, out)
    (1, 1, 1),
    (1, 13, 7),
    (2, 3, 17),
    (7, 31, 33),
    (13, 65, 2),
    (33, 17, 65),
    (65, 129, 31),
]


def _dense_inputs(seed, batch, n_in, n_out):
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(n_in)
    x = rng.standard_normal((batch, n_in)).astype(np.float32)
    w = rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32)
    b = rng.uniform(-bound, bound, n_out).astype(np.float32)
    return x, w, b


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("batch,n_in,n_out", DENSE_SHAPES)
def test_dense_forward(batch, n_in, n_out, activation):
    x, w, b = _dense_inputs(batch * 10007 + n_in * 101 + n_out, batch, n_in, n_out)
    y = _core.dense_forward(x, w, b, activation)
    assert y.shape == (batch, n_out) and y.dtype == np.float32
    atol = ref.gemm_atol(n_in)
    np.testing.assert_allclose(y, ref.dense_forward(x, w, b, activation), rtol=1e-5, atol=atol)


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("batch,n_in,n_out", DENSE_SHAPES)
def test_dense_backward(batch, n_in, n_out, activation):
    seed = batch * 7919 + n_in * 31 + n_out
    x, w, b = _dense_inputs(seed, batch, n_in, n_out)
    y = ref.dense_forward(x, w, b, activation).astype(np.float32)
    dy = np.random.default_rng(seed + 1).standard_normal((batch, n_out)).astype(np.float32)
    dy_before = dy.copy()
    dx, dw, db = _core.dense_backward(x, w, y, dy, activation)
    np.testing.assert_array_equal(dy, dy_before)  # inputs are not modified
    rdx, rdw, rdb = ref.dense_backward(x, w, y, dy, activation)
    assert dx.shape == (batch, n_in) and dw.shape == (n_out, n_in) and db.shape == (n_out,)
    assert dx.dtype == dw.dtype == db.dtype == np.float32
    np.testing.assert_allclose(dx, rdx, rtol=1e-5, atol=ref.gemm_atol(n_out))
    np.testing.assert_allclose(dw, rdw, rtol=1e-5, atol=ref.gemm_atol(batch, 3.0))
    np.testing.assert_allclose(db, rdb, rtol=1e-5, atol=ref.gemm_atol(batch, 3.0))

    none_dx, dw2, db2 = _core.dense_backward(x, w, y, dy, activation, need_dx=False)
    assert none_dx is None
    np.testing.assert_array_equal(dw2, dw)
    np.testing.assert_array_equal(db2, db)


def test_reference_dense_backward_matches_finite_differences():
    # validates the oracle: L = sum(dy * dense(x)) with a tanh layer, all three gradients
    rng = np.random.default_rng(3)
    x, W, b = rng.standard_normal((3, 4)), rng.standard_normal((5, 4)) * 0.5, rng.standard_normal(5) * 0.5
    dy = rng.standard_normal((3, 5))

    def L(x_, W_, b_):
        return float(np.sum(dy * ref.dense_forward(x_, W_, b_, "tanh")))

    dx, dW, db = ref.dense_backward(x, W, ref.dense_forward(x, W, b, "tanh"), dy, "tanh")
    h = 1e-6
    for arr, grad, which in ((x, dx, 0), (W, dW, 1), (b, db, 2)):
        fd = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            args_p = [x.copy(), W.copy(), b.copy()]
            args_m = [x.copy(), W.copy(), b.copy()]
            args_p[which][idx] += h
            args_m[which][idx] -= h
            fd[idx] = (L(*args_p) - L(*args_m)) / (2 * h)
        np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- initialisation
@pytest.mark.parametrize("n_in,hidden,n_out", [(784, 256, 10), (1, 33, 7), (65, 17, 1)])
def test_dense_default_init_is_uniform_like_torch_linear(n_in, hidden, n_out):
    model = fm.Sequential([fm.Dense(hidden, activation="relu"), fm.Dense(n_out)], input_dim=n_in, seed=0)
    params = model.parameters()
    assert [p.shape for p in params] == [(hidden, n_in), (hidden,), (n_out, hidden), (n_out,)]
    assert all(p.dtype == np.float32 for p in params)
    for i, fan_in in enumerate((n_in, hidden)):
        bound = 1.0 / np.sqrt(fan_in)
        for p in params[2 * i : 2 * i + 2]:
            assert np.all(np.abs(p) <= bound * (1 + 1e-6)), "outside ±1/sqrt(fan_in)"
            assert np.unique(p).size > min(p.size, 2) // 2, "values look constant, not random"
        W = params[2 * i].astype(np.float64)
        if W.size >= 1000:
            # std of U(-a, a) is a/sqrt(3); with >= 1000 samples the estimate is well within 10 %
            np.testing.assert_allclose(W.std(), bound / np.sqrt(3.0), rtol=0.1)
            assert abs(W.mean()) < 0.1 * bound
            # the draws must use the whole range, not a narrower one
            assert np.abs(W).max() > 0.95 * bound


def test_same_seed_same_params_different_seed_different_params():
    def make(seed):
        return fm.Sequential([fm.Dense(17, activation="tanh"), fm.Dense(3)], input_dim=13, seed=seed)

    a, b, c = make(5), make(5), make(6)
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters()):
        np.testing.assert_array_equal(pa, pb)
        assert not np.array_equal(pa, pc)
