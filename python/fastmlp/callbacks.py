"""Callbacks run by ``Sequential.fit`` between epochs (never inside the C++ epoch loop), with
Keras's names and semantics. ``fit`` calls, on every callback in the order given (the returned
History last, so it records what earlier callbacks add to the logs): ``set_model``,
``on_train_begin``, then per epoch ``on_epoch_begin(epoch)`` and ``on_epoch_end(epoch, logs)``, and
``on_train_end`` (also when fit ends with an exception). ``logs`` maps "loss", the compiled metrics,
their "val_" versions and e.g. "learning_rate" to floats.

The callbacks that watch a logged value (EarlyStopping, ModelCheckpoint with ``save_best_only``,
and ``fm.schedules.ReduceLROnPlateau``) take ``monitor`` as logged, or a metric alias as ``compile``
accepts it ("val_acc" watches "val_accuracy"). A monitor that fit does not log (a misspelt name,
"val_loss" without validation data, a metric that was not compiled) raises ValueError at the end of
the first epoch, naming the logged values and the fix."""

from __future__ import annotations

import csv
import inspect
import math
import os
import sys
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Union

import numpy as np

from ._compiled_metrics import maximise, monitored_value
from ._validation import check_path, check_save_path, monitor_mode, monitor_name

if TYPE_CHECKING:
    from .model import Sequential

__all__ = [
    "Callback",
    "History",
    "EarlyStopping",
    "ModelCheckpoint",
    "LearningRateScheduler",
    "CSVLogger",
    "TerminateOnNaN",
]

