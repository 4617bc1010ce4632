"""The metrics of ``compile(metrics=[...])``: name parsing, the values of one epoch or evaluation
(from the core's statistics and from a predict pass), and the one rule for which logged values are
better when higher (used by every monitoring callback, schedule and the scikit-learn wrappers).

The public, scikit-learn-equal metric functions live in ``fastmlp.metrics``; this module only
wires them into ``fit`` and ``evaluate``.
"""

from __future__ import annotations

import re
import warnings
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ._validation import did_you_mean, unknown_name_error
from .metrics import NAMES, UndefinedMetricWarning, _top_k_hits, f1_score, precision_score, r2_score, recall_score

__all__ = ["resolve", "needs_predictions", "from_stats", "from_predictions", "ordered", "higher_is_better",
           "maximise", "monitor_key", "monitored_value"]

#: metrics gathered by the C++ core with the loss: name -> whether it needs class labels
_CORE_METRICS = {"accuracy": True, "mse": False, "mae": False}
#: other spellings of the metric names (Keras's, scikit-learn's), lower case -> the canonical name
#: that compile keeps and fit logs (docs/names.md lists them; a test keeps the two in step)
_ALIASES = {
    "acc": "accuracy",
    "sparse_categorical_accuracy": "accuracy",
    "categorical_accuracy": "accuracy",
    "binary_accuracy": "accuracy",
    "mean_squared_error": "mse",
    "mean_absolute_error": "mae",
    "r2_score": "r2",
    "precision_score": "precision",
    "recall_score": "recall",
    "f1_score": "f1",
    "top_k_categorical_accuracy": "top_k_accuracy",
    "sparse_top_k_categorical_accuracy": "top_k_accuracy",
}
#: aliases that mean the canonical metric only under one loss: Keras's categorical accuracies are
#: the arg-max accuracy of cross_entropy, its binary_accuracy the per-element accuracy of
#: binary_cross_entropy (logits thresholded at 0, i.e. probabilities at 0.5)
_ALIAS_LOSS = {
    "sparse_categorical_accuracy": "cross_entropy",
    "categorical_accuracy": "cross_entropy",
    "binary_accuracy": "binary_cross_entropy",
}
_PRF_FUNCTIONS = {"precision": precision_score, "recall": recall_score, "f1": f1_score}
_PRF_NAMES = {f"{m}{s}": (m, s[1:] if s else "macro") for m in _PRF_FUNCTIONS
              for s in ("", "_macro", "_micro", "_weighted")}
_TOP_K = re.compile(r"top_(\d+)_accuracy")
#: substrings of the logged names that are better when higher; everything else (loss, mse, mae)
#: is better when lower
_HIGHER_IS_BETTER = ("acc", "precision", "recall", "f1", "r2")


def higher_is_better(name: str) -> bool:
    """Whether the logged value ``name`` (a compiled metric, "loss", or their "val_" versions;
    also the scores of the scikit-learn wrappers, "val_accuracy" and "val_r2") improves upwards:
    True for accuracy, precision, recall, f1 and r2 names, False otherwise."""
    base = name[4:] if name.startswith("val_") else name
    return any(part in base for part in _HIGHER_IS_BETTER)


def maximise(monitor: str, mode: str) -> bool:
    """Whether a callback watching ``monitor`` in ``mode`` ("min", "max" or "auto") maximises it;
    "auto" follows ``higher_is_better``."""
    if mode != "auto":
        return mode == "max"
    return higher_is_better(monitor)


def monitor_key(monitor: str) -> str:
    """The logged name that ``monitor`` stands for: a metric alias resolved as ``compile`` resolves
    it, also after "val_" ("val_acc" -> "val_accuracy", "mean_squared_error" -> "mse")."""
    name = monitor.lower()
    prefix = "val_" if name.startswith("val_") else ""
    base = name[len(prefix):]
    return prefix + _ALIASES.get(base, base)


def monitored_value(owner: str, monitor: str, logs: Mapping[str, float]) -> Tuple[str, float]:
    """(logged key, value) of what a monitoring callback or schedule watches: ``monitor`` as
    written, or else its ``monitor_key``. When neither is logged, ValueError naming ``owner`` (e.g.
    "EarlyStopping"), the monitor, the logged keys and the fix; fit raises it at the end of the
    first epoch, when the first logs arrive."""
    if monitor in logs:
        return monitor, float(logs[monitor])
    key = monitor_key(monitor)
    if key in logs:
        return key, float(logs[key])
    raise _unlogged_monitor_error(owner, monitor, key, list(logs))


def _unlogged_monitor_error(owner: str, monitor: str, key: str, logged: List[str]) -> ValueError:
    has_validation = any(k.startswith("val_") for k in logged)
    validation = key.startswith("val_")
    base = key[len("val_"):] if validation else key
    known = base == "loss" or base in _CORE_METRICS or _prediction_metric(base) is not None
    message = (f"{owner}(monitor={monitor!r}): fit logs no {monitor!r}; the logged values are "
               f"{', '.join(map(repr, logged))}.")
    fixes = []
    if validation and not has_validation:
        fixes.append("pass validation_data= or validation_split= to fit ('val_' values are logged only with "
                     "validation data)")
    if key == "learning_rate":
        return ValueError(f"{message} 'learning_rate' is logged by fm.callbacks.LearningRateScheduler: "
                          f"put {owner} after it in callbacks.")
    if not known:
        candidates = logged + ([f"val_{k}" for k in logged] if validation and not has_validation else [])
        hint = did_you_mean(monitor, candidates)
        if fixes:
            return ValueError(f"{message}{hint} To monitor 'val_' values, pass validation_data= or "
                              f"validation_split= to fit.")
        return ValueError(f"{message}{hint or ' Monitor one of the logged values.'}")
    if base != "loss" and base not in logged:
        fixes.append(f"add {base!r} to compile(metrics=[...])")
    if not fixes:
        return ValueError(f"{message} Monitor one of the logged values.")
    alternative = "val_loss" if validation and has_validation else base if base in logged else "loss"
    fix = " and ".join(fixes)
    return ValueError(f"{message} {fix[0].upper()}{fix[1:]}, or monitor={alternative!r}.")


