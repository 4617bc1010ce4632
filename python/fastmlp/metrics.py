"""Metrics: scikit-learn-compatible functions, and the names ``compile(metrics=[...])`` accepts.

The functions (``accuracy_score``, ``top_k_accuracy_score``, ``precision_score``, ``recall_score``,
``f1_score``, ``confusion_matrix``, ``mean_squared_error``, ``mean_absolute_error``, ``r2_score``)
have the signatures, defaults and values of their ``sklearn.metrics`` namesakes, for binary and
multiclass label vectors and for regression targets, implemented with NumPy (scikit-learn is not
needed). Multilabel indicator matrices are not supported.

Metric names in ``compile``:

* ``"accuracy"``, ``"mse"``, ``"mae"``: gathered by the C++ core in the same pass as the loss, so
  free. The training value is the mean over the epoch's batches (weights changing as they train),
  as in Keras.
* ``"precision"``, ``"recall"``, ``"f1"`` (macro average; ``_micro``, ``_macro``, ``_weighted``
  suffixes choose another), ``"top_k_accuracy"`` (k = 5, Keras's default; ``"top_3_accuracy"``
  etc. for another k) for classification, and ``"r2"`` for regression: these need the whole
  prediction vector, so they are computed after each epoch from a ``predict`` pass (dropout off,
  end-of-epoch weights) over the training data, and over the validation data for ``val_``
  values. That pass costs about a third of a training epoch; cheap metrics do not pay it. The
  values equal the functions below on ``model.predict(X)`` (argmax for labels) with
  ``zero_division=0``, ``labels=range(outputs)`` for top-k, and sklearn's defaults otherwise.

How those names are parsed and computed during ``fit``/``evaluate`` is private
(``fastmlp._compiled_metrics``); this module holds the functions and ``NAMES``.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional, Tuple

import numpy as np

from ._validation import positive_int

__all__ = [
    "NAMES",
    "UndefinedMetricWarning",
    "accuracy_score",
    "top_k_accuracy_score",
    "precision_score",
    "recall_score",
    "f1_score",
    "confusion_matrix",
    "mean_squared_error",
    "mean_absolute_error",
    "r2_score",
]

ArrayLike = Any

#: the metric names ``compile(metrics=[...])`` accepts (besides aliases and the ``_micro``/
#: ``_macro``/``_weighted`` and ``top_<k>_accuracy`` variants)
NAMES = ("accuracy", "mse", "mae", "precision", "recall", "f1", "top_k_accuracy", "r2")


class UndefinedMetricWarning(UserWarning):
    """A metric is ill-defined (e.g. a precision with no predicted samples); as scikit-learn's."""


# ---------------------------------------------------------------------------------- validation
def _labels_1d(name: str, y: ArrayLike) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class labels, got an array of shape {arr.shape}")
    if arr.shape[0] < 1:
        raise ValueError(f"{name} must contain at least one sample, got an empty array")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(f"{name} must hold class labels (integers or strings), got continuous values")
    elif arr.dtype.kind not in "iubUSO":
        raise ValueError(f"{name} must hold class labels (integers or strings), got dtype {arr.dtype}")
    return arr


def _pair(y_true: ArrayLike, y_pred: ArrayLike, pred_name: str = "y_pred") -> Tuple[np.ndarray, np.ndarray]:
    t = _labels_1d("y_true", y_true)
    p = _labels_1d(pred_name, y_pred)
    if t.shape[0] != p.shape[0]:
        raise ValueError(f"y_true and {pred_name} must have the same length, got {t.shape[0]} and {p.shape[0]}")
    return t, p


def _sample_weight_array(sample_weight: ArrayLike, n: int, allow_all_zero: bool = False) -> Optional[np.ndarray]:
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"sample_weight must have shape ({n},), got {w.shape}")
    if w.dtype.kind not in "iubf":
        raise ValueError(f"sample_weight must be numbers, got dtype {w.dtype}")
    if not allow_all_zero and np.all(w == 0):
        raise ValueError("sample_weight must contain at least one non-zero number (as scikit-learn)")
    return w