class Callback:
    """Base class. ``self.model`` is set by fit; set ``model.stop_training = True`` to stop."""

    model: Optional["Sequential"] = None

    def set_model(self, model: "Sequential") -> None:
        self.model = model

    def on_train_begin(self, logs: Optional[Dict[str, float]] = None) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: Optional[Dict[str, float]] = None) -> None:
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
    ``patience`` epochs. ``mode`` is "min", "max" or "auto" (max for accuracy, precision, recall,
    f1 and r2 names, min otherwise). With
    ``restore_best_weights`` the parameters of the best epoch are put back at the end. ``monitor``
    must be logged: "val_" values need validation data (``validation_data=`` or
    ``validation_split=``), metrics must be compiled; otherwise fit raises ValueError at the end of
    the first epoch, naming the logged values."""

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 0,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = False,
    ) -> None:
        from ._validation import non_negative_int, number_in

        self.monitor = monitor_name(monitor)
        self.patience = non_negative_int("patience", patience)
        self.min_delta = abs(number_in("min_delta", min_delta, -math.inf, math.inf))
        self.mode = monitor_mode(mode)
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
        return maximise(key, self.mode)

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
        key, value = monitored_value(type(self).__name__, self.monitor, logs)
        sign = -1.0 if self._maximise(key) else 1.0
        if not math.isnan(value) and (self.best is None or sign * (value - self.best) < -self.min_delta):
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


class ModelCheckpoint(Callback):
    """Saves the model with ``model.save`` (an atomic write) after every epoch, or with
    ``save_best_only`` only when ``monitor`` improved on the best value so far (strictly; NaN never
    improves). ``filepath`` may hold ``str.format`` fields: ``{epoch}`` (1-based) and any logged
    value, e.g. ``"ckpt-{epoch:02d}-{val_loss:.3f}.safetensors"``. ``mode``: "min", "max" or
    "auto" (as EarlyStopping). ``monitor`` is used only with ``save_best_only``, and must then be
    logged (as for EarlyStopping: otherwise fit raises ValueError at the end of the first epoch).
    ``best``/``best_epoch`` hold the best so far and ``last_path`` the last file written."""

    def __init__(
        self,
        filepath: Union[str, "os.PathLike[str]"],
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        mode: str = "auto",
    ) -> None:
        self.filepath = check_save_path("filepath", filepath)
        if not self.filepath:
            raise ValueError("filepath must not be empty")
        self.monitor = monitor_name(monitor)
        self.verbose = int(verbose)
        self.save_best_only = bool(save_best_only)
        self.mode = monitor_mode(mode)
        self.best: Optional[float] = None
        self.best_epoch: Optional[int] = None
        self.last_path: Optional[str] = None

    def on_train_begin(self, logs: Optional[Dict[str, float]] = None) -> None:
        self.best, self.best_epoch = None, None

    def _path(self, epoch: int, logs: Dict[str, float]) -> str:
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as exc:
            raise KeyError(
                f"ModelCheckpoint filepath {self.filepath!r} names {exc}, which is not among the logged "
                f"values {['epoch', *logs]}"
            ) from None

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
        assert self.model is not None
        if self.save_best_only:
            key, value = monitored_value(type(self).__name__, self.monitor, logs)
            if math.isnan(value):
                return
            better = self.best is None or (value > self.best if maximise(key, self.mode) else value < self.best)
            if not better:
                return
            self.best, self.best_epoch = float(value), epoch
        path = self._path(epoch, logs)
        self.model.save(path)
        self.last_path = path
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved the model to {path}", file=sys.stdout, flush=True)


class LearningRateScheduler(Callback):
    """Before each epoch sets the optimizer's learning rate to ``schedule(epoch, lr)`` (``epoch``
    0-based, ``lr`` the current rate; a one-argument ``schedule(epoch)`` is accepted too). The
    optimizer's state (momentum, Adam moments, step count) is kept, as changing
    ``param_group["lr"]`` in PyTorch. The rate in use is logged as "learning_rate" (the float32
    value the core uses)."""

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        if not callable(schedule):
            raise TypeError(f"schedule must be a function schedule(epoch, lr) -> lr, got {type(schedule).__name__}")
        self.schedule = schedule
        self.verbose = int(verbose)
        self._two_args = self._accepts_two(schedule)

    @staticmethod
    def _accepts_two(fn: Callable[..., float]) -> bool:
        try:
            inspect.signature(fn).bind(0, 0.0)
            return True
        except TypeError:
            return False
        except ValueError:  # no signature available (some builtins): try the documented form
            return True

    def on_epoch_begin(self, epoch: int, logs: Optional[Dict[str, float]] = None) -> None:
        from ._validation import non_negative_float32

        assert self.model is not None
        current = self.model.learning_rate
        lr = self.schedule(epoch, current) if self._two_args else self.schedule(epoch)
        try:
            lr = non_negative_float32("learning rate returned by the schedule", lr)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{exc} (epoch {epoch})") from None
        self.model.learning_rate = lr
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.", file=sys.stdout, flush=True)

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
        assert self.model is not None
        logs["learning_rate"] = self.model.learning_rate


class CSVLogger(Callback):
    """Writes one CSV row per epoch to ``filename``: "epoch" (0-based) then the logged values
    in sorted key order, as Keras. ``append=True`` appends to an existing file (writing the
    header only if it is empty); otherwise the file is overwritten at the start of fit. Each row
    is written and the file closed at once, so the log survives an interrupted fit."""

    def __init__(self, filename: Union[str, "os.PathLike[str]"], separator: str = ",", append: bool = False) -> None:
        self.filename = check_path("filename", filename)
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"separator must be a single character, got {separator!r}")
        self.sep = separator
        self.append = bool(append)
        self.keys: Optional[List[str]] = None
        self._write_header = True

    def on_train_begin(self, logs: Optional[Dict[str, float]] = None) -> None:
        self.keys = None
        if self.append and os.path.exists(self.filename):
            with open(self.filename, "r", newline="") as f:
                self._write_header = not f.readline()
        else:
            self._write_header = True
            with open(self.filename, "w", newline=""):
                pass

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
        if self.keys is None:
            self.keys = sorted(logs)
        with open(self.filename, "a", newline="") as f:
            writer = csv.writer(f, delimiter=self.sep, lineterminator="\r\n")
            if self._write_header:
                writer.writerow(["epoch", *self.keys])
                self._write_header = False
            writer.writerow([epoch, *(logs.get(k, "NA") for k in self.keys)])


class TerminateOnNaN(Callback):
    """Makes a diverging fit stop cleanly instead of raising.

    Without it, ``fit`` raises FloatingPointError when a batch loss or gradient becomes NaN or
    infinite. With it in ``callbacks``, ``fit`` instead ends that epoch at the diverging step
    (the model keeps the weights from before it), logs the epoch with "loss" and every other value
    NaN (so History, CSVLogger etc. see it), stops and returns the History. The same happens when
    an epoch's loss is NaN or infinite for any other reason. ``stopped_epoch`` is the epoch
    (0-based) where it stopped, else None."""

    def __init__(self) -> None:
        self.stopped_epoch: Optional[int] = None

    def on_train_begin(self, logs: Optional[Dict[str, float]] = None) -> None:
        self.stopped_epoch = None

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(loss) and self.model is not None:
            self.stopped_epoch = epoch
            self.model.stop_training = True
