"""GEMM: fastmlp._core.gemm (any strides, transposes, alpha/beta) and fm.matmul, against a float64
NumPy reference (and a textbook triple loop on tiny shapes)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import _core

import reference as ref

SIZES = (1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 127, 129)
TRANS = list(itertools.product((False, True), repeat=2))
SENTINEL = np.float32(-777.25)


def _uniform(rng, shape):
    return rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)


def _operands(rng, m, n, k, trans_a, trans_b):
    a = _uniform(rng, (k, m) if trans_a else (m, k))
    b = _uniform(rng, (n, k) if trans_b else (k, n))
    return a, b


def _assert_gemm_close(c, expected, a, b, k, trans_a=False, trans_b=False, c_scale=None):
    scale = ref.gemm_abs_scale(a, b, trans_a, trans_b)
    if c_scale is not None:
        scale = scale + c_scale
    # float32 rounding error of each element grows like eps * sqrt(k) * (|op(a)| @ |op(b)|)
    tol = (1e-6 * np.sqrt(max(k, 1)) + 2e-6) * scale + 1e-7
    err = np.abs(c.astype(np.float64) - expected)
    assert np.all(np.isfinite(c))
    worst = np.unravel_index(np.argmax(err - tol), err.shape)
    assert np.all(err <= tol), f"max excess at {worst}: err {err[worst]:.3g} > tol {tol[worst]:.3g}"


def _cases_for(m_index):
    """Five (n, k) pairs per m, rotating through SIZES so every size appears in every role."""
    out = []
    for j in range(5):
        n = SIZES[(m_index * 7 + j * 3) % len(SIZES)]
        k = SIZES[(m_index * 4 + j * 5 + 1) % len(SIZES)]
        out.append((n, k))
    return out


@pytest.mark.parametrize("trans_a,trans_b", TRANS)
@pytest.mark.parametrize("m_index", range(len(SIZES)))
def test_gemm_shapes_and_transposes(m_index, trans_a, trans_b):
    m = SIZES[m_index]
    rng = np.random.default_rng(1000 + 10 * m_index + 2 * trans_a + trans_b)
    for n, k in _cases_for(m_index):
        a, b = _operands(rng, m, n, k, trans_a, trans_b)
        c = np.full((m, n), np.nan, dtype=np.float32)  # beta == 0 must ignore (overwrite) NaN
        _core.gemm(a, b, c, trans_a=trans_a, trans_b=trans_b)
        expected = ref.gemm(a, b, trans_a=trans_a, trans_b=trans_b)
        _assert_gemm_close(c, expected, a, b, k, trans_a, trans_b)


def test_every_size_is_covered_in_every_role():
    ms, ns, ks = set(SIZES), set(), set()
    for i in range(len(SIZES)):
        for n, k in _cases_for(i):
            ns.add(n)
            ks.add(k)
    assert ns == set(SIZES) and ks == set(SIZES) and ms == set(SIZES)


@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (2, 3, 1), (3, 2, 7), (7, 5, 3), (1, 9, 13)])
def test_gemm_matches_triple_loop_on_tiny_shapes(m, n, k):
    rng = np.random.default_rng(m * 100 + n * 10 + k)
    a, b = _uniform(rng, (m, k)), _uniform(rng, (k, n))
    c = np.empty((m, n), dtype=np.float32)
    _core.gemm(a, b, c)
    expected = ref.gemm_loops(a, b)
    np.testing.assert_allclose(c, expected, rtol=1e-5, atol=ref.gemm_atol(k))


@pytest.mark.parametrize("trans_a,trans_b", TRANS)
@pytest.mark.parametrize("m,n,k", [(257, 129, 300), (300, 257, 129), (129, 65, 257)])
def test_gemm_larger_problems(m, n, k, trans_a, trans_b):
    rng = np.random.default_rng(m + n + k + 2 * trans_a + trans_b)
    a, b = _operands(rng, m, n, k, trans_a, trans_b)
    c = np.full((m, n), np.nan, dtype=np.float32)
    _core.gemm(a, b, c, trans_a=trans_a, trans_b=trans_b)
    _assert_gemm_close(c, ref.gemm(a, b, trans_a=trans_a, trans_b=trans_b), a, b, k, trans_a, trans_b)


@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (0.5, 2.0), (-1.5, -0.25), (2.0, 0.0), (0.0, 3.0)])
@pytest.mark.parametrize("trans_a,trans_b", TRANS)
def test_gemm_alpha_beta(alpha, beta, trans_a, trans_b):
    m, n, k = 33, 17, 65
    rng = np.random.default_rng(int(100 * alpha + 10 * beta) % 997 + 2 * trans_a + trans_b)
    a, b = _operands(rng, m, n, k, trans_a, trans_b)
    c0 = _uniform(rng, (m, n))
    c = c0.copy()
    _core.gemm(a, b, c, alpha=alpha, beta=beta, trans_a=trans_a, trans_b=trans_b)
    expected = ref.gemm(a, b, c0, alpha=alpha, beta=beta, trans_a=trans_a, trans_b=trans_b)
    scale = abs(alpha) * ref.gemm_abs_scale(a, b, trans_a, trans_b) + abs(beta) * np.abs(c0)
    err = np.abs(c.astype(np.float64) - expected)
    assert np.all(err <= 4e-6 * scale + ref.gemm_atol(k, 0.1))


@pytest.mark.parametrize("trans_a,trans_b", TRANS)
@pytest.mark.parametrize("n,k", [(2, 219), (33, 250), (64, 256), (95, 513)])
def test_in_place_and_packed_paths_agree_bitwise(n, k, trans_a, trans_b):
    # A product whose A has at most 256^2 elements reads A (and B when its rows are contiguous) in
    # place; a larger one packs both (cpp/gemm/gemm.cpp). Every element must come out the same
    # either way: a row of a batch may not depend on the batch's size. A 300-row product (300 * k
    # > 256^2 for every k here: packed) against products of its first rows that are in place: as
    # many rows as fit (256 while k <= 256; 127 for k = 513, over two k slices), 13 rows (an edge
    # sliver that is packed) and 1 row. On one thread, where the rule applies to the whole product.
    fm.set_num_threads(1)  # conftest restores the thread count
    rng = np.random.default_rng(n * 1000 + k)
    a, b = _operands(rng, 300, n, k, trans_a, trans_b)
    c_tall = np.empty((300, n), dtype=np.float32)
    _core.gemm(a, b, c_tall, trans_a=trans_a, trans_b=trans_b)
    assert 300 * k > 256 * 256
    for rows in (min(256, 256 * 256 // k), 13, 1):
        a_rows = a[:, :rows] if trans_a else a[:rows]
        c = np.empty((rows, n), dtype=np.float32)
        _core.gemm(np.ascontiguousarray(a_rows), b, c, trans_a=trans_a, trans_b=trans_b)
        np.testing.assert_array_equal(c, c_tall[:rows])


@pytest.mark.parametrize("trans_a,trans_b", TRANS)
@pytest.mark.parametrize("m,n,k", [(64, 2, 33), (128, 10, 128), (301, 16, 300), (65, 7, 1)])
def test_narrow_products_match_row_by_row_bitwise(m, n, k, trans_a, trans_b):
    # Narrow C (n at most half a tile's width, m at least two tiles' width: an output layer of a
    # few classes) is computed as the transposed problem. Its rows must equal what one-row products
    # (never transposed) give, and the fused bias and ReLU must still follow C's columns.
    rng = np.random.default_rng(m * 31 + n)
    a, b = _operands(rng, m, n, k, trans_a, trans_b)
    bias_row = _uniform(rng, (n,))
    c = np.full((m, n), np.nan, dtype=np.float32)
    _core.gemm(a, b, c, trans_a=trans_a, trans_b=trans_b)
    fused = np.full((m, n), np.nan, dtype=np.float32)
    _core.gemm_fused(a, b, fused, bias=bias_row, relu=True, trans_a=trans_a, trans_b=trans_b)
    for i in (0, 1, m // 2, m - 1):
        a_row = np.ascontiguousarray(a[:, i:i + 1] if trans_a else a[i:i + 1])
        row = np.empty((1, n), dtype=np.float32)
        _core.gemm(a_row, b, row, trans_a=trans_a, trans_b=trans_b)
        np.testing.assert_array_equal(c[i:i + 1], row)
    np.testing.assert_array_equal(fused, _unfused_epilogue(c, bias_row, True))
    expected = ref.gemm(a, b, trans_a=trans_a, trans_b=trans_b)
    _assert_gemm_close(c, expected, a, b, k, trans_a, trans_b)


def _unfused_epilogue(c, bias, relu):
    """What the dense layer did before fusion: float32 add of the bias, then x > 0 ? x : 0."""
    if bias is not None:
        c = (c + bias[None, :]).astype(np.float32)
    if relu:
        c = np.where(c > 0, c, np.float32(0)).astype(np.float32)
    return c


@pytest.mark.parametrize("trans_a,trans_b", TRANS)
@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (1, 33, 7), (13, 1, 300), (64, 64, 32), (65, 97, 129),
                                   (300, 45, 270), (17, 257, 513)])
@pytest.mark.parametrize("bias,relu", [(True, False), (True, True), (False, True)])
def test_gemm_fused_epilogue_equals_gemm_then_bias_and_relu(m, n, k, trans_a, trans_b, bias, relu):
    # Every path: in place (small A) and packed (300 rows), one and two k slices (kc = 256), edge
    # tiles, the matrix-vector path (n == 1). Bitwise equal to the unfused steps, and the epilogue
    # applied once even when k takes several slices.
    rng = np.random.default_rng(m * 7919 + n * 31 + k)
    a, b = _operands(rng, m, n, k, trans_a, trans_b)
    bias_row = _uniform(rng, (n,)) if bias else None
    fused = np.full((m, n), np.nan, dtype=np.float32)  # beta == 0: NaN in c must not survive
    _core.gemm_fused(a, b, fused, bias=bias_row, relu=relu, trans_a=trans_a, trans_b=trans_b)
    plain = np.empty((m, n), dtype=np.float32)
    _core.gemm(a, b, plain, trans_a=trans_a, trans_b=trans_b)
    np.testing.assert_array_equal(fused, _unfused_epilogue(plain, bias_row, relu))
    if relu:
        assert (fused >= 0).all()
        if m * n >= 16:  # the ReLU really cut something, and left something
            assert (fused == 0).any() and (fused > 0).any()
    expected = ref.gemm(a, b, trans_a=trans_a, trans_b=trans_b)
    if bias:
        expected = expected + bias_row[None, :].astype(np.float64)
    if relu:
        expected = np.maximum(expected, 0.0)
    _assert_gemm_close(fused, expected, a, b, k, trans_a, trans_b, c_scale=np.abs(bias_row)[None, :] if bias else None)


@pytest.mark.parametrize("m,n,k", [(96, 2048, 512), (301, 2048, 300), (301, 3100, 260)])
def test_gemm_fused_bias_follows_the_columns_each_thread_gets(m, n, k):
    # m x n x k runs on two or three threads split by columns: each thread's tiles must read the
    # bias from its own first column on. The first shape takes the in-place path, the others the
    # packed one, with a partial last row tile (301 rows); on one thread the last one has more
    # columns than one packed block of B (nc <= 3072). A column-major c is the transposed problem,
    # whose bias runs along rows and is applied after the product. (conftest restores the threads.)
    rng = np.random.default_rng(5)
    a, b = _uniform(rng, (m, k)), _uniform(rng, (k, n))
    bias_row = _uniform(rng, (n,))
    plain = np.empty((m, n), dtype=np.float32)
    _core.gemm(a, b, plain)
    expected = _unfused_epilogue(plain, bias_row, True)
    for threads in (1, 2, 3):
        fm.set_num_threads(threads)
        for order in ("C", "F"):
            fused = np.full((m, n), np.nan, dtype=np.float32, order=order)
            _core.gemm_fused(a, b, fused, bias=bias_row, relu=True)
            np.testing.assert_array_equal(fused, expected)


def test_gemm_fused_rejects_a_bad_bias_naming_it():
    a, b, c = np.ones((3, 4), np.float32), np.ones((4, 5), np.float32), np.empty((3, 5), np.float32)
    with pytest.raises(ValueError, match="bias must have c.shape"):
        _core.gemm_fused(a, b, c, bias=np.ones(4, np.float32))
    with pytest.raises(ValueError, match="bias must not share memory with c"):
        _core.gemm_fused(a, b, c, bias=c[1])  # read while the tiles are written
    with pytest.raises(ValueError, match="c must be a 2-D"):
        _core.gemm_fused(a, b, np.empty(5, np.float32), bias=np.ones(5, np.float32))


def test_gemm_beta_zero_overwrites_nan_and_inf():
    rng = np.random.default_rng(7)
    a, b = _uniform(rng, (17, 31)), _uniform(rng, (31, 13))
    c = np.full((17, 13), np.nan, dtype=np.float32)
    c[::2, ::3] = np.inf
    _core.gemm(a, b, c, alpha=1.0, beta=0.0)
    assert np.all(np.isfinite(c))
    _assert_gemm_close(c, ref.gemm(a, b), a, b, 31)


@pytest.mark.parametrize("trans_a,trans_b", TRANS)
@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (7, 13, 17), (33, 31, 65), (65, 17, 129)])
def test_gemm_strided_views_leave_the_rest_of_the_buffer_untouched(m, n, k, trans_a, trans_b):
    rng = np.random.default_rng(m * 31 + n * 7 + k + 2 * trans_a + trans_b)
    # Operands as non-contiguous views of larger buffers (row step 2, column step 3 / 1).
    a_shape = (k, m) if trans_a else (m, k)
    b_shape = (n, k) if trans_b else (k, n)
    a_big = _uniform(rng, (2 * a_shape[0] + 1, 3 * a_shape[1] + 2))
    a = a_big[1::2, 2::3][: a_shape[0], : a_shape[1]]
    b_big = _uniform(rng, (b_shape[0] + 3, b_shape[1] + 5))
    b = b_big[3:, 1 : 1 + b_shape[1]]
    assert a.shape == a_shape and b.shape == b_shape
    if min(m, n, k) > 1:
        assert not a.flags.c_contiguous and not b.flags.c_contiguous

    for layout in ("rows", "columns"):
        big = np.full((m + 4, 2 * n + 6), SENTINEL, dtype=np.float32)
        if layout == "rows":
            c = big[1 : 1 + m, 2 : 2 + n]  # row stride > n
        else:
            c = big[2 : 2 + m, 3 : 3 + 2 * n : 2]  # column stride 2
        assert c.shape == (m, n)
        mask = np.ones(big.shape, dtype=bool)
        if layout == "rows":
            mask[1 : 1 + m, 2 : 2 + n] = False
        else:
            mask[2 : 2 + m, 3 : 3 + 2 * n : 2] = False
        c[...] = np.nan
        _core.gemm(a, b, c, trans_a=trans_a, trans_b=trans_b)
        assert np.all(big[mask] == SENTINEL), f"{layout}: gemm wrote outside the view"
        _assert_gemm_close(c, ref.gemm(a, b, trans_a=trans_a, trans_b=trans_b), a, b, k, trans_a, trans_b)


def test_gemm_fortran_and_negative_stride_operands():
    rng = np.random.default_rng(11)
    m, n, k = 31, 17, 33
    a = np.asfortranarray(_uniform(rng, (m, k)))
    b_store = _uniform(rng, (k, n))
    b = b_store[::-1, ::-1]  # negative strides
    c_store = np.zeros((n, m), dtype=np.float32)
    c = c_store.T  # F-ordered output view
    _core.gemm(a, b, c)
    _assert_gemm_close(c, ref.gemm(a, b), a, b, k)


def test_gemm_rejects_mismatched_inner_dimension():
    a = np.ones((3, 4), dtype=np.float32)
    b = np.ones((5, 2), dtype=np.float32)
    c = np.zeros((3, 2), dtype=np.float32)
    with pytest.raises(ValueError):
        _core.gemm(a, b, c)
    assert np.all(c == 0.0)


# --------------------------------------------------------------------------- fm.matmul
@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (1, 33, 17), (13, 1, 7), (65, 31, 129), (2, 3, 300)])
def test_matmul_matches_reference(m, n, k):
    rng = np.random.default_rng(m * 1000 + n * 10 + k)
    a, b = _uniform(rng, (m, k)), _uniform(rng, (k, n))
    c = fm.matmul(a, b)
    assert c.shape == (m, n) and c.dtype == np.float32
    _assert_gemm_close(c, ref.gemm(a, b), a, b, k)


def test_matmul_out_argument_is_filled():
    rng = np.random.default_rng(12)
    a, b = _uniform(rng, (17, 31)), _uniform(rng, (31, 7))
    out = np.full((17, 7), np.nan, dtype=np.float32)
    result = fm.matmul(a, b, out=out)
    _assert_gemm_close(out, ref.gemm(a, b), a, b, 31)
    np.testing.assert_array_equal(np.asarray(result), out)


def test_matmul_accepts_transposed_views_and_other_dtypes():
    rng = np.random.default_rng(13)
    m, n, k = 33, 13, 65
    at = _uniform(rng, (k, m))  # a = at.T is F-contiguous
    b = _uniform(rng, (k, n))
    c = fm.matmul(at.T, b)
    _assert_gemm_close(c, ref.gemm(at, b, trans_a=True), at, b, k, trans_a=True)
    # same values handed over as float64 and as C-contiguous copies give the same float32 result
    c64 = fm.matmul(at.T.astype(np.float64), b.astype(np.float64))
    assert c64.dtype == np.float32
    np.testing.assert_allclose(c64, c, rtol=1e-6, atol=ref.gemm_atol(k, 0.1))
    ai = rng.integers(-3, 4, size=(m, k))
    bi = rng.integers(-3, 4, size=(k, n))
    ci = fm.matmul(ai, bi)
    assert ci.dtype == np.float32
    np.testing.assert_array_equal(ci, (ai @ bi).astype(np.float32))  # small integers: exact


def test_matmul_bitwise_identical_across_thread_counts():
    rng = np.random.default_rng(14)
    # Large enough (~79M multiply-adds) that the GEMM really splits the work over 2 threads.
    m, n, k = 601, 513, 257
    a, b = _uniform(rng, (m, k)), _uniform(rng, (k, n))
    fm.set_num_threads(1)
    assert fm.get_num_threads() == 1
    c1 = fm.matmul(a, b)
    c1t = np.empty((m, n), dtype=np.float32)
    _core.gemm(np.ascontiguousarray(a.T), b, c1t, trans_a=True)
    fm.set_num_threads(2)
    assert fm.get_num_threads() == 2
    c2 = fm.matmul(a, b)
    c2t = np.empty((m, n), dtype=np.float32)
    _core.gemm(np.ascontiguousarray(a.T), b, c2t, trans_a=True)
    assert np.array_equal(c1, c2)
    assert np.array_equal(c1t, c2t)
    _assert_gemm_close(c2, ref.gemm(a, b), a, b, k)


def _bad_matmul_calls():
    a = np.ones((3, 4), dtype=np.float32)
    b = np.ones((4, 5), dtype=np.float32)
    read_only = np.empty((3, 5), dtype=np.float32)
    read_only.flags.writeable = False
    overlapping = np.ones((4, 4), dtype=np.float32)
    return [
        ("1-D a", lambda: fm.matmul(np.ones(4, np.float32), b), r"\ba\b"),
        ("3-D b", lambda: fm.matmul(a, np.ones((4, 5, 1), np.float32)), r"\bb\b"),
        ("inner mismatch", lambda: fm.matmul(a, np.ones((3, 5), np.float32)), r"a\.shape\[1\]"),
        ("complex a", lambda: fm.matmul(a.astype(np.complex64), b), r"\ba\b.*real"),
        ("strings b", lambda: fm.matmul(a, np.array([["x"] * 5] * 4)), r"\bb\b"),
        ("out float64", lambda: fm.matmul(a, b, out=np.empty((3, 5))), r"\bout\b.*float32"),
        ("out wrong shape", lambda: fm.matmul(a, b, out=np.empty((5, 3), np.float32)), r"\bout\b.*shape"),
        ("out read-only", lambda: fm.matmul(a, b, out=read_only), r"\bout\b.*writeable"),
        ("out is an operand", lambda: fm.matmul(overlapping, overlapping, out=overlapping), r"\bout\b.*share"),
        ("out not an array", lambda: fm.matmul(a, b, out=[[0.0] * 5] * 3), r"\bout\b"),
    ]


@pytest.mark.parametrize("case", range(len(_bad_matmul_calls())))
def test_matmul_rejects_bad_arguments_naming_them(case):
    _, call, pattern = _bad_matmul_calls()[case]
    with pytest.raises(ValueError, match=pattern):
        call()


def test_matmul_converts_lists_and_integer_arrays_once():
    a = [[1, 2, 3], [4, 5, 6]]
    b = np.arange(12, dtype=np.int64).reshape(3, 4)
    out = fm.matmul(a, b)
    assert out.dtype == np.float32 and out.shape == (2, 4)
    assert np.array_equal(out, (np.array(a) @ b).astype(np.float32))


@pytest.mark.parametrize("trans_a,trans_b", TRANS)
@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (7, 33, 17), (65, 31, 129), (129, 65, 63), (13, 257, 300)])
def test_gemm_matches_the_cpp_triple_loop_reference(m, n, k, trans_a, trans_b):
    """The optimised GEMM against the never-optimised C++ triple loop kept beside it."""
    rng = np.random.default_rng(m * 7 + n * 3 + k + 2 * trans_a + trans_b)
    a, b = _operands(rng, m, n, k, trans_a, trans_b)
    c0 = _uniform(rng, (m, n))
    fast, slow = c0.copy(), c0.copy()
    _core.gemm(a, b, fast, alpha=0.75, beta=-0.5, trans_a=trans_a, trans_b=trans_b)
    _core.gemm_reference(a, b, slow, alpha=0.75, beta=-0.5, trans_a=trans_a, trans_b=trans_b)
    _assert_gemm_close(fast, slow.astype(np.float64), a, b, k, trans_a, trans_b, c_scale=0.5 * np.abs(c0))