def _index_of(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Position of each value in ``labels`` (any order, unique), -1 where absent; vectorised."""
    order = np.argsort(labels, kind="stable")
    pos = np.searchsorted(labels, values, sorter=order)
    pos_clipped = np.minimum(pos, labels.shape[0] - 1)
    found = labels[order[pos_clipped]] == values
    return np.where(found, order[pos_clipped], -1).astype(np.int64)


def _average(a: np.ndarray, weights: Optional[np.ndarray] = None, axis: Optional[int] = None, normalize: bool = True) -> Any:
    """scikit-learn's ``_average`` for NumPy inputs (the same NumPy calls, so the same rounding):
    np.average when normalizing, np.dot for a weighted sum, else a float sum."""
    if normalize:
        return np.average(a, axis=axis, weights=weights)
    if axis is None and weights is not None:
        return np.dot(a, weights)
    dtype = a.dtype if a.dtype.kind == "f" else np.float64
    return np.sum(a.astype(dtype, copy=False), axis=axis)


# ---------------------------------------------------------------------------------- classification
def accuracy_score(y_true: ArrayLike, y_pred: ArrayLike, *, normalize: bool = True, sample_weight: ArrayLike = None) -> float:
    """Fraction (or, with ``normalize=False``, number) of samples whose label is predicted exactly.

    y_true, y_pred: (n,) class labels. sample_weight: optional (n,) weights."""
    t, p = _pair(y_true, y_pred)
    w = _sample_weight_array(sample_weight, t.shape[0])
    return float(_average(t == p, weights=w, normalize=normalize))


def confusion_matrix(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: ArrayLike = None,
    sample_weight: ArrayLike = None,
    normalize: Optional[str] = None,
) -> np.ndarray:
    """``C[i, j]``: number (or weight) of samples of true label ``labels[i]`` predicted as
    ``labels[j]``; int64 (n_labels, n_labels), float64 with float weights or ``normalize``
    ("true": rows sum to 1, "pred": columns, "all": the whole matrix). ``labels`` defaults to the
    sorted labels present in y_true or y_pred."""
    t, p = _pair(y_true, y_pred)
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError(f"normalize must be None, 'true', 'pred' or 'all', got {normalize!r}")
    w = _sample_weight_array(sample_weight, t.shape[0])
    if w is None:
        w = np.ones(t.shape[0], dtype=np.int64)
    if labels is None:
        labs = np.union1d(t, p)
    else:
        labs = np.asarray(labels)
        if labs.size == 0:
            raise ValueError("'labels' should contain at least one label.")
        if len(np.intersect1d(t, labs)) == 0:
            raise ValueError("At least one label specified must be in y_true")
    n_labels = labs.size
    ti, pi = _index_of(t, labs), _index_of(p, labs)
    keep = (ti >= 0) & (pi >= 0)
    dtype = np.int64 if w.dtype.kind in "iub" else np.float64
    cm = np.zeros((n_labels, n_labels), dtype=dtype)
    np.add.at(cm, (ti[keep], pi[keep]), w[keep].astype(dtype))
    with np.errstate(all="ignore"):
        if normalize == "true":
            cm = cm / cm.sum(axis=1, keepdims=True)
        elif normalize == "pred":
            cm = cm / cm.sum(axis=0, keepdims=True)
        elif normalize == "all":
            cm = cm / cm.sum()
        cm = np.nan_to_num(cm)
    if cm.shape == (1, 1):
        warnings.warn(
            "A single label was found in 'y_true' and 'y_pred'. For the confusion matrix to have the "
            "correct shape, use the 'labels' parameter to pass all known labels.",
            UserWarning,
            stacklevel=2,
        )
    return cm


_AVERAGES = (None, "binary", "micro", "macro", "weighted")


def _zero_division_value(zero_division: Any) -> float:
    if isinstance(zero_division, str) and zero_division == "warn":
        return 0.0
    if isinstance(zero_division, (int, float, np.floating, np.integer)) and not isinstance(zero_division, bool):
        if zero_division in (0, 1):
            return float(zero_division)
        if np.isnan(zero_division):
            return float("nan")
    raise ValueError(f"zero_division must be 'warn', 0.0, 1.0 or np.nan, got {zero_division!r}")


def _divide(num: np.ndarray, den: np.ndarray, what: str, modifier: str, zero_division: Any, warn: bool) -> np.ndarray:
    """num / den elementwise, with ``zero_division``'s value (and a warning for "warn") where den == 0."""
    mask = den == 0
    den = den.astype(np.float64, copy=True)
    den[mask] = 1.0
    out: np.ndarray = num.astype(np.float64) / den
    if not mask.any():
        return out
    out[mask] = _zero_division_value(zero_division)
    if warn and isinstance(zero_division, str):
        where = "due to" if out.shape[0] == 1 else "in labels with"
        warnings.warn(
            f"{what} is ill-defined and being set to 0.0 {where} no {modifier} samples. "
            "Use `zero_division` parameter to control this behavior.",
            UndefinedMetricWarning,
            stacklevel=4,
        )
    return out


def _nanaverage(a: np.ndarray, weights: Optional[np.ndarray]) -> float:
    if a.shape[0] == 0:
        return float("nan")
    mask = np.isnan(a)
    if mask.all():
        return float("nan")
    if weights is None:
        return float(np.nanmean(a))
    a, weights = a[~mask], np.asarray(weights)[~mask]
    try:
        return float(_average(a, weights=weights))
    except ZeroDivisionError:
        return float(_average(a))


def _prf(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    labels: ArrayLike,
    pos_label: Any,
    average: Optional[str],
    sample_weight: ArrayLike,
    zero_division: Any,
    warn_for: str,
) -> Tuple[Any, Any, Any]:
    """(precision, recall, f1) as sklearn's precision_recall_fscore_support with beta = 1."""
    if average not in _AVERAGES:
        raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}")
    _zero_division_value(zero_division)
    t, p = _pair(y_true, y_pred)
    w = _sample_weight_array(sample_weight, t.shape[0])
    present = np.union1d(t, p)
    if average == "binary":
        if present.shape[0] > 2:
            raise ValueError(
                "Target is multiclass but average='binary'. Please choose another average setting, "
                "one of [None, 'micro', 'macro', 'weighted']."
            )
        if pos_label not in present.tolist() and present.shape[0] >= 2:
            raise ValueError(f"pos_label={pos_label} is not a valid label. It should be one of {present}")
        labels = [pos_label]
    elif pos_label not in (None, 1):
        warnings.warn(
            f"Note that pos_label (set to {pos_label!r}) is ignored when average != 'binary' (got {average!r}). "
            "You may use labels=[pos_label] to specify a single positive class.",
            UserWarning,
            stacklevel=3,
        )
    if labels is None:
        selected = present
    else:
        selected = np.asarray(labels)
        if selected.ndim != 1:
            raise ValueError(f"labels must be a 1-D list of labels, got shape {selected.shape}")
    # per-label sums, with every label of the data known so nothing is silently dropped
    known = np.union1d(present, selected)  # sorted
    ti, pi = np.searchsorted(known, t), np.searchsorted(known, p)
    m = known.shape[0]
    hit = ti == pi
    tp_all = np.bincount(ti[hit], weights=None if w is None else w[hit], minlength=m)
    pred_all = np.bincount(pi, weights=w, minlength=m)
    true_all = np.bincount(ti, weights=w, minlength=m)
    sel = np.searchsorted(known, selected)
    tp, pred_sum, true_sum = tp_all[sel], pred_all[sel], true_all[sel]
    # as sklearn, through the confusion counts fp = pred - tp and fn = true - tp (with float
    # weights tp + (pred - tp) can differ from pred in the last bit)
    pred_sum, true_sum = tp + (pred_sum - tp), tp + (true_sum - tp)
    if average == "micro":
        tp, pred_sum, true_sum = (np.array([x.sum()]) for x in (tp, pred_sum, true_sum))
    precision = _divide(tp, pred_sum, "Precision", "predicted", zero_division, warn_for == "precision")
    recall = _divide(tp, true_sum, "Recall", "true", zero_division, warn_for == "recall")
    f1 = _divide(2.0 * tp.astype(np.float64), true_sum.astype(np.float64) + pred_sum.astype(np.float64),
                 "F-score", "true nor predicted", zero_division, warn_for == "f-score")
    if average is None:
        return precision, recall, f1
    weights = true_sum if average == "weighted" else None
    return _nanaverage(precision, weights), _nanaverage(recall, weights), _nanaverage(f1, weights)


