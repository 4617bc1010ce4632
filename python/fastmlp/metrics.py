"""Metrics that ``compile(metrics=[...])`` accepts. Their sums are gathered by the C++ core in the
same pass as the loss; this module only turns those sums into the reported numbers."""

from __future__ import annotations

from typing import Dict, List, Sequence

from ._validation import unknown_name_error

__all__ = ["NAMES", "resolve", "from_stats"]

#: metric name -> whether it needs class labels (cross_entropy)
_METRICS = {"accuracy": True, "mse": False, "mae": False}
_ALIASES = {"acc": "accuracy", "mean_squared_error": "mse", "mean_absolute_error": "mae"}
NAMES = tuple(_METRICS)


def resolve(metrics: Sequence[str], classification: bool, loss_name: str) -> List[str]:
    """Canonical metric names; ValueError for unknown names or a metric the loss cannot support."""
    out: List[str] = []
    for m in metrics:
        if not isinstance(m, str):
            raise TypeError(f"metrics must be names (strings), got {type(m).__name__}")
        key = _ALIASES.get(m.lower(), m.lower())
        if key not in _METRICS:
            raise unknown_name_error("metric", m, NAMES)
        if _METRICS[key] != classification:
            need = (
                "a classification loss (cross_entropy, binary_cross_entropy)"
                if _METRICS[key]
                else "a regression loss (mse, mae, huber)"
            )
            raise ValueError(f"metric '{m}' needs {need}, but the loss is '{loss_name}'")
        if key not in out:
            out.append(key)
    return out


def from_stats(stats: Dict[str, float], metrics: Sequence[str], n_outputs: int) -> Dict[str, float]:
    """{"loss": ..., <metric>: ...} from the core's statistics dictionary."""
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
