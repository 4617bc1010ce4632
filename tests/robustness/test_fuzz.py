"""Property-based fuzzing of the public API with Hypothesis (derandomized: the same examples on
every run, no example database).

Inputs are drawn over shapes (0, 1, primes, mismatched feature counts, 0-D/1-D/3-D), dtypes
(float16/32/64, big-endian float32, signed and unsigned integers, bool, complex64, object, str),
memory layouts (C, F, strided views of a garbage-filled buffer, negative strides, transposed,
read-only, unpickled, Python lists) and values (NaN, +-inf, 1e30, values beyond float32's range,
subnormals, -0.0; labels out of range, negative, non-integral, NaN).

The property is "same result or clear exception", decided by an oracle written here from the
documented contract (README "Inputs", design.md), not by calling the library's own checks:

- an input the contract accepts (a 2-D array of a real dtype - float, integer or bool - with the
  model's feature count and finite values once converted to float32; integer-valued labels in
  [0, outputs); finite targets of the output's shape) MUST be accepted, and the call must give
  bit-for-bit the result of the same call on a clean C-contiguous float32 (int64 for labels) copy
  of the same data made on an identically seeded fresh model (fm.matmul: the float64 product
  within a rounding bound, NaN and inf where IEEE arithmetic puts them, and bit-identical to the
  product of the clean copies and across thread counts);
- any other input MUST raise ValueError whose message starts with the name of the offending
  argument, and a failed call must leave the model as it was (and an unbuilt model unbuilt when
  X itself was refused).

Never a crash, never a warning (warnings are errors in this suite), never NaN from moderate finite
input, never a changed input array.
"""

from __future__ import annotations

import functools
import math
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import fastmlp as fm

FUZZ = settings(
    derandomize=True,
    database=None,
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --------------------------------------------------------------------------- value generation
SIZES = [0, 1, 2, 3, 5, 7, 13]  # 0, 1 and primes (odd tails in every blocked loop)
FEATURES = [1, 2, 3, 5, 7]
# Special values: finite in float32 (accepted, but not all survive a cast to float16) ...
FINITE_SPECIALS = [
    1e30, -1e30,            # large but finite in float32
    3.0e38,                 # finite in float32, overflows as soon as it is added to anything large
    1e-40, -1e-45,          # float32 subnormals
    5e-324,                 # float64 subnormal: 0 in float32
    -0.0, 65504.0,          # float16's largest finite value
]
# ... and not finite in float32 (refused in X and y), or (7e4) only in float16.
NON_FINITE_SPECIALS = [math.nan, math.inf, -math.inf, 1e39, -1e300, 7e4]

REAL_DTYPES = [
    np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.float16), np.dtype(">f4"),
    np.dtype(np.int8), np.dtype(np.int32), np.dtype(np.int64), np.dtype(np.uint8), np.dtype(np.uint64),
    np.dtype(np.bool_),
]
BAD_DTYPES = [np.dtype(np.complex64), np.dtype(object), np.dtype(str)]

LAYOUTS = ["C", "C", "F", "strided", "negative", "transposed", "pickled", "list"]