_PRF_DOC = """

    y_true, y_pred: (n,) class labels (integers or strings). ``average``: "binary" (the score of
    ``pos_label`` only; the labels must be at most two), "micro" (from the summed counts), "macro"
    (unweighted mean over labels), "weighted" (mean weighted by each label's true count) or None
    (an array, one score per label). ``labels``: the labels to score (default: those present).
    ``zero_division``: the value where a ratio is 0/0: "warn" (0.0 and an UndefinedMetricWarning),
    0.0, 1.0 or np.nan (nan scores are left out of averages). Values equal sklearn.metrics'."""


def precision_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: ArrayLike = None,
    pos_label: Any = 1,
    average: Optional[str] = "binary",
    sample_weight: ArrayLike = None,
    zero_division: Any = "warn",
) -> Any:
    return _prf(y_true, y_pred, labels, pos_label, average, sample_weight, zero_division, "precision")[0]


def recall_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: ArrayLike = None,
    pos_label: Any = 1,
    average: Optional[str] = "binary",
    sample_weight: ArrayLike = None,
    zero_division: Any = "warn",
) -> Any:
    return _prf(y_true, y_pred, labels, pos_label, average, sample_weight, zero_division, "recall")[1]


def f1_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: ArrayLike = None,
    pos_label: Any = 1,
    average: Optional[str] = "binary",
    sample_weight: ArrayLike = None,
    zero_division: Any = "warn",
) -> Any:
    return _prf(y_true, y_pred, labels, pos_label, average, sample_weight, zero_division, "f-score")[2]


