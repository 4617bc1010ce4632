"""Learning-rate schedules with the semantics of ``torch.optim.lr_scheduler``.

A schedule is a callback: pass it to ``model.compile(..., lr_schedule=schedule)`` or to
``model.fit(..., callbacks=[schedule])``. Like a PyTorch scheduler it is stateful: it counts the
scheduler steps it has taken (``last_step``) and continues from there in a later ``fit``.

Epoch schedules (StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, ReduceLROnPlateau) change
the learning rate between epochs: epoch ``e`` (counted over all fits) trains with ``get_lr(e)``,
exactly the lr a PyTorch scheduler gives when ``scheduler.step()`` is called after each epoch.

OneCycleLR is a per-batch schedule: ``fit`` hands the C++ epoch loop one learning rate (and
momentum) per batch, so batch ``k`` (counted over all fits) trains with ``get_lr(k)``, as with
``scheduler.step()`` after every ``optimizer.step()`` in PyTorch. No Python runs between batches.

The base learning rate of the epoch schedules is the optimizer's ``lr`` (from ``compile``), read
when the schedule first starts. The learning rate is changed without resetting optimizer state.
The rates a schedule takes keep PyTorch's names: OneCycleLR's ``max_lr``, CosineAnnealingLR's
``eta_min`` and ReduceLROnPlateau's ``min_lr`` (Keras's name too); none of them is the optimizer's
``lr``, so none has a ``learning_rate`` spelling (the optimizers take both). Where Keras passes a
schedule as ``Adam(learning_rate=schedule)``, fastmlp takes ``compile(lr_schedule=schedule)``.

A schedule given to ``compile(lr_schedule=...)`` is saved with the model's training state
(``model.save``, ``fm.load``, pickling): its class, ``get_config()`` and ``state_dict()`` (the
progress: ``last_step``, ``base_lr`` and ReduceLROnPlateau's plateau tracking), so that a resumed
``fit`` continues the schedule where it stopped.
"""

from __future__ import annotations

import bisect
import math
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import _compiled_metrics
from ._validation import (
    check_bool,
    check_keys,
    monitor_mode,
    monitor_name,
    non_negative_float32,
    non_negative_int,
    number_in,
    one_of,
    positive_float32,
    positive_int,
)
from .callbacks import Callback

if TYPE_CHECKING:
    from .model import Sequential  # noqa: F401  (string annotations)
    from .optim import Optimizer

__all__ = [
    "LRSchedule",
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
]


#: bound of the step and epoch counters a state_dict may hold (as the checkpoint's counters)
_MAX_COUNT = 2**62


def _count(name: str, value: Any) -> int:
    return non_negative_int(name, value, below=_MAX_COUNT, below_text="2**62")


def _optional_rate(name: str, value: Any) -> Optional[float]:
    return None if value is None else non_negative_float32(name, value)