def _prediction_metric(key: str) -> Optional[Tuple[bool, Callable[[np.ndarray, np.ndarray], float]]]:
    """(needs class labels, fn(y, outputs) -> value) for a prediction-based metric name, else None."""
    if key in _PRF_NAMES:
        which, average = _PRF_NAMES[key]
        score = _PRF_FUNCTIONS[which]

        def prf(y: np.ndarray, out: np.ndarray) -> float:
            return float(score(y, np.argmax(out, axis=1), average=average, zero_division=0.0))

        return True, prf
    if key == "top_k_accuracy" or _TOP_K.fullmatch(key):
        match = _TOP_K.fullmatch(key)
        k = int(match.group(1)) if match else 5
        if k < 1:
            return None

        def top_k(y: np.ndarray, out: np.ndarray) -> float:
            return float(np.mean(_top_k_hits(y, out, k)))

        return True, top_k
    if key == "r2":
        def r2(y: np.ndarray, out: np.ndarray) -> float:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UndefinedMetricWarning)  # one sample: nan
                return float(r2_score(y, out))

        return False, r2
    return None


def resolve(metrics: Sequence[str], classification: bool, loss_name: str,
            class_metrics_need_cross_entropy: bool = True) -> List[str]:
    """Canonical metric names; ValueError for unknown names or a metric the loss cannot support.
    ``class_metrics_need_cross_entropy=False`` (restoring a saved training state) accepts the class
    metrics that files written before this rule may hold with binary_cross_entropy."""
    out: List[str] = []
    for m in metrics:
        if not isinstance(m, str):
            raise TypeError(f"metrics must be names (strings), got {type(m).__name__}")
        key = _ALIASES.get(m.lower(), m.lower())
        if _ALIAS_LOSS.get(m.lower(), loss_name) != loss_name:
            raise ValueError(
                f"metric '{m}' is Keras's accuracy for the loss '{_ALIAS_LOSS[m.lower()]}', but the loss is "
                f"'{loss_name}': use metrics=['accuracy'] (the arg-max accuracy for cross_entropy, the per-element "
                f"accuracy for binary_cross_entropy)"
            )
        if key in _CORE_METRICS:
            needs_labels = _CORE_METRICS[key]
        else:
            found = _prediction_metric(key)
            if found is None:
                raise unknown_name_error("metric", m, NAMES, _ALIASES)
            needs_labels = found[0]
        if needs_labels != classification:
            need = (
                "a classification loss (cross_entropy, binary_cross_entropy)"
                if needs_labels
                else "a regression loss (mse, mae, huber)"
            )
            raise ValueError(f"metric '{m}' needs {need}, but the loss is '{loss_name}'")
        if needs_labels and key not in _CORE_METRICS and loss_name != "cross_entropy" and \
                class_metrics_need_cross_entropy:
            # precision, recall, f1 and top-k rank the outputs as classes (arg-max); the outputs of
            # binary_cross_entropy are independent per-element logits or probabilities, not classes
            raise ValueError(
                f"metric '{m}' ranks the outputs as classes and needs the loss 'cross_entropy', but the loss is "
                f"'{loss_name}': use metrics=['accuracy'] (per element), or a Dense(2) output with "
                f"loss='cross_entropy', or compute it from model.predict(X) with fm.metrics"
            )
        if key not in out:
            out.append(key)
    return out


def needs_predictions(metrics: Sequence[str]) -> bool:
    """Whether any of these (canonical) metrics is computed from a predict pass."""
    return any(m not in _CORE_METRICS for m in metrics)


def from_stats(stats: Dict[str, float], metrics: Sequence[str], n_outputs: int) -> Dict[str, float]:
    """{"loss": ..., <core metric>: ...} from the core's statistics dictionary (metrics that need
    predictions are left out; see from_predictions)."""
    samples = max(int(stats["samples"]), 1)
    out = {"loss": float(stats["loss"])}
    for m in metrics:
        if m == "accuracy":
            # one prediction per sample, or per output for binary_cross_entropy
            out[m] = float(stats["correct"]) / max(int(stats.get("predictions", samples)), 1)
        elif m == "mse":
            out[m] = float(stats["sq_error_sum"]) / (samples * n_outputs)
        elif m == "mae":
            out[m] = float(stats["abs_error_sum"]) / (samples * n_outputs)
    return out


def from_predictions(y: np.ndarray, outputs: np.ndarray, metrics: Sequence[str]) -> Dict[str, float]:
    """{<metric>: value} for the prediction-based metrics among ``metrics``.

    y: (n,) int64 labels or (n, outputs) float32 targets; outputs: (n, outputs) float32 model outputs.
    The class metrics read probability rows of y (one-hot rows included) as the class of their largest
    entry, as the core's "accuracy" does."""
    out: Dict[str, float] = {}
    for m in metrics:
        if m in _CORE_METRICS:
            continue
        found = _prediction_metric(m)
        assert found is not None, m
        needs_labels, metric = found
        out[m] = metric(np.argmax(y, axis=1) if needs_labels and y.ndim == 2 else y, outputs)
    return out


def ordered(logs: Dict[str, float], metrics: Sequence[str]) -> Dict[str, float]:
    """``logs`` with "loss" first and then the metrics in the order compile was given them."""
    keys = ["loss", *metrics]
    return {k: logs[k] for k in keys if k in logs}