precision_score.__doc__ = "Precision tp / (tp + fp)." + _PRF_DOC
recall_score.__doc__ = "Recall tp / (tp + fn)." + _PRF_DOC
f1_score.__doc__ = "F1 score 2 tp / (2 tp + fp + fn), the harmonic mean of precision and recall." + _PRF_DOC


def top_k_accuracy_score(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    k: int = 2,
    normalize: bool = True,
    sample_weight: ArrayLike = None,
    labels: ArrayLike = None,
) -> float:
    """Fraction of samples whose true label is among the ``k`` highest scores.

    y_true: (n,) labels. y_score: (n, n_classes) scores (logits or probabilities), columns in the
    order of ``labels`` (default: the sorted labels of y_true); for two classes also (n,) scores
    of the greater label. Ties rank the later column first, as scikit-learn."""
    t = _labels_1d("y_true", y_true)
    score = np.asarray(y_score, dtype=np.float64)
    k = positive_int("k", k)
    n_unique = np.unique(t).shape[0]
    binary = n_unique <= 2 and not (labels is not None and len(labels) > 2)
    if binary:
        if score.ndim == 2 and score.shape[1] != 1:
            raise ValueError(
                f"`y_true` is binary while y_score is 2d with {score.shape[1]} classes. If `y_true` does not "
                "contain all the labels, `labels` must be provided."
            )
        score = score.reshape(-1)
    elif score.ndim != 2:
        raise ValueError(f"`y_score` needs to be of shape `(n_samples, n_classes)`, got shape {score.shape}")
    if score.shape[0] != t.shape[0]:
        raise ValueError(f"y_true and y_score must have the same number of samples, got {t.shape[0]} and {score.shape[0]}")
    w = _sample_weight_array(sample_weight, t.shape[0], allow_all_zero=True)
    n_score_classes = score.shape[1] if score.ndim == 2 else 2
    if labels is None:
        classes = np.unique(t)
        if classes.shape[0] != n_score_classes:
            raise ValueError(
                f"Number of classes in 'y_true' ({classes.shape[0]}) not equal to the number of classes in "
                f"'y_score' ({n_score_classes}). You can provide a list of all known classes by assigning it "
                "to the `labels` parameter."
            )
    else:
        labs = np.asarray(labels).reshape(-1)
        classes = np.unique(labs)
        if classes.shape[0] != labs.shape[0]:
            raise ValueError("Parameter 'labels' must be unique.")
        if not np.array_equal(classes, labs):
            raise ValueError("Parameter 'labels' must be ordered.")
        if classes.shape[0] != n_score_classes:
            raise ValueError(
                f"Number of given labels ({classes.shape[0]}) not equal to the number of classes in "
                f"'y_score' ({n_score_classes})."
            )
        if len(np.setdiff1d(t, classes)):
            raise ValueError("'y_true' contains labels not in parameter 'labels'.")
    if k >= classes.shape[0]:
        warnings.warn(
            f"'k' ({k}) greater than or equal to 'n_classes' ({classes.shape[0]}) will result in a perfect "
            "score and is therefore meaningless.",
            UndefinedMetricWarning,
            stacklevel=2,
        )
    encoded = np.searchsorted(classes, t)
    if binary:
        if k == 1:
            threshold = 0.5 if score.min() >= 0 and score.max() <= 1 else 0
            hits = (score > threshold).astype(np.int64) == encoded
        else:
            hits = np.ones(score.shape, dtype=bool)
    else:
        hits = _top_k_hits(encoded, score, k)
    if normalize:
        return float(np.average(hits, weights=w))
    if w is None:
        return float(np.sum(hits))
    return float(np.dot(hits, w))


