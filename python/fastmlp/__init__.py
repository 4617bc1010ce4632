"""fastmlp: fast dense neural network (MLP) training on the CPU.

    model = fm.Sequential([fm.Dense(256, activation="relu"), fm.Dense(10)], input_dim=784, seed=0)
    model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-3), metrics=["accuracy"])
    model.fit(X, y, epochs=10, batch_size=128)
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from . import _core, activations, callbacks, initializers, layers, losses, metrics, onnx, optim, regularizers, schedules
from .gradcheck import check_gradients
from .plotting import plot_history
from .torch_interop import from_torch, to_torch
from .io import load
from .layers import Activation, BatchNorm, Dense, Dropout, LayerNorm
from .model import Sequential
from ._threads import _register_threadpoolctl, get_num_threads, set_num_threads

_register_threadpoolctl()  # threadpool_info() / threadpool_limits() see fastmlp's pool

__version__ = "0.1.0"

__all__ = [
    "Sequential",
    "Dense",
    "Dropout",
    "LayerNorm",
    "BatchNorm",
    "Activation",
    "load",
    "check_gradients",
    "from_torch",
    "to_torch",
    "plot_history",
    "matmul",
    "get_isa",
    "get_num_threads",
    "set_num_threads",
    "activations",
    "callbacks",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "onnx",
    "optim",
    "regularizers",
    "schedules",
    "__version__",
]


def get_isa() -> str:
    """The GEMM kernel in use: "avx512", "avx2" or "generic" (force one with FASTMLP_ISA)."""
    return str(_core.get_isa())


def matmul(a: Any, b: Any, out: Optional[np.ndarray] = None) -> np.ndarray:
    """``a @ b`` for 2-D arrays with fastmlp's GEMM, in float32.

    a: (m, k), b: (k, n); other real dtypes are converted to float32. Strided, F-contiguous and
    transposed (``x.T``) float32 inputs are used in place, without a copy. out: optional float32
    (m, n) array to write into (any strides; must not overlap a or b). Returns the (m, n) float32
    result (``out`` when given). Raises ValueError naming the argument for wrong shapes or dtypes.
    """
    try:
        return _core.matmul(_float32_operand(a, "a"), _float32_operand(b, "b"), out)
    except ValueError as exc:  # most checks run in C++; say what was given only when one fails
        given = ", ".join(f"{name}: {_describe_operand(x)}" for name, x in (("a", a), ("b", b), ("out", out)))
        raise ValueError(f"{exc} (given {given})") from None


def _float32_operand(x: Any, name: str) -> np.ndarray:
    """x as a float32 array for _core.matmul: a float32 ndarray as it is (any strides, no copy),
    anything else converted once. Values beyond float32's range become ±inf, as in NumPy's astype,
    but without the overflow warning (with warnings turned into errors the cast would fail)."""
    if isinstance(x, np.ndarray) and x.dtype == np.float32:
        return x
    try:
        arr = np.asarray(x)
    except Exception:  # ragged or otherwise not array-like (whatever NumPy raises for it)
        raise ValueError(f"{name} must be an array of real numbers") from None
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(arr, dtype=np.float32)


def _describe_operand(x: Any) -> str:
    if x is None:
        return "None"
    if isinstance(x, np.ndarray):
        read_only = "" if x.flags.writeable else " read-only"
        return f"{x.dtype}{read_only} array of shape {x.shape}"
    return type(x).__name__
