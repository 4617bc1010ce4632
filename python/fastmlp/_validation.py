"""Input checks at the API boundary: each public call validates and converts its arrays once,
so the C++ core only ever sees C-contiguous float32 / int64 data of the right shape."""

from __future__ import annotations

import difflib
import numbers
from typing import Any, Iterable, Optional

import numpy as np

from . import _core

__all__ = ["unknown_name_error", "as_features", "as_targets", "positive_int", "non_negative_int"]


def unknown_name_error(kind: str, given: str, choices: Iterable[str]) -> ValueError:
    choices = tuple(choices)
    close = difflib.get_close_matches(given.lower(), choices, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return ValueError(f"unknown {kind} '{given}'; expected one of: {', '.join(choices)}.{hint}")


def positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def non_negative_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def _as_numeric_array(name: str, value: Any) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except Exception as exc:  # e.g. ragged nested lists
        raise ValueError(f"{name} must be a numeric array: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold real numbers (float or integer dtype), got dtype {arr.dtype}")
    return arr


def _as_float32_c(arr: np.ndarray) -> np.ndarray:
    """C-contiguous float32, copying only when needed. Values too large for float32 become inf
    (reported by the caller's finiteness check) instead of raising a RuntimeWarning."""
    if arr.dtype == np.float32 and arr.flags.c_contiguous:
        return arr  # the common case, kept cheap: train_step is called once per batch
    with np.errstate(over="ignore"):
        return np.ascontiguousarray(arr, dtype=np.float32)


def as_features(X: Any, n_features: Optional[int], name: str = "X") -> np.ndarray:
    """Returns X as a C-contiguous float32 (n_samples, n_features) array without copying when it
    already is one. Raises ValueError naming `name` for a wrong shape, an empty array, a wrong
    feature count or non-finite values."""
    arr = _as_numeric_array(name, X)
    if arr.ndim != 2:
        hint = " (for one sample use x.reshape(1, -1))" if arr.ndim == 1 else ""
        raise ValueError(f"{name} must be a 2-D array (n_samples, n_features), got shape {arr.shape}{hint}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: it must have at least one sample (row)")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has zero features (columns)")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{name} has {arr.shape[1]} features (columns) but the model expects {n_features}")
    arr = _as_float32_c(arr)
    if not _core.all_finite(arr):
        raise ValueError(f"{name} contains NaN or infinite values, or values too large for float32")
    return arr


def as_targets(y: Any, classification: bool, n_samples: int, n_outputs: int, name: str = "y") -> np.ndarray:
    """Class labels -> C-contiguous int64 (n,) in [0, n_outputs); regression targets -> C-contiguous
    float32 (n, n_outputs) (a 1-D y is accepted when the model has one output)."""
    arr = _as_numeric_array(name, y)
    if arr.ndim == 0 or arr.shape[0] != n_samples:
        got = "a scalar" if arr.ndim == 0 else f"{arr.shape[0]} rows"
        raise ValueError(f"{name} has {got} but X has {n_samples} samples: they must match")
    if classification:
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise ValueError(
                f"{name} must be integer class labels of shape ({n_samples},) for cross_entropy, got shape {arr.shape}"
            )
        if arr.dtype.kind == "f":
            if not np.isfinite(arr).all():
                raise ValueError(f"{name} contains NaN or infinite values")
            if not np.array_equal(arr, np.round(arr)):
                raise ValueError(f"{name} must hold integer class labels for cross_entropy, got non-integer floats")
        labels = np.ascontiguousarray(arr, dtype=np.int64)
        lo, hi = int(labels.min()), int(labels.max())
        if lo < 0 or hi >= n_outputs:
            raise ValueError(
                f"{name} labels must be in [0, {n_outputs}) for a model with {n_outputs} outputs, "
                f"got values in [{lo}, {hi}]"
            )
        return labels
    if arr.ndim == 1 and n_outputs == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] != n_outputs:
        raise ValueError(f"{name} must have shape ({n_samples}, {n_outputs}) to match the model's outputs, got {arr.shape}")
    values = _as_float32_c(arr)
    if not _core.all_finite(values):
        raise ValueError(f"{name} contains NaN or infinite values, or values too large for float32")
    return values