def _top_k_hits(encoded: np.ndarray, score: np.ndarray, k: int) -> np.ndarray:
    """Whether column ``encoded[i]`` is among the k best of ``score[i]`` (ties: later column first)."""
    order = np.argsort(score, axis=1, kind="mergesort")[:, ::-1]
    hits: np.ndarray = (encoded == order[:, :k].T).any(axis=0)
    return hits


# ---------------------------------------------------------------------------------- regression
def _regression_pair(y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike, multioutput: Any) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray], Any]:
    t, p = np.asarray(y_true), np.asarray(y_pred)
    for name, arr in (("y_true", t), ("y_pred", p)):
        if arr.dtype.kind not in "iubf":
            raise ValueError(f"{name} must be numbers, got dtype {arr.dtype}")
        if arr.ndim not in (1, 2):
            raise ValueError(f"{name} must be a 1-D or 2-D array, got {arr.ndim}-D")
        if arr.shape[0] < 1:
            raise ValueError(f"{name} must contain at least one sample, got an empty array")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or infinity")
    t = t.reshape(-1, 1) if t.ndim == 1 else t
    p = p.reshape(-1, 1) if p.ndim == 1 else p
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same shape, got {t.shape} and {p.shape}")
    floats = [a.dtype for a in (t, p) if a.dtype.kind == "f"]
    dtype = np.result_type(*floats) if floats else np.float64
    w = _sample_weight_array(sample_weight, t.shape[0])
    if w is not None:
        dtype = np.result_type(dtype, w.dtype) if w.dtype.kind == "f" else dtype
        w = w.astype(dtype)
    if isinstance(multioutput, str):
        if multioutput not in ("raw_values", "uniform_average", "variance_weighted"):
            raise ValueError(
                f"multioutput must be 'raw_values', 'uniform_average', 'variance_weighted' or an array of "
                f"weights, got {multioutput!r}"
            )
    elif multioutput is not None:
        multioutput = np.asarray(multioutput, dtype=np.float64)
        if t.shape[1] == 1:
            raise ValueError("Custom multioutput weights are useful only in multi-output cases.")
        if multioutput.shape != (t.shape[1],):
            raise ValueError(f"multioutput weights must have shape ({t.shape[1]},), got {multioutput.shape}")
    return t.astype(dtype, copy=False), p.astype(dtype, copy=False), w, multioutput


