"""fastmlp: fast dense neural network (MLP) training on the CPU.

    model = fm.Sequential([fm.Dense(256, activation="relu"), fm.Dense(10)], input_dim=784, seed=0)
    model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-3), metrics=["accuracy"])
    model.fit(X, y, epochs=10, batch_size=128)
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from . import _core, activations, callbacks, layers, losses, metrics, optim
from .io import load
from .layers import Dense, Dropout
from .model import Sequential

__version__ = "0.1.0"

__all__ = [
    "Sequential",
    "Dense",
    "Dropout",
    "load",
    "matmul",
    "get_isa",
    "get_num_threads",
    "set_num_threads",
    "activations",
    "callbacks",
    "layers",
    "losses",
    "metrics",
    "optim",
    "__version__",
]


def get_isa() -> str:
    """The GEMM kernel in use: "avx512", "avx2" or "generic" (force one with FASTMLP_ISA)."""
    return str(_core.get_isa())


def get_num_threads() -> int:
    """Threads fastmlp's kernels use, the calling thread included."""
    return int(_core.get_num_threads())


def set_num_threads(n: int) -> None:
    """Sets the threads fastmlp's kernels use (>= 1). Results do not depend on it."""
    from ._validation import positive_int

    _core.set_num_threads(positive_int("n", n))


def _matmul_operand(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.dtype != np.float32:
        arr = arr.astype(np.float32)
    return arr


def matmul(a: Any, b: Any, out: Optional[np.ndarray] = None) -> np.ndarray:
    """``a @ b`` for 2-D arrays with fastmlp's GEMM, in float32.

    a: (m, k), b: (k, n); other dtypes are converted to float32. Strided, F-contiguous and
    transposed (``x.T``) float32 inputs are used in place, without a copy. out: optional float32
    (m, n) array to write into. Returns the (m, n) float32 result.
    """
    a = _matmul_operand(a, "a")
    b = _matmul_operand(b, "b")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"a has shape {a.shape} and b has shape {b.shape}: a.shape[1] must equal b.shape[0]")
    shape = (a.shape[0], b.shape[1])
    if out is None:
        out = np.empty(shape, dtype=np.float32)
    elif not isinstance(out, np.ndarray) or out.dtype != np.float32 or out.shape != shape:
        raise ValueError(f"out must be a float32 array of shape {shape}")
    elif not out.flags.writeable:
        raise ValueError("out must be writeable")
    elif np.may_share_memory(out, a) or np.may_share_memory(out, b):
        raise ValueError("out must not share memory with a or b")
    _core.gemm(a, b, out)
    return out
