"""Sparse X: ``scipy.sparse`` matrices and arrays, handed to the core as CSR rows without ever
being densified (a Dense first layer multiplies them as they are; see ``nn/csr.hpp``).

SciPy is not a dependency: a sparse X is recognised with ``scipy.sparse.issparse`` only when
SciPy is already imported, which it must be for such an X to exist.
"""

from __future__ import annotations

import sys
from typing import Any, Optional, Union

import numpy as np

from . import _core
from ._validation import as_features

__all__ = ["Inputs", "SparseRows", "as_inputs", "is_sparse"]

#: The largest column count whose indices fit the core's int32 column indices.
_MAX_COLUMNS = 2**31 - 1


class SparseRows(_core.CsrMatrix):
    """Validated sparse X, as every core call takes it: CSR with float32 ``values``, int32
    column ``indices`` strictly increasing within each row (sorted, duplicates summed) and int64
    row pointers ``indptr``, every value finite (checked by the core when constructed).
    ``rows[start:stop]`` gives rows start..stop-1 without copying the values."""

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, n_cols: int) -> None:
        super().__init__(indptr, indices, values, n_cols)
        self.indptr, self.indices, self.values = indptr, indices, values

    @property
    def ndim(self) -> int:
        return 2

    def __len__(self) -> int:
        return int(self.shape[0])

    def __getitem__(self, rows: slice) -> "SparseRows":
        if not isinstance(rows, slice):
            raise TypeError(f"SparseRows takes a slice of rows, got {type(rows).__name__}")
        start, stop, step = rows.indices(self.shape[0])
        if step != 1:
            raise ValueError("SparseRows takes a slice of consecutive rows (step 1)")
        stop = max(start, stop)
        a, b = int(self.indptr[start]), int(self.indptr[stop])
        return SparseRows(self.indptr[start:stop + 1] - a, self.indices[a:b], self.values[a:b], self.shape[1])

    def __repr__(self) -> str:
        return f"SparseRows(shape={self.shape}, nnz={self.nnz})"


#: X as a core call takes it: dense C-contiguous float32 (n, features), or sparse rows.
Inputs = Union[np.ndarray, SparseRows]


def is_sparse(X: Any) -> bool:
    """Whether X is a scipy.sparse matrix or array (or already SparseRows)."""
    if isinstance(X, SparseRows):
        return True
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and bool(sparse.issparse(X))


def _sparse_rows(X: Any, n_features: Optional[int], name: str) -> SparseRows:
    """A scipy.sparse X (any format) as SparseRows, checked as ``as_features`` checks dense X."""
    shape = tuple(X.shape)
    if len(shape) != 2:
        raise ValueError(f"{name} must be a 2-D sparse matrix (n_samples, n_features), got shape {shape}")
    n, d = shape
    if n == 0:
        raise ValueError(f"{name} is empty: it must have at least one sample (row)")
    if d == 0:
        raise ValueError(f"{name} has zero features (columns)")
    if n_features is not None and d != n_features:
        raise ValueError(f"{name} has {d} features (columns) but the model expects {n_features}")
    if d > _MAX_COLUMNS:
        raise ValueError(f"{name} has {d} columns; sparse X may have at most {_MAX_COLUMNS}")
    if np.dtype(X.dtype).kind not in "biuf":
        raise ValueError(f"{name} must hold real numbers, got a sparse matrix of dtype {X.dtype}")
    csr = X.tocsr()
    if not csr.has_canonical_format:  # unsorted column indices or duplicates (which mean a sum)
        csr = csr.copy()
        csr.sum_duplicates()
    with np.errstate(over="ignore"):
        values = np.ascontiguousarray(csr.data, dtype=np.float32)
    if not _core.all_finite(values):
        raise ValueError(f"{name} contains NaN or infinite values, or values too large for float32")
    if csr.indices.size and (int(csr.indices.min()) < 0 or int(csr.indices.max()) >= d):
        raise ValueError(f"{name} is a malformed sparse matrix: column indices outside [0, {d})")
    # The structure is copied, never shared with the caller: the core checks it once, then reads it
    # with the GIL released for a whole fit, so a later write into the caller's indices must not
    # reach it (values are shared when already float32: a changed value is only a wrong number).
    indices = np.array(csr.indices, dtype=np.int32, order="C", copy=True)
    indptr = np.array(csr.indptr, dtype=np.int64, order="C", copy=True)
    return SparseRows(indptr, indices, values, d)


def as_inputs(X: Any, n_features: Optional[int], name: str = "X") -> Inputs:
    """X validated for a core call: sparse X (scipy.sparse, any format) as SparseRows, without
    densifying; anything else as ``as_features`` (C-contiguous float32)."""
    if isinstance(X, SparseRows):
        if n_features is not None and X.shape[1] != n_features:
            raise ValueError(f"{name} has {X.shape[1]} features (columns) but the model expects {n_features}")
        return X
    if is_sparse(X):
        return _sparse_rows(X, n_features, name)
    return as_features(X, n_features, name)