def _combine_outputs(errors: np.ndarray, multioutput: Any) -> Any:
    if isinstance(multioutput, str):
        if multioutput == "raw_values":
            return errors
        multioutput = None
    return float(_average(errors, weights=multioutput))


def mean_squared_error(
    y_true: ArrayLike, y_pred: ArrayLike, *, sample_weight: ArrayLike = None, multioutput: Any = "uniform_average"
) -> Any:
    """Mean of (y_true - y_pred)^2. y: (n,) or (n, outputs); ``multioutput``: "uniform_average",
    "raw_values" (one value per output) or (outputs,) weights."""
    t, p, w, mo = _regression_pair(y_true, y_pred, sample_weight, multioutput)
    if isinstance(mo, str) and mo == "variance_weighted":
        raise ValueError("multioutput='variance_weighted' is only for r2_score")
    return _combine_outputs(_average((t - p) ** 2, weights=w, axis=0), mo)


def mean_absolute_error(
    y_true: ArrayLike, y_pred: ArrayLike, *, sample_weight: ArrayLike = None, multioutput: Any = "uniform_average"
) -> Any:
    """Mean of |y_true - y_pred|; arguments as mean_squared_error."""
    t, p, w, mo = _regression_pair(y_true, y_pred, sample_weight, multioutput)
    if isinstance(mo, str) and mo == "variance_weighted":
        raise ValueError("multioutput='variance_weighted' is only for r2_score")
    return _combine_outputs(_average(np.abs(p - t), weights=w, axis=0), mo)


def r2_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    sample_weight: ArrayLike = None,
    multioutput: Any = "uniform_average",
    force_finite: bool = True,
) -> Any:
    """Coefficient of determination 1 - SS_res / SS_tot per output, then combined by
    ``multioutput`` ("uniform_average", "raw_values", "variance_weighted" or weights). With
    ``force_finite`` a constant y_true gives 1.0 for a perfect prediction and 0.0 otherwise
    (instead of nan / -inf). Fewer than two samples: nan and an UndefinedMetricWarning."""
    t, p, w, mo = _regression_pair(y_true, y_pred, sample_weight, multioutput)
    if t.shape[0] < 2:
        warnings.warn("R^2 score is not well-defined with less than two samples.", UndefinedMetricWarning, stacklevel=2)
        return float("nan")
    weight = 1.0 if w is None else w[:, None]
    numerator = np.sum(weight * (t - p) ** 2, axis=0)
    denominator = np.sum(weight * (t - _average(t, weights=w, axis=0)) ** 2, axis=0)
    nonzero_den = denominator != 0
    if not force_finite:
        with np.errstate(divide="ignore", invalid="ignore"):
            scores = 1 - numerator / denominator
    else:
        nonzero_num = numerator != 0
        scores = np.ones(t.shape[1], dtype=numerator.dtype)
        valid = nonzero_den & nonzero_num
        scores[valid] = 1 - numerator[valid] / denominator[valid]
        scores[nonzero_num & ~nonzero_den] = 0.0
    if isinstance(mo, str):
        if mo == "raw_values":
            return scores
        weights = denominator if mo == "variance_weighted" and nonzero_den.any() else None
    else:
        weights = mo
    return float(_average(scores, weights=weights))