class LRSchedule(Callback):
    """Base class of the schedules. ``per_step`` is True for per-batch schedules (OneCycleLR).

    Attributes:
        last_step: scheduler steps taken so far (epochs, or batches for per-batch schedules).
        base_lr: the optimizer's lr when the schedule first started (None before).
    """

    per_step = False

    def __init__(self) -> None:
        self.last_step = 0
        self.base_lr: Optional[float] = None

    # -- the closed form
    def get_lr(self, step: int) -> float:
        """The learning rate of scheduler step ``step`` (epoch or batch index, from 0)."""
        raise NotImplementedError

    def _require_base_lr(self) -> float:
        if self.base_lr is None:
            raise RuntimeError(
                f"{type(self).__name__} has no base learning rate yet: set schedule.base_lr or start fit with it"
            )
        return self.base_lr

    # -- progress, as PyTorch's scheduler.state_dict() / load_state_dict()
    def state_dict(self) -> Dict[str, Any]:
        """The progress that ``get_config()`` does not hold: ``{"last_step": int, "base_lr": float
        or None}`` (ReduceLROnPlateau adds ``lr``, ``best``, ``num_bad_epochs``,
        ``cooldown_counter``). Checkpoints save it with the configuration."""
        return {"last_step": self.last_step, "base_lr": self.base_lr}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restores what ``state_dict()`` returned. Raises TypeError or ValueError naming the key
        (missing or unknown keys, wrong types, out-of-range values) and then changes nothing."""
        if not isinstance(state, dict):
            raise TypeError(f"state must be a dict from state_dict(), got {type(state).__name__}")
        check_keys(f"the {type(self).__name__} state", state, tuple(self.state_dict()))
        for key, value in self._checked_state(state).items():
            setattr(self, key, value)

    def _checked_state(self, state: Dict[str, Any]) -> Dict[str, Any]:
        """The values of ``state`` (keys already checked), validated."""
        return {"last_step": _count("last_step", state["last_step"]),
                "base_lr": _optional_rate("base_lr", state["base_lr"])}

    # -- wiring into fit
    def _set_lr(self, lr: float) -> None:
        if self.model is not None:  # a schedule can also be stepped on its own
            self.model.learning_rate = lr

    def _compiled_optimizer(self) -> "Optimizer":
        assert self.model is not None and self.model.optimizer is not None  # fit checks compile first
        return self.model.optimizer

    def on_train_begin(self, logs: Optional[Dict[str, float]] = None) -> None:
        if self.base_lr is None:
            self.base_lr = self._compiled_optimizer().lr
        if not self.per_step:
            self._set_lr(self.get_lr(self.last_step))

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
        if not self.per_step:
            self.last_step += 1
            self._set_lr(self.get_lr(self.last_step))

    def _epoch_values(self, steps: int) -> Dict[str, np.ndarray]:
        """Per-batch schedules: the keyword arguments of ``Network.train_epoch`` for an epoch of
        ``steps`` batches starting at ``last_step`` (float32 arrays of shape (steps,))."""
        raise NotImplementedError

    def _advance(self, steps: int) -> None:
        self.last_step += steps

    def get_config(self) -> Dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.startswith("_") and k not in ("model", "last_step", "base_lr")}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class StepLR(LRSchedule):
    """``lr = base_lr * gamma ** (epoch // step_size)`` (``torch.optim.lr_scheduler.StepLR``)."""

    def __init__(self, step_size: int, gamma: float = 0.1) -> None:
        super().__init__()
        self.step_size = positive_int("step_size", step_size)
        self.gamma = non_negative_float32("gamma", gamma)

    def get_lr(self, step: int) -> float:
        return self._require_base_lr() * self.gamma ** (step // self.step_size)


class MultiStepLR(LRSchedule):
    """``lr = base_lr * gamma ** (number of milestones <= epoch)`` (``torch.optim.lr_scheduler.MultiStepLR``;
    a repeated milestone counts twice, as in PyTorch)."""

    def __init__(self, milestones: Sequence[int], gamma: float = 0.1) -> None:
        super().__init__()
        if isinstance(milestones, (str, bytes)) or not hasattr(milestones, "__iter__"):
            raise TypeError(f"milestones must be a list of epoch indices, got {milestones!r}")
        self.milestones: List[int] = sorted(
            non_negative_int(f"milestones[{i}]", m) for i, m in enumerate(milestones)
        )
        self.gamma = non_negative_float32("gamma", gamma)

    def get_lr(self, step: int) -> float:
        return self._require_base_lr() * self.gamma ** bisect.bisect_right(self.milestones, step)


class ExponentialLR(LRSchedule):
    """``lr = base_lr * gamma ** epoch`` (``torch.optim.lr_scheduler.ExponentialLR``)."""

    def __init__(self, gamma: float) -> None:
        super().__init__()
        self.gamma = non_negative_float32("gamma", gamma)

    def get_lr(self, step: int) -> float:
        return self._require_base_lr() * self.gamma**step


class CosineAnnealingLR(LRSchedule):
    """Cosine annealing from ``base_lr`` to ``eta_min`` over ``T_max`` epochs, after an optional
    linear warmup.

    With ``warmup_epochs = W``: epochs ``e < W`` use ``base_lr * (e + 1) / (W + 1)`` (a linear ramp
    ending at ``base_lr`` in epoch W); epochs ``e >= W`` use
    ``eta_min + (base_lr - eta_min) * (1 + cos(pi * (e - W) / (T_max - W))) / 2``. With ``W = 0``
    this is ``torch.optim.lr_scheduler.CosineAnnealingLR(T_max, eta_min)``; with ``W > 0`` it equals
    ``SequentialLR([LinearLR(start_factor=1/(W+1), total_iters=W), CosineAnnealingLR(T_max - W, eta_min)],
    milestones=[W])``. Past ``T_max`` the lr rises again, as PyTorch's (period ``2 * (T_max - W)``).
    """

    def __init__(self, T_max: int, eta_min: float = 0.0, warmup_epochs: int = 0) -> None:
        super().__init__()
        self.T_max = positive_int("T_max", T_max)
        self.eta_min = non_negative_float32("eta_min", eta_min)
        self.warmup_epochs = non_negative_int("warmup_epochs", warmup_epochs)
        if self.warmup_epochs >= self.T_max:
            raise ValueError(
                f"warmup_epochs must be less than T_max ({self.T_max}), got {self.warmup_epochs}"
            )

    def get_lr(self, step: int) -> float:
        base = self._require_base_lr()
        w = self.warmup_epochs
        if step < w:
            return base * (step + 1) / (w + 1)
        t, period = step - w, self.T_max - w
        return self.eta_min + (base - self.eta_min) * (1.0 + math.cos(math.pi * t / period)) / 2.0


class OneCycleLR(LRSchedule):
    """The 1cycle policy, per batch, as ``torch.optim.lr_scheduler.OneCycleLR``.

    The lr rises from ``max_lr / div_factor`` to ``max_lr`` over the first ``pct_start`` of
    ``total_steps`` batches, then anneals to ``max_lr / div_factor / final_div_factor``
    (``three_phase``: back to the initial lr first, then down). With ``cycle_momentum`` the
    momentum (SGD and RMSprop ``momentum``, Adam/AdamW ``beta1``) moves inversely between
    ``max_momentum`` and ``base_momentum``; this needs an optimizer with momentum (SGD/RMSprop
    built with momentum > 0 — their value is replaced by the cycle — or Adam/AdamW).

    ``total_steps`` (or ``epochs * steps_per_epoch``) must cover every batch trained: a fit that
    would need more raises ValueError before the epoch starts. The optimizer's own ``lr`` is ignored.
    """

    per_step = True

    def __init__(
        self,
        max_lr: float,
        total_steps: Optional[int] = None,
        epochs: Optional[int] = None,
        steps_per_epoch: Optional[int] = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
    ) -> None:
        super().__init__()
        self.max_lr = positive_float32("max_lr", max_lr)
        if total_steps is not None:
            self.total_steps = positive_int("total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = positive_int("epochs", epochs) * positive_int("steps_per_epoch", steps_per_epoch)
        else:
            raise ValueError("give total_steps, or both epochs and steps_per_epoch")
        self.pct_start = number_in("pct_start", pct_start, 0.0, 1.0)
        self.anneal_strategy = one_of("anneal_strategy", anneal_strategy, ("cos", "linear"))
        self.cycle_momentum = check_bool("cycle_momentum", cycle_momentum)
        self.base_momentum = number_in("base_momentum", base_momentum, 0.0, 1.0)
        self.max_momentum = number_in("max_momentum", max_momentum, 0.0, 1.0, high_open=True)
        self.div_factor = positive_float32("div_factor", div_factor)
        self.final_div_factor = positive_float32("final_div_factor", final_div_factor)
        self.three_phase = check_bool("three_phase", three_phase)
        initial = self.max_lr / self.div_factor
        lr_points = {"initial": initial, "max": self.max_lr, "min": initial / self.final_div_factor}
        mom = {"base": self.base_momentum, "max": self.max_momentum}
        t, p = self.total_steps, self.pct_start
        if self.three_phase:
            phases = [
                (float(p * t) - 1, "initial", "max", "max", "base"),
                (float(2 * p * t) - 2, "max", "initial", "base", "max"),
                (t - 1, "initial", "min", "max", "max"),
            ]
        else:
            phases = [(float(p * t) - 1, "initial", "max", "max", "base"), (t - 1, "max", "min", "base", "max")]
        self._phases: List[Tuple[float, float, float, float, float]] = [
            (float(end), lr_points[a], lr_points[b], mom[c], mom[d]) for end, a, b, c, d in phases
        ]

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _values(self, step: int) -> Tuple[float, float]:
        start_step = 0.0
        for i, (end_step, lr0, lr1, m0, m1) in enumerate(self._phases):
            if step <= end_step or i == len(self._phases) - 1:
                span = end_step - start_step
                pct = (step - start_step) / span if span != 0 else 1.0  # PyTorch divides by zero here
                return self._anneal(lr0, lr1, pct), self._anneal(m0, m1, pct)
            start_step = end_step
        raise AssertionError("unreachable")

    def get_lr(self, step: int) -> float:
        return self._values(step)[0]

    def get_momentum(self, step: int) -> float:
        """The momentum (or beta1) of batch ``step`` when ``cycle_momentum``."""
        return self._values(step)[1]

    def on_train_begin(self, logs: Optional[Dict[str, float]] = None) -> None:
        super().on_train_begin(logs)
        if self.cycle_momentum and not self._compiled_optimizer().has_momentum:
            raise ValueError(
                "OneCycleLR(cycle_momentum=True) needs an optimizer with momentum: Adam, AdamW, or SGD/RMSprop "
                "built with momentum > 0 (the cycle replaces its value); or pass cycle_momentum=False"
            )

    def _epoch_values(self, steps: int) -> Dict[str, np.ndarray]:
        first = self.last_step
        if first + steps > self.total_steps:
            raise ValueError(
                f"OneCycleLR(total_steps={self.total_steps}) has {self.total_steps - first} of its steps left, "
                f"but this epoch has {steps} batches: raise total_steps (epochs * batches per epoch)"
            )
        values = [self._values(first + i) for i in range(steps)]
        out = {"lrs": np.array([v[0] for v in values], dtype=np.float32)}
        if self.cycle_momentum:
            out["momenta"] = np.array([v[1] for v in values], dtype=np.float32)
        return out


class ReduceLROnPlateau(LRSchedule):
    """Multiplies the lr by ``factor`` when ``monitor`` has not improved for ``patience`` epochs
    (``torch.optim.lr_scheduler.ReduceLROnPlateau``, stepped with the monitored value after each epoch).

    Improvement (``threshold_mode='rel'``): ``value < best * (1 - threshold)`` in "min" mode,
    ``value > best * (1 + threshold)`` in "max" mode; ``'abs'``: ``best -/+ threshold``. After a
    reduction (``lr = max(lr * factor, min_lr)``, skipped when it would change lr by at most
    ``eps``) it waits ``cooldown`` epochs. ``mode="auto"`` is "max" for accuracy, precision, recall,
    f1 and r2 names, else "min" (the rule of EarlyStopping and ModelCheckpoint). ``monitor`` must be
    logged (a metric alias such as "val_acc" is accepted): "val_" values need validation data, metrics
    must be compiled; otherwise fit raises ValueError at the end of the first epoch, naming the
    logged values.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        mode: str = "auto",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float = 0.0,
        eps: float = 1e-8,
    ) -> None:
        super().__init__()
        self.monitor = monitor_name(monitor)
        self.mode = monitor_mode(mode)
        self.factor = number_in("factor", factor, 0.0, 1.0, high_open=True)
        self.patience = non_negative_int("patience", patience)
        self.threshold = non_negative_float32("threshold", threshold)
        self.threshold_mode = one_of("threshold_mode", threshold_mode, ("rel", "abs"))
        self.cooldown = non_negative_int("cooldown", cooldown)
        self.min_lr = non_negative_float32("min_lr", min_lr)
        self.eps = non_negative_float32("eps", eps)
        self.lr: Optional[float] = None
        self.best: Optional[float] = None
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    def get_config(self) -> Dict[str, Any]:
        skip = ("lr", "best", "num_bad_epochs", "cooldown_counter")
        return {k: v for k, v in super().get_config().items() if k not in skip}

    def state_dict(self) -> Dict[str, Any]:
        return {**super().state_dict(), "lr": self.lr, "best": self.best, "num_bad_epochs": self.num_bad_epochs,
                "cooldown_counter": self.cooldown_counter}

    def _checked_state(self, state: Dict[str, Any]) -> Dict[str, Any]:
        best = None if state["best"] is None else number_in("best", state["best"], -math.inf, math.inf)
        return {
            **super()._checked_state(state),
            "lr": _optional_rate("lr", state["lr"]),
            "best": best,
            "num_bad_epochs": _count("num_bad_epochs", state["num_bad_epochs"]),
            "cooldown_counter": _count("cooldown_counter", state["cooldown_counter"]),
        }

    def get_lr(self, step: int) -> float:
        """The current lr (this schedule has no closed form: it depends on the monitored values)."""
        return self.lr if self.lr is not None else self._require_base_lr()

    def _is_better(self, value: float, best: float, maximise: bool) -> bool:
        if self.threshold_mode == "rel":
            return value > best * (1.0 + self.threshold) if maximise else value < best * (1.0 - self.threshold)
        return value > best + self.threshold if maximise else value < best - self.threshold

    def on_train_begin(self, logs: Optional[Dict[str, float]] = None) -> None:
        if self.base_lr is None:
            self.base_lr = self._compiled_optimizer().lr
        if self.lr is None:
            self.lr = self.base_lr
        self._set_lr(self.lr)

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
        key, value = _compiled_metrics.monitored_value(type(self).__name__, self.monitor, logs)
        maximise = _compiled_metrics.maximise(key, self.mode)
        self.last_step += 1
        if self.best is None:
            self.best = -math.inf if maximise else math.inf  # PyTorch's "worst" start
        if self._is_better(value, self.best, maximise):
            self.best = value
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            assert self.lr is not None
            new_lr = max(self.lr * self.factor, self.min_lr)
            if self.lr - new_lr > self.eps:
                self.lr = new_lr
                self._set_lr(new_lr)
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