def _cast(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """float64 `values` in `dtype` as NumPy casts them (overflow -> inf, NaN -> some integer):
    whatever comes out is what the oracle judges."""
    with np.errstate(all="ignore"):
        if dtype.kind in "iu":
            # integers: small values (and the dtype's extremes where the float was special)
            info = np.iinfo(dtype)
            ints = np.where(np.isfinite(values) & (np.abs(values) < 1e6), np.round(values * 3), info.max)
            ints = np.where(values < -1e6, info.min, ints)
            return np.clip(ints, info.min, info.max).astype(dtype)
        if dtype.kind == "b":
            return values > 0
        if dtype.kind == "U":
            return values.astype(str)
        return values.astype(dtype)


def _garbage(dtype: np.dtype):
    """A filler for the gaps of strided views: if the library read it, results would differ."""
    if dtype.kind in "fc":
        return np.nan
    if dtype.kind in "iu":
        return np.iinfo(dtype).max
    if dtype.kind == "b":
        return True
    if dtype.kind == "U":
        return "garbage"
    return None


def _lay_out(arr: np.ndarray, layout: str, read_only: bool):
    """`arr`'s values in the given memory layout (or as a Python list)."""
    if layout == "list":
        return arr.tolist()
    if layout == "F":
        out = np.asfortranarray(arr)
    elif layout == "strided" and arr.ndim > 0:
        steps = (2, 3, 2)[: arr.ndim]
        big = np.full([s * n + 1 for s, n in zip(steps, arr.shape)], _garbage(arr.dtype), dtype=arr.dtype)
        out = big[tuple(slice(0, s * n, s) for s, n in zip(steps, arr.shape))]
        out[...] = arr
    elif layout == "negative" and arr.ndim > 0:
        flip = (slice(None, None, -1),) * arr.ndim
        out = np.ascontiguousarray(arr[flip])[flip]
    elif layout == "transposed":
        out = np.ascontiguousarray(arr.T).T
    elif layout == "pickled":
        # An unpickled array's dtype is equal to, but not the same object as, np.dtype(np.float32).
        out = pickle.loads(pickle.dumps(np.ascontiguousarray(arr)))
    else:
        out = np.array(arr, order="C")
    if read_only:
        out.flags.writeable = False
    return out


@st.composite
def broken(draw, aspects):
    """Which aspects of an argument to break: none two times in three (a "tame" argument, of a form
    the contract accepts, unusual layouts and finite special values included), else one or two of
    `aspects`; so both branches of the property get hundreds of examples, and a refusal is often
    due to a single cause."""
    if draw(st.sampled_from([False, False, True])):
        return frozenset(draw(st.lists(st.sampled_from(aspects), min_size=1, max_size=2)))
    return frozenset()


@st.composite
def floats_2d(draw, n: int, d: int, wild: bool = False) -> np.ndarray:
    """(n, d) float64 values: random normals at a drawn scale with a few finite special values
    planted, and when `wild` at least one that is not finite in float32."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = rng.standard_normal((n, d)) * draw(st.sampled_from([1.0, 1.0, 1e-3, 100.0]))
    if n * d:
        planted = [draw(st.sampled_from(FINITE_SPECIALS)) for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2])))]
        if wild:
            planted.append(draw(st.sampled_from(NON_FINITE_SPECIALS)))
        for value in planted:
            values[draw(st.integers(0, n - 1)), draw(st.integers(0, d - 1))] = value
    return values


# float32 first and most often: the dtype shrinking goes to, and the one used without a copy.
TAME_DTYPES = [np.dtype(np.float32)] * 4 + REAL_DTYPES


def _with_dims(arr: np.ndarray, ndim: int) -> np.ndarray:
    """`arr`'s values with ndim 0, 1 or 3 (for a 2-D array: (n, d) -> (1, n, d))."""
    if ndim == 1:
        return arr.reshape(-1)
    if ndim == 3:
        return arr.reshape((1,) * (3 - arr.ndim) + arr.shape) if arr.ndim < 3 else arr
    return np.asarray(arr.reshape(-1)[0] if arr.size else arr.dtype.type(0), dtype=arr.dtype)


@st.composite
def arrays(draw, values: np.ndarray, bad=frozenset()):
    """`values` in a drawn dtype and layout; with "dtype" in `bad` a complex, object or str one,
    with "ndim" in `bad` 0-D, 1-D or 3-D."""
    arr = _cast(values, draw(st.sampled_from(BAD_DTYPES if "dtype" in bad else TAME_DTYPES)))
    if "ndim" in bad:
        arr = _with_dims(arr, draw(st.sampled_from([0, 1, 3])))
    return _lay_out(arr, draw(st.sampled_from(LAYOUTS)), draw(st.booleans()))


# --------------------------------------------------------------------------- the oracle
def _real(value):
    """np.asarray(value) when it holds real numbers (float, integer or bool dtype), else None."""
    arr = np.asarray(value)
    return arr if arr.dtype.kind in "biuf" else None


def _to_float32(arr: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.array(arr, dtype=np.float32, order="C")


def expected_features(value, n_features):
    """The clean C-contiguous float32 array the contract says `value` stands for, or None when it
    must be refused."""
    arr = _real(value)
    if arr is None or arr.ndim != 2 or 0 in arr.shape:
        return None
    if n_features is not None and arr.shape[1] != n_features:
        return None
    clean = _to_float32(arr)
    return clean if np.isfinite(clean).all() else None


def expected_targets(value, classification: bool, n: int, n_out: int):
    """Clean int64 (n,) labels or float32 (n, n_out) targets, or None when they must be refused."""
    arr = _real(value)
    if arr is None or arr.ndim == 0 or arr.shape[0] != n:
        return None
    if classification:
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            return None
        if arr.dtype.kind == "f" and not (np.isfinite(arr).all() and (arr == np.round(arr)).all()):
            return None
        if arr.min() < 0 or arr.max() >= n_out:
            return None
        return arr.astype(np.int64)
    if arr.ndim == 1 and n_out == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] != n_out:
        return None
    clean = _to_float32(arr)
    return clean if np.isfinite(clean).all() else None


def _snapshot(value):
    """A copy to check that the call did not write into its input."""
    return pickle.dumps(value.tolist() if isinstance(value, np.ndarray) and value.dtype.kind == "O" else value)


def _unchanged(value, snapshot) -> bool:
    return _snapshot(value) == snapshot


def assert_refused(exc_info, *names: str) -> None:
    """The message starts with the name of (one of) the offending argument(s)."""
    message = exc_info if isinstance(exc_info, str) else str(exc_info.value)
    assert message.startswith(tuple(f"{name} " for name in names)), f"the message should name {names} first: {message!r}"


def assert_same(a, b) -> None:
    """Bit-for-bit equality of floats, NaN included (and of nested dicts/lists of them)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, (str, type)):
        assert a == b
    else:
        x, y = np.asarray(a), np.asarray(b)
        assert x.dtype == y.dtype and x.shape == y.shape, (x.dtype, x.shape, y.dtype, y.shape)
        assert x.tobytes() == y.tobytes(), f"not bit-identical:\n{x!r}\n{y!r}"


def _params(model) -> list:
    return [p.copy() for p in model.parameters()]


@functools.lru_cache(maxsize=None)
def _overflowing_conversion_crashes() -> bool:
    """Whether fm.matmul on a float64 operand beyond float32's range kills the interpreter when
    warnings are errors (checked once, in a child process)."""
    proc = subprocess.run([sys.executable, "-W", "error", "-c", _OVERFLOW_CANARY], capture_output=True, timeout=60)
    return proc.returncode < 0 or proc.returncode > 1


_OVERFLOW_CANARY = "import numpy as np, fastmlp as fm; fm.matmul(np.array([[1e300]]), np.ones((1, 1)))"


def _overflows_float32(value) -> bool:
    arr = _real(value)
    if arr is None or arr.dtype.kind != "f" or arr.dtype == np.float32:
        return False
    with np.errstate(all="ignore"):
        finite = np.isfinite(arr)
        return bool((np.abs(arr[finite]) > np.finfo(np.float32).max).any())


# --------------------------------------------------------------------------- fm.matmul
@st.composite
def matmul_args(draw):
    m, k, n = (draw(st.sampled_from(SIZES)) for _ in range(3))
    bad_a = draw(broken(["values", "dtype", "ndim"]))
    bad_b = draw(broken(["values", "dtype", "ndim", "inner"]))
    k_b = draw(st.sampled_from([s for s in SIZES if s != k])) if "inner" in bad_b else k
    a = draw(arrays(draw(floats_2d(m, k, "values" in bad_a)), bad_a))
    b = draw(arrays(draw(floats_2d(k_b, n, "values" in bad_b)), bad_b))
    outs = ["none", "none", "C", "F", "strided", "negative", "pickled"]
    if draw(broken(["out"])):
        outs = ["float64", "shape", "read-only", "list", "a"]
    kind = draw(st.sampled_from(outs))
    return a, b, _out_array(kind, m, n, a), kind, draw(st.sampled_from([1, 2]))


_OUT_GAP = -777.0  # fills the gaps of a strided `out`: they must never be written


def _out_array(kind: str, m: int, n: int, a):
    if kind == "none":
        return None
    if kind == "a":  # overlapping an input (refused only when they really share memory)
        return a
    if kind == "list":
        return np.full((m, n), np.nan, dtype=np.float32).tolist()
    if kind == "float64":
        return np.full((m, n), np.nan)
    if kind == "shape":
        return np.full((m + 1, n), np.nan, dtype=np.float32)
    if kind == "strided":
        big = np.full((2 * m + 1, 3 * n + 1), _OUT_GAP, dtype=np.float32)
        out = big[: 2 * m : 2, : 3 * n : 3]
        out[...] = np.nan  # beta == 0: whatever `out` held must be overwritten, NaN included
        return out
    out = _lay_out(np.full((m, n), np.nan, dtype=np.float32), "C" if kind == "read-only" else kind, False)
    if kind == "read-only":
        out.flags.writeable = False
    return out


def _matmul_refusals(a, b, out) -> tuple:
    """The arguments fm.matmul may name in its ValueError (any one that is wrong on its own; a
    mismatched pair is reported as "a has shape ..."), or () when it must succeed."""
    A, B = _real(a), _real(b)
    wrong = tuple(name for name, x in (("a", A), ("b", B)) if x is None or x.ndim != 2)
    if wrong:
        return wrong
    if A.shape[1] != B.shape[0]:
        return ("a",)
    if out is None:
        return ()
    if (
        not isinstance(out, np.ndarray)
        or out.dtype != np.float32
        or out.shape != (A.shape[0], B.shape[1])
        or not out.flags.writeable
        or (out.size and any(isinstance(x, np.ndarray) and x.dtype == np.float32 and x.size
                             and np.shares_memory(out, x) for x in (a, b)))
    ):
        return ("out",)
    return ()


def _check_product(C: np.ndarray, A32: np.ndarray, B32: np.ndarray) -> None:
    """C against the float64 product of the float32 operands: NaN and inf exactly where IEEE
    arithmetic puts them, finite values within a K * eps * |A||B| bound, plus what flushing
    subnormal inputs and outputs to zero (FTZ/DAZ, documented) can change."""
    m, k = A32.shape
    n = B32.shape[1]
    with np.errstate(all="ignore"):
        A, B = A32.astype(np.float64), B32.astype(np.float64)
        exact = (A[:, :, None] * B[None, :, :]).sum(axis=1) if k else np.zeros((m, n))  # no BLAS shortcuts
        finite_a, finite_b = np.where(np.isfinite(A), np.abs(A), 0), np.where(np.isfinite(B), np.abs(B), 0)
        magnitude = finite_a @ finite_b
        tiny = np.finfo(np.float32).tiny
        sub_a, sub_b = np.where(finite_a < tiny, finite_a, 0), np.where(finite_b < tiny, finite_b, 0)
        flushed = sub_a @ finite_b + finite_a @ sub_b
        # DAZ may read a subnormal input as 0, which changes 1e-40 * inf from inf to NaN
        daz = (np.where(np.abs(A) < tiny, 0, A)[:, :, None] * np.where(np.abs(B) < tiny, 0, B)[None]).sum(axis=1)
        if not k:
            daz = exact
    bound = 2 * (k + 1) * np.finfo(np.float32).eps * magnitude + flushed + (k + 1) * tiny
    # Where |A||B| comes near float32's largest value, partial sums may overflow: anything goes.
    safe = magnitude < 1e37
    matches = np.zeros(C.shape, dtype=bool)
    for ref in (exact, daz):
        matches |= (np.isnan(ref) & np.isnan(C)) | (np.isinf(ref) & (C == ref))
    special = safe & ~(np.isfinite(exact) & np.isfinite(daz))
    assert matches[special].all(), f"NaN or inf expected (IEEE: NaN input, inf * 0, inf - inf):\n{C}\n{exact}"
    close = safe & np.isfinite(exact) & np.isfinite(daz)
    err = np.abs(C[close].astype(np.float64) - exact[close])
    assert (err <= bound[close]).all(), f"error {err.max()} beyond the bound"


@FUZZ
@given(matmul_args())
def test_matmul_fuzz(args):
    a, b, out, out_kind, threads = args
    if (_overflows_float32(a) or _overflows_float32(b)) and _overflowing_conversion_crashes():
        event("skipped: this conversion crashes (see test_matmul_overflowing_conversion)")
        return  # it would kill the test run; test_matmul_overflowing_conversion fails instead
    snapshots = [_snapshot(x) for x in (a, b)]
    refusals = _matmul_refusals(a, b, out)
    # Values beyond float32's range: inf in the product (as the model path converts them) or a
    # ValueError naming the operand; either is clear.
    optional = tuple(name for name, x in (("a", a), ("b", b)) if _overflows_float32(x))
    before = fm.get_num_threads()
    fm.set_num_threads(threads)
    try:
        if refusals:
            with pytest.raises(ValueError) as exc_info:
                fm.matmul(a, b, out=out)
            message = str(exc_info.value)
        elif optional:
            try:
                C = fm.matmul(a, b, out=out)
            except ValueError as exc:
                refusals, message = optional, str(exc)
        else:
            C = fm.matmul(a, b, out=out)
    finally:
        fm.set_num_threads(before)
    assert all(_unchanged(x, s) for x, s in zip((a, b), snapshots)), "an input was written to"
    event("refused" if refusals else "accepted")
    if refusals:
        assert_refused(message, *refusals)
        assert "(given " in message
        return
    A32, B32 = _to_float32(_real(a)), _to_float32(_real(b))
    assert isinstance(C, np.ndarray) and C.dtype == np.float32 and C.shape == (A32.shape[0], B32.shape[1])
    if out is not None:
        assert C is out
        if out_kind == "strided":
            gaps = out.base.copy()
            gaps[: 2 * out.shape[0] : 2, : 3 * out.shape[1] : 3] = _OUT_GAP
            assert (gaps == _OUT_GAP).all(), "matmul wrote outside `out`"
    _check_product(C, A32, B32)
    # Bit-identical with the other thread count (documented), and on clean C-contiguous copies.
    fm.set_num_threads(3 - threads)
    try:
        again = fm.matmul(a, b)
    finally:
        fm.set_num_threads(before)
    assert_same(C, again)
    assert_same(C, fm.matmul(A32, B32))


def test_matmul_overflowing_conversion():
    """A float64 operand beyond float32's range (converted to inf, as the model path does) must not
    kill the interpreter when warnings are errors, nor warn: inf in the result, or a ValueError."""
    code = textwrap.dedent(
        """
        import numpy as np, fastmlp as fm
        try:
            C = fm.matmul(np.array([[1e300, 1.0]]), np.ones((2, 2)))
        except ValueError as exc:
            print("ValueError", exc)
        else:
            assert C.dtype == np.float32 and np.isposinf(C).all(), C
            print("ok")
        """
    )
    proc = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, (
        f"fm.matmul(np.array([[1e300, 1.0]]), np.ones((2, 2))) under -W error: return code {proc.returncode}\n"
        f"{proc.stderr[-2000:]}"
    )


# --------------------------------------------------------------------------- models
ACTIVATIONS = ["relu", "tanh", "sigmoid", None]


@st.composite
def model_specs(draw, classification: bool):
    return {
        "input_dim": draw(st.sampled_from(FEATURES)),
        "lazy": draw(st.sampled_from([False, False, False, True])),
        "hidden": draw(st.sampled_from([1, 2, 3, 5, 8, 16])),
        "activation": draw(st.sampled_from(ACTIVATIONS)),
        "dropout": draw(st.sampled_from([0.0, 0.0, 0.5])),
        "outputs": draw(st.sampled_from([2, 3, 5] if classification else [1, 1, 2, 3])),
        "seed": draw(st.integers(0, 2**64 - 1)),
        "loss": "cross_entropy" if classification else "mse",
        "optimizer": draw(st.sampled_from(["sgd", "adam", "adam_wd", "sgd_momentum"])),
    }


def make_model(spec, input_dim="spec"):
    layers = [fm.Dense(spec["hidden"], activation=spec["activation"])]
    if spec["dropout"]:
        layers.append(fm.Dropout(spec["dropout"]))
    layers.append(fm.Dense(spec["outputs"]))
    if input_dim == "spec":
        input_dim = None if spec["lazy"] else spec["input_dim"]
    model = fm.Sequential(layers, input_dim=input_dim, seed=spec["seed"])
    optimizer = {
        "sgd": fm.optim.SGD(lr=0.1),
        "sgd_momentum": fm.optim.SGD(lr=0.01, momentum=0.9, nesterov=True),
        "adam": fm.optim.Adam(lr=1e-3),
        "adam_wd": fm.optim.Adam(lr=1e-2, weight_decay=0.1),
    }[spec["optimizer"]]
    metrics = ["accuracy"] if spec["loss"] == "cross_entropy" else ["mse", "mae"]
    model.compile(loss=spec["loss"], optimizer=optimizer, metrics=metrics)
    return model


@st.composite
def features(draw, spec):
    """X for a model spec; a broken one may have no rows, another feature count, bad values, a bad
    dtype or number of dimensions."""
    bad = draw(broken(["values", "dtype", "ndim", "rows", "features"]))
    n = 0 if "rows" in bad else draw(st.sampled_from(SIZES[1:]))
    d = draw(st.sampled_from([f for f in [0] + FEATURES if f != spec["input_dim"]])) if "features" in bad else spec["input_dim"]
    return draw(arrays(draw(floats_2d(n, d, "values" in bad)), bad))


LABEL_DTYPES = [np.dtype(np.int64)] * 4 + [
    np.dtype(t) for t in (np.int8, np.int32, np.uint8, np.uint64, np.float16, np.float32, np.float64, np.bool_)
]
BAD_LABELS = [-1, 0.5, math.nan, math.inf, -math.inf, 1e30, 2.0**70, -(2.0**70)]  # and n_out, n_out - 0.5


@st.composite
def targets(draw, spec, n: int):
    """y for `n` samples: class labels or regression targets; a broken one may have another number
    of rows or columns, a bad dtype or shape, out-of-range, negative, non-integral or NaN labels,
    non-finite targets."""
    n_out = spec["outputs"]
    classification = spec["loss"] == "cross_entropy"
    bad = draw(broken(["rows", "values", "dtype", "ndim"] + ([] if classification else ["cols"])))
    rows = draw(st.sampled_from([n + 1, max(n - 1, 0), 0])) if "rows" in bad else n
    if classification:
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        labels = rng.integers(0, n_out, size=rows).astype(np.float64)
        if "values" in bad and rows:
            for _ in range(draw(st.sampled_from([1, 1, 2]))):
                labels[draw(st.integers(0, rows - 1))] = draw(st.sampled_from(BAD_LABELS + [n_out, n_out - 0.5]))
        dtype = draw(st.sampled_from(BAD_DTYPES if "dtype" in bad else LABEL_DTYPES))
        with np.errstate(all="ignore"):
            arr = labels.astype(dtype) if dtype.kind != "U" else labels.astype(str)
        form = draw(st.sampled_from(["one-hot", 0, 3] if "ndim" in bad else ["1d", "1d", "column"]))
        if form == "column":
            arr = arr[:, None]
        elif form == "one-hot":
            arr = np.zeros((rows, n_out), dtype=arr.dtype)
        elif form != "1d":
            arr = _with_dims(arr, form)
    else:
        cols = n_out + 1 if "cols" in bad else n_out
        arr = _cast(draw(floats_2d(rows, cols, "values" in bad)),
                    draw(st.sampled_from(BAD_DTYPES if "dtype" in bad else TAME_DTYPES)))
        if "ndim" in bad:
            arr = _with_dims(arr, draw(st.sampled_from([0, 3] + ([1] if cols > 1 else []))))
        elif cols == 1 and draw(st.booleans()):
            arr = arr[:, 0]  # (n,) for one output
    return _lay_out(arr, draw(st.sampled_from(LAYOUTS)), draw(st.booleans()))


def _moderate(*arrays_) -> bool:
    return all(np.abs(np.asarray(a, dtype=np.float64)).max(initial=0) <= 1e6 for a in arrays_)


def _call(fn, *args):
    """("ok", result) or ("raised", type, message): to compare two calls that may both fail."""
    try:
        return ("ok", fn(*args))
    except FloatingPointError as exc:  # divergence: documented, and must be the same on both
        return ("raised", type(exc), str(exc))


@st.composite
def predict_args(draw):
    spec = draw(model_specs(draw(st.booleans())))
    return spec, draw(features(spec)), draw(st.sampled_from([1, 2]))


@FUZZ
@given(predict_args())
def test_predict_fuzz(args):
    spec, X, threads = args
    model = make_model(spec)
    snapshot = _snapshot(X)
    clean = expected_features(X, None if spec["lazy"] else spec["input_dim"])
    before = fm.get_num_threads()
    fm.set_num_threads(threads)
    try:
        if clean is None:
            with pytest.raises(ValueError) as exc_info:
                model.predict(X)
        else:
            out = model.predict(X)
    finally:
        fm.set_num_threads(before)
    assert _unchanged(X, snapshot), "predict wrote into X"
    event("refused" if clean is None else "accepted")
    if clean is None:
        assert_refused(exc_info, "X")
        if spec["lazy"]:
            assert model.input_dim is None, "a refused X must not build the model"
        return
    reference = make_model(spec, input_dim=clean.shape[1])
    assert_same(out, reference.predict(clean))
    assert out.shape == (clean.shape[0], spec["outputs"])
    if _moderate(clean):
        assert np.isfinite(out).all(), "non-finite outputs from moderate finite inputs"
    assert_same(_params(model), _params(reference))  # predict does not change the weights


@st.composite
def step_args(draw):
    spec = draw(model_specs(draw(st.booleans())))
    X = draw(features(spec))
    n = len(X) if hasattr(X, "__len__") and np.ndim(X) > 0 else 1
    return spec, X, draw(targets(spec, n)), draw(st.sampled_from([1, 2]))


def _expected_xy(spec, X, y):
    """(clean X or None, clean y or None, None or the name of the argument that must be refused)."""
    clean_X = expected_features(X, None if spec["lazy"] else spec["input_dim"])
    if clean_X is None:
        return None, None, "X"
    clean_y = expected_targets(y, spec["loss"] == "cross_entropy", clean_X.shape[0], spec["outputs"])
    return clean_X, clean_y, "y" if clean_y is None else None


@FUZZ
@given(step_args())
def test_train_step_and_evaluate_fuzz(args):
    """evaluate, then train_step, on the drawn (X, y): the same as on clean copies, or ValueError."""
    spec, X, y, threads = args
    model = make_model(spec)
    snapshots = [_snapshot(v) for v in (X, y)]
    clean_X, clean_y, refused = _expected_xy(spec, X, y)
    reference = make_model(spec, input_dim=spec["input_dim"] if clean_X is None else clean_X.shape[1])
    before = fm.get_num_threads()
    fm.set_num_threads(threads)
    try:
        if refused is not None:
            with pytest.raises(ValueError) as exc_info:
                model.evaluate(X, y)
            assert_refused(exc_info, refused)
            with pytest.raises(ValueError) as exc_info:
                model.train_step(X, y)
            assert_refused(exc_info, refused.lower())  # train_step names them x and y
        else:
            scores = model.evaluate(X, y)
            step = _call(model.train_step, X, y)
            grads = [g.copy() for g in model.gradients()]
    finally:
        fm.set_num_threads(before)
    assert all(_unchanged(v, s) for v, s in zip((X, y), snapshots)), "an input was written to"
    event(f"refused: {refused}" if refused else "accepted")
    if refused is not None:
        if spec["lazy"] and refused == "X":
            assert model.input_dim is None, "a refused X must not build the model"
        if model.input_dim is not None:  # the failed calls changed nothing
            assert_same(_params(model), _params(reference))
        return
    assert_same(scores, reference.evaluate(clean_X, clean_y))
    if _moderate(clean_X) and (spec["loss"] == "cross_entropy" or _moderate(clean_y)):
        assert all(math.isfinite(v) for v in scores.values()), scores
    assert_same(step, _call(reference.train_step, clean_X, clean_y))
    assert_same(_params(model), _params(reference))
    if step[0] == "ok":
        assert_same(grads, [g.copy() for g in reference.gradients()])


@st.composite
def fit_args(draw):
    spec = draw(model_specs(draw(st.booleans())))
    X = draw(features(spec))
    n = len(X) if hasattr(X, "__len__") and np.ndim(X) > 0 else 1
    y = draw(targets(spec, n))
    validation = None
    if draw(st.sampled_from([False, False, True])):
        Xv = draw(features(spec))
        nv = len(Xv) if hasattr(Xv, "__len__") and np.ndim(Xv) > 0 else 1
        validation = (Xv, draw(targets(spec, nv)))
    options = {
        "epochs": draw(st.sampled_from([0, 1, 1, 2])),
        "batch_size": draw(st.sampled_from([1, 2, 3, 7, 64])),
        "shuffle": draw(st.booleans()),
    }
    return spec, X, y, validation, options, draw(st.sampled_from([1, 2]))


@FUZZ
@given(fit_args())
def test_fit_fuzz(args):
    spec, X, y, validation, options, threads = args
    model = make_model(spec)
    snapshots = [_snapshot(v) for v in (X, y, validation)]
    clean_X, clean_y, refused = _expected_xy(spec, X, y)
    clean_validation = None
    if refused is None and validation is not None:
        clean_Xv, clean_yv, refused_v = _expected_xy(dict(spec, lazy=False, input_dim=clean_X.shape[1]), *validation)
        if refused_v is not None:
            refused = {"X": "validation_data[0]", "y": "validation_data[1]"}[refused_v]
        clean_validation = (clean_Xv, clean_yv)
    reference = make_model(spec, input_dim=spec["input_dim"] if clean_X is None else clean_X.shape[1])
    event(f"refused: {refused}" if refused else "accepted")
    before = fm.get_num_threads()
    fm.set_num_threads(threads)
    try:
        if refused is not None:
            with pytest.raises(ValueError) as exc_info:
                model.fit(X, y, validation_data=validation, verbose=0, **options)
        else:
            result = _call(lambda: model.fit(X, y, validation_data=validation, verbose=0, **options).history)
    finally:
        fm.set_num_threads(before)
    assert all(_unchanged(v, s) for v, s in zip((X, y, validation), snapshots)), "an input was written to"
    if refused is not None:
        assert_refused(exc_info, refused)
        if spec["lazy"] and refused == "X":
            assert model.input_dim is None, "a refused X must not build the model"
        if model.input_dim is not None:  # the failed call changed nothing
            assert_same(_params(model), _params(reference))
        return
    expected = _call(lambda: reference.fit(clean_X, clean_y, validation_data=clean_validation, verbose=0,
                                           **options).history)
    assert_same(result, expected)
    assert_same(_params(model), _params(reference))
