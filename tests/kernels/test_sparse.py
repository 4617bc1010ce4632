"""Sparse X (scipy.sparse) through the core: the first Dense layer multiplies CSR rows as they lie
(nn/csr.cpp, kernels/sparse_impl.hpp). Checked against a NumPy float64 reference, and bit for bit
against the same model fed the densified X, over shapes at the kernels' edges: 1, primes, around
the 16-unit tiles, the kc = 256 column slices and the 2048-column blocks, batches above kc rows
(several k slices in the weight gradient), empty rows and columns, batch of 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

import fastmlp as fm
from fastmlp import _core
from fastmlp._sparse import SparseRows, as_inputs

RNG = np.random.default_rng(20261203)


def random_sparse(n, d, density, seed=0, fmt="csr"):
    rng = np.random.default_rng(seed)
    dense = rng.standard_normal((n, d)).astype(np.float32)
    dense *= rng.random((n, d)) < density
    if n > 2:
        dense[1] = 0.0  # an empty row
    return sp.csr_matrix(dense).asformat(fmt), dense


def linear_model(d, out, seed=5, activation=None, hidden=()):
    layers = [fm.Dense(u, "relu") for u in hidden] + [fm.Dense(out, activation)]
    model = fm.Sequential(layers, input_dim=d, seed=seed)
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.01))
    model.build(d)
    return model


# rows, features, units: edges of the 16-unit tiles, the 256-column slices, the 2048-column blocks
SHAPES = [
    (1, 1, 1), (300, 1, 1), (300, 1, 5), (600, 1, 70), (1, 5, 3), (7, 17, 2), (13, 255, 16), (13, 256, 17), (31, 257, 15), (64, 2049, 33),
    (257, 300, 20), (300, 4099, 1), (300, 4099, 64), (513, 31, 5),
]


@pytest.mark.parametrize("density", [0.0, 0.013, 0.3, 1.0])
@pytest.mark.parametrize("n,d,out", SHAPES)
def test_forward_and_gradients_match_float64_reference_and_dense_bitwise(n, d, out, density):
    Xs, X = random_sparse(n, d, density, seed=n * 7 + d)
    model = linear_model(d, out)
    W, b = (p.astype(np.float64) for p in model.parameters())
    y = RNG.standard_normal((n, out)).astype(np.float32)
    net = model._net
    rows = as_inputs(Xs, d)

    pred = net.predict(rows)
    ref = X.astype(np.float64) @ W.T + b
    np.testing.assert_allclose(pred, ref, rtol=1e-5, atol=1e-5 * (1 + np.abs(ref).max()))
    np.testing.assert_array_equal(pred, net.predict(X))

    net.compute_gradients(rows, y)
    dW, db = (g.copy() for g in net.gradients())
    # mse: mean over n * out of (p - y)^2; dL/dp = 2 (p - y) / (n * out)
    dp = 2.0 * (ref - y) / (n * out)
    np.testing.assert_allclose(dW, dp.T @ X.astype(np.float64), rtol=1e-4, atol=1e-6 * (1 + np.abs(dp).max()))
    np.testing.assert_allclose(db, dp.sum(axis=0), rtol=1e-4, atol=1e-6)
    net.compute_gradients(X, y)
    np.testing.assert_array_equal(dW, net.gradients()[0])
    np.testing.assert_array_equal(db, net.gradients()[1])


def train(X, d, epochs=2, batch_size=37, first=None, hidden=(23, 9), out=4, seed=3, **fit):
    layers = ([first] if first is not None else []) + [fm.Dense(u, "gelu") for u in hidden] + [fm.Dense(out)]
    model = fm.Sequential(layers, input_dim=d, seed=seed)
    model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-2), metrics=["accuracy"])
    y = np.arange(X.shape[0]) % out
    hist = model.fit(X, y, epochs=epochs, batch_size=batch_size, verbose=0, **fit)
    return model, hist.history


def assert_same_model(a, b):
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)
    for p, q in zip(a.buffers(), b.buffers()):
        np.testing.assert_array_equal(p, q)
    for key, value in a.optimizer_state().items():
        other = b.optimizer_state()[key]
        if isinstance(value, list):
            for p, q in zip(value, other):
                np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("batch_size", [1, 37, 300, 600])
def test_training_on_sparse_rows_equals_training_on_dense_rows(batch_size):
    Xs, X = random_sparse(600, 700, 0.02, seed=1)
    a, ha = train(Xs, 700, batch_size=batch_size, validation_split=0.25)
    b, hb = train(X, 700, batch_size=batch_size, validation_split=0.25)
    assert ha == hb
    assert_same_model(a, b)
    assert not np.array_equal(a.parameters()[0], train(X, 700, epochs=0)[0].parameters()[0])  # it trained


@pytest.mark.parametrize("first", [
    fm.BatchNorm(), fm.LayerNorm(), fm.Dropout(0.3), fm.Activation("tanh"),
], ids=["batchnorm", "layernorm", "dropout", "activation"])
def test_a_first_layer_that_is_not_dense_gets_each_batch_densified(first):
    Xs, X = random_sparse(200, 90, 0.1, seed=2)
    a, ha = train(Xs, 90, first=first)
    b, hb = train(X, 90, first=first)
    assert ha == hb
    assert_same_model(a, b)
    np.testing.assert_array_equal(a.predict(Xs), b.predict(X))


def test_sparse_results_do_not_depend_on_the_thread_count():
    Xs, _ = random_sparse(300, 3000, 0.01, seed=4)
    fm.set_num_threads(1)
    a, ha = train(Xs, 3000, hidden=(64,), batch_size=64)
    fm.set_num_threads(2)
    b, hb = train(Xs, 3000, hidden=(64,), batch_size=64)
    assert ha == hb
    assert_same_model(a, b)


def test_every_scipy_format_and_dtype_gives_the_same_model():
    Xs, X = random_sparse(150, 60, 0.1, seed=6)
    reference, _ = train(X, 60)
    for variant in [Xs.tocsc(), Xs.tocoo(), sp.csr_array(Xs), Xs.astype(np.float64), Xs.tobsr()]:
        model, _ = train(variant, 60)
        assert_same_model(model, reference)


def test_duplicates_are_summed_and_unsorted_indices_sorted_without_touching_the_callers_matrix():
    X = np.zeros((3, 6), np.float32)
    X[0, 1], X[0, 4], X[2, 5] = 1.5, -2.0, 3.0
    # row 0 has its columns in reverse order, and column 4 split into two entries (-0.5 + -1.5)
    data = np.array([-0.5, -1.5, 1.5, 3.0], np.float32)
    indices = np.array([4, 4, 1, 5], np.int32)
    indptr = np.array([0, 3, 3, 4], np.int32)
    odd = sp.csr_matrix((data, indices, indptr), shape=(3, 6))
    before = (odd.data.copy(), odd.indices.copy(), odd.indptr.copy())
    model = linear_model(6, 3)
    np.testing.assert_array_equal(model.predict(odd), model.predict(X))
    for kept, now in zip(before, (odd.data, odd.indices, odd.indptr)):
        np.testing.assert_array_equal(kept, now)


def test_explicit_zeros_and_empty_matrix_rows():
    Xs, X = random_sparse(40, 30, 0.0, seed=7)
    assert Xs.nnz == 0
    model = linear_model(30, 5)
    np.testing.assert_array_equal(model.predict(Xs), np.broadcast_to(model.parameters()[1], (40, 5)))
    zeros = sp.csr_matrix((np.zeros(4, np.float32), np.array([0, 3, 7, 9]), np.array([0, 2, 4] + [4] * 38)),
                          shape=(40, 30))
    np.testing.assert_array_equal(model.predict(zeros), model.predict(np.zeros((40, 30), np.float32)))


def test_evaluate_train_step_loss_and_gradients_and_validation_data_take_sparse_x():
    Xs, X = random_sparse(120, 50, 0.1, seed=8)
    y = np.arange(120) % 4
    runs = []
    for data in (Xs, X):
        model = fm.Sequential([fm.Dense(8, "relu"), fm.Dense(4)], seed=9)
        model.compile(loss="cross_entropy", optimizer="adam", metrics=["accuracy", "f1"])
        hist = model.fit(data, y, epochs=2, batch_size=16, validation_data=(data[:30], y[:30]), verbose=0)
        step = model.train_step(data[:7], y[:7])
        loss, grads = model.loss_and_gradients(data, y)
        runs.append((hist.history, model.evaluate(data, y), step, loss, grads, model.predict(data)))
    (ha, ea, sa, la, ga, pa), (hb, eb, sb, lb, gb, pb) = runs
    assert ha == hb and ea == eb and sa == sb and la == lb
    for p, q in zip(ga, gb):
        np.testing.assert_array_equal(p, q)
    np.testing.assert_array_equal(pa, pb)


def test_sparse_rows_slice_without_copying_values():
    Xs, X = random_sparse(20, 9, 0.3, seed=10)
    rows = as_inputs(Xs, 9)
    assert isinstance(rows, SparseRows) and rows.shape == (20, 9) and rows.nnz == Xs.nnz
    part = rows[5:12]
    assert part.shape == (7, 9)
    assert np.shares_memory(part.values, rows.values)
    model = linear_model(9, 2)
    np.testing.assert_array_equal(model.predict(part), model.predict(X[5:12]))
    with pytest.raises(ValueError, match="step 1"):
        rows[::2]


@pytest.mark.parametrize("bad,match", [
    (lambda X: X.multiply(np.nan).tocsr() + X, "X contains NaN or infinite values"),
    (lambda X: X.astype(np.float64) * 1e39, "too large for float32"),
    (lambda X: X[:, :8], "has 8 features"),
    (lambda X: X[:0], "is empty"),
    (lambda X: X.astype(np.complex64), "real numbers"),
    (lambda X: sp.coo_array(np.ones(9)), "2-D sparse matrix"),
])
def test_bad_sparse_x_gets_a_clear_error(bad, match):
    Xs, _ = random_sparse(20, 9, 0.5, seed=11)
    model = linear_model(9, 2)
    with pytest.raises(ValueError, match=match):
        model.predict(bad(Xs))


@pytest.mark.parametrize("indptr,indices,values,match", [
    ([0, 2, 1], [0, 1], [1.0, 2.0], "non-decreasing|end at"),
    ([0, 1, 2], [0, 9], [1.0, 2.0], r"outside \[0, 5\)"),
    ([0, 2], [3, 1], [1.0, 2.0], "strictly increasing"),
    ([0, 2], [1, 1], [1.0, 2.0], "strictly increasing"),
    ([1, 2], [1, 1], [1.0, 2.0], "start at 0"),
    ([0, 2], [0, 1], [1.0, np.inf], "finite"),
    ([0, 2], [0, 1], [1.0], "same length"),
])
def test_the_core_refuses_a_malformed_csr_structure(indptr, indices, values, match):
    with pytest.raises(ValueError, match=match):
        _core.CsrMatrix(np.array(indptr, np.int64), np.array(indices, np.int32), np.array(values, np.float32), 5)


def test_a_decreasing_indptr_is_refused_before_any_index_is_read():
    # row 0 claims entries 0..4 of an array of 2: the structure check must not read them
    with pytest.raises(ValueError, match="non-decreasing"):
        _core.CsrMatrix(np.array([0, 5, 2], np.int64), np.array([0, 1], np.int32), np.array([1.0, 2.0], np.float32),
                        2**31 - 1)


def test_the_structure_is_copied_so_later_writes_to_the_callers_matrix_cannot_reach_the_core():
    Xs, X = random_sparse(30, 12, 0.3, seed=12)
    Xs.indices = Xs.indices.astype(np.int32)
    Xs.indptr = Xs.indptr.astype(np.int64)
    rows = as_inputs(Xs, 12)
    assert not np.shares_memory(rows.indices, Xs.indices) and not np.shares_memory(rows.indptr, Xs.indptr)
    Xs.indices[:] = 10**6  # the core's copy is unaffected
    model = linear_model(12, 3)
    np.testing.assert_array_equal(model.predict(rows), model.predict(X))


def test_int64_indices_beyond_int32_are_refused_not_wrapped():
    bad = sp.csr_matrix((np.ones(1, np.float32), np.array([2**32 + 1], np.int64), np.array([0, 1], np.int64)),
                        shape=(1, 9), copy=False)
    with pytest.raises(ValueError, match=r"outside \[0, 9\)|column index"):
        as_inputs(bad, 9)


def test_wide_sparse_input_does_not_size_buffers_by_its_width():
    """The gradient buffers follow the layer outputs, not the input width: a million-feature
    sparse X with a batch of 1,000 rows would otherwise hold two 4 GB buffers."""
    d = 1_000_000
    rng = np.random.default_rng(13)
    Xs = sp.csr_matrix((rng.random(3000).astype(np.float32), rng.integers(0, d, 3000), np.arange(0, 3001, 3)),
                       shape=(1000, d))
    model = fm.Sequential([fm.Dense(2)], input_dim=d, seed=1)
    model.compile(loss="mse", optimizer="sgd")
    import resource
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model.fit(Xs, np.zeros((1000, 2), np.float32), epochs=1, batch_size=1000, verbose=0)
    model.predict(Xs)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 500, f"peak RSS grew by {grown_mib:.0f} MiB"


def test_the_core_refuses_csr_arrays_of_other_dtypes_instead_of_casting_them():
    with pytest.raises(ValueError, match="int32"):
        _core.CsrMatrix(np.array([0, 1], np.int64), np.array([0], np.int64), np.array([1.0], np.float32), 5)
    with pytest.raises(ValueError, match="int64"):
        _core.CsrMatrix(np.array([0, 1], np.int32), np.array([0], np.int32), np.array([1.0], np.float32), 5)


CHILD = r"""
import hashlib, json, sys
import numpy as np, scipy.sparse as sp
import fastmlp as fm
rng = np.random.default_rng(0)
X = (rng.standard_normal((300, 2100)) * (rng.random((300, 2100)) < 0.02)).astype(np.float32)
out = {}
for name, data in (("sparse", sp.csr_matrix(X)), ("dense", X)):
    model = fm.Sequential([fm.Dense(40, "relu"), fm.Dense(3)], seed=1)
    model.compile(loss="cross_entropy", optimizer="adam")
    model.fit(data, np.arange(300) % 3, epochs=2, batch_size=270, verbose=0)
    out[name] = hashlib.sha256(b"".join(p.tobytes() for p in model.parameters())).hexdigest()
print("RESULT " + json.dumps({"isa": fm.get_isa(), "same": out["sparse"] == out["dense"],
                               "w": out["sparse"]}))
"""


def test_every_isa_trains_sparse_rows_as_it_trains_dense_rows():
    """The sparse loops are compiled with each ISA's micro-kernel flags: fused multiply-adds on
    AVX2 and AVX-512, separate roundings on the generic kernel, as its GEMM."""
    results = {}
    for isa in ("generic", "avx2", "avx512"):
        env = {k: v for k, v in os.environ.items() if k != "FASTMLP_ISA"}
        env["FASTMLP_ISA"] = isa
        proc = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0 and "does not support" in proc.stderr:
            continue  # this CPU lacks the ISA
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout.split("RESULT ", 1)[1])
        assert result["isa"] == isa and result["same"], result
        results[isa] = result["w"]
    assert "generic" in results
    if "avx2" in results and "avx512" in results:
        assert results["avx2"] == results["avx512"]  # both FMA, same kc: the same bits
    if "avx2" in results:
        assert results["avx2"] != results["generic"]  # fused and unfused round differently
