"""Callbacks run by ``Sequential.fit`` between epochs (never inside the C++ epoch loop)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Dict, List, Optional

import numpy as np

if TYPE_CHECKING:
    from .model import Sequential

__all__ = ["Callback", "History", "EarlyStopping"]


class Callback:
    """Base class. ``self.model`` is set by fit; set ``model.stop_training = True`` to stop."""

    model: Optional["Sequential"] = None

    def set_model(self, model: "Sequential") -> None:
        self.model = model

    def on_train_begin(self, logs: Optional[Dict[str, float]] = None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
        pass

    def on_train_end(self, logs: Optional[Dict[str, float]] = None) -> None:
        pass


class History(Callback):
    """What ``fit`` returns: ``history.history[name]`` is the list of per-epoch values of each
    logged quantity ("loss", metrics, and "val_" versions with validation data), and
    ``history.epoch`` the epoch indices."""

    def __init__(self) -> None:
        self.history: Dict[str, List[float]] = {}
        self.epoch: List[int] = []

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


class EarlyStopping(Callback):
    """Stops training when ``monitor`` has not improved by more than ``min_delta`` for
    ``patience`` epochs. ``mode`` is "min", "max" or "auto" (max for accuracy-like names). With
    ``restore_best_weights`` the parameters of the best epoch are put back at the end. If the
    monitored value is missing (e.g. "val_loss" without validation data) it falls back to "loss"."""

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 0,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = False,
    ) -> None:
        from ._validation import non_negative_int, real_number

        if not isinstance(monitor, str):
            raise TypeError(f"monitor must be a string such as 'val_loss', got {monitor!r}")
        self.monitor = monitor
        self.patience = non_negative_int("patience", patience)
        self.min_delta = abs(real_number("min_delta", min_delta))
        if math.isnan(self.min_delta):
            raise ValueError(f"min_delta must be a number, got {min_delta!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.mode = mode
        self.restore_best_weights = bool(restore_best_weights)
        self.stopped_epoch: Optional[int] = None
        self.best: Optional[float] = None
        self.best_epoch: Optional[int] = None
        self._wait = 0
        self._best_weights: Optional[List[np.ndarray]] = None

    def on_train_begin(self, logs: Optional[Dict[str, float]] = None) -> None:
        self.best, self.best_epoch, self.stopped_epoch = None, None, None
        self._wait = 0
        self._best_weights = None

    def _maximise(self, key: str) -> bool:
        if self.mode != "auto":
            return self.mode == "max"
        return "acc" in key

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
        key = self.monitor if self.monitor in logs else "loss"
        value = logs.get(key)
        if value is None:
            return
        sign = -1.0 if self._maximise(key) else 1.0
        if self.best is None or sign * (value - self.best) < -self.min_delta:
            self.best, self.best_epoch, self._wait = value, epoch, 0
            if self.restore_best_weights and self.model is not None:
                self._best_weights = [p.copy() for p in self.model.parameters()]
            return
        self._wait += 1
        if self._wait > self.patience - 1 and self.model is not None:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: Optional[Dict[str, float]] = None) -> None:
        if self.restore_best_weights and self._best_weights is not None and self.model is not None:
            for view, best in zip(self.model.parameters(), self._best_weights):
                view[...] = best
