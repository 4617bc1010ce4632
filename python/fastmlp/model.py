"""The Sequential model: a stack of layers trained by the C++ core."""

from __future__ import annotations

import copy
import math
import os
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, TypedDict, Union

import numpy as np

from . import _compiled_metrics, _core
from . import initializers as _initializers
from . import losses as _losses
from . import optim as _optim
from . import schedules as _schedules
from ._validation import (
    as_features,
    check_keys,
    check_model_size,
    non_negative_float32,
    non_negative_int,
    not_an_instance_error,
    number_in,
    positive_float32,
    positive_int,
)
from ._progress import _ProgressBar, epoch_line
from .callbacks import Callback, History, TerminateOnNaN
from .layers import Dense, Layer, check_layer_stack, from_config, tensor_table

__all__ = ["Sequential", "CompileSettings", "TrainingState"]

ArrayLike = Any


class CompileSettings(TypedDict):
    """``compile``'s keyword arguments, as the model holds them (canonical metric names; a
    clipping bound of None is off)."""

    loss: _losses.Loss
    optimizer: _optim.Optimizer
    metrics: List[str]
    lr_schedule: Optional[_schedules.LRSchedule]
    clip_norm: Optional[float]
    clip_value: Optional[float]


class TrainingState(CompileSettings):
    """Everything a checkpoint holds besides the architecture, weights and buffers
    (``Sequential.training_state()``): the compile settings (``lr_schedule`` a detached copy with
    its progress), and

    - ``learning_rate``: the rate in use (float32 in the core; schedules change it),
    - ``optimizer_state``: as ``optimizer_state()``, ``{"step": int, name: float32 (num_params,)}``,
    - ``epoch``: epochs completed (``Sequential.epoch``),
    - ``rng_state``: the shuffling and dropout generators, 8 uint64 words (none all-zero per 4).
    """

    learning_rate: float
    optimizer_state: Dict[str, Any]
    epoch: int
    rng_state: List[int]


@dataclass(frozen=True)
class _TrainingData:
    """fit's validated inputs: X float32 (n, input_dim), y as the loss takes it (int64 (n,) labels
    or float32 (n, outputs)), optional float32 sample weights (n,) and class-weight vector, the
    validation arrays (or None), and the batching."""

    X: np.ndarray
    y: np.ndarray
    sample_weight: Optional[np.ndarray]
    class_weight: Optional[np.ndarray]
    validation: Optional[Tuple[np.ndarray, np.ndarray]]
    batch_size: int
    shuffle: bool


def _detached_copy(schedule: _schedules.LRSchedule) -> _schedules.LRSchedule:
    """A copy of `schedule` with its configuration and progress, attached to no model."""
    clone = copy.deepcopy(schedule, memo={id(schedule.model): None})
    clone.model = None
    return clone


def _checked_verbose(verbose: Any) -> int:
    if isinstance(verbose, bool):
        verbose = int(verbose)
    if not isinstance(verbose, (int, np.integer)) or verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
    return int(verbose)


def _checked_callbacks(callbacks: Optional[Sequence[Callback]]) -> List[Callback]:
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback) or not isinstance(callbacks, (list, tuple)):
        raise TypeError(
            f"callbacks must be a list of fm.callbacks.Callback objects, got {type(callbacks).__name__}"
        )
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise not_an_instance_error("callbacks", cb, "fm.callbacks.Callback objects")
    return list(callbacks)


class Sequential:
    """A feed-forward network: ``layers`` applied in order.

    Args:
        layers: ``fm.Dense``, ``fm.Activation``, ``fm.Dropout``, ``fm.LayerNorm`` and ``fm.BatchNorm`` layers; the last
            Dense gives the output width.
        input_dim: number of input features. If None, it is taken from the first ``fit``,
            ``train_step``, ``predict`` or ``evaluate`` call.
        seed: seeds the initial weights, the shuffling and the dropout masks (all reproducible).
    """

    def __init__(self, layers: Sequence[Layer], input_dim: Optional[int] = None, seed: int = 0) -> None:
        if isinstance(layers, (Layer, str, bytes)) or not hasattr(layers, "__iter__"):
            raise TypeError(
                f"layers must be a list of fm layers such as [fm.Dense(10)], got {type(layers).__name__}"
            )
        self.layers: List[Layer] = list(layers)
        if not self.layers:
            raise ValueError("layers must contain at least one layer")
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise not_an_instance_error(f"layers[{i}]", layer, "an fm layer such as fm.Dense(10)")
        check_layer_stack(self.layers)
        self.seed = non_negative_int("seed", seed, below=2**64, below_text="2**64")
        self.input_dim: Optional[int] = None
        self.stop_training = False
        self._net: Optional[_core.Network] = None
        self._loss: Optional[_losses.Loss] = None
        self._optimizer: Optional[_optim.Optimizer] = None
        self._metrics: List[str] = []
        self._lr_schedule: Optional[_schedules.LRSchedule] = None
        self._clip: Tuple[float, float] = (0.0, 0.0)  # (clip_norm, clip_value); 0 = off
        self._epoch = 0  # epochs completed (fit's numbering), saved in checkpoints
        if input_dim is not None:
            self._build(positive_int("input_dim", input_dim))

    # ---------------------------------------------------------------- building
    def _build(self, input_dim: int) -> None:
        table = tensor_table(self.layers, input_dim)
        check_model_size(input_dim, table.num_params, self.layers)
        self._net = _core.Network(input_dim, [layer._core_spec() for layer in self.layers], self.seed)
        views = dict(zip((name for name, _ in table.parameters), self._net.parameters()))
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Dense) and layer.kernel_init == "orthogonal":  # C++ drew the normals; QR needs LAPACK
                _initializers.orthogonalize(views[f"layers.{i}.weight"])
        self.input_dim = input_dim
        if self._loss is not None and self._optimizer is not None:
            self._apply_compile()

    def _validated_features(self, X: ArrayLike, name: str = "X") -> np.ndarray:
        """X as a C-contiguous float32 (n, input_dim) array, building the model on its first call."""
        if self._net is None:
            arr = as_features(X, None, name)
            self._build(arr.shape[1])
            return arr
        return as_features(X, self.input_dim, name)

    def _apply_compile(self) -> None:
        assert self._net is not None and self._loss is not None and self._optimizer is not None
        self._net.set_loss(self._loss.name, **self._loss._core_args())
        self._optimizer._install(self._net)
        self._net.set_gradient_clipping(*self._clip)

    @property
    def built(self) -> bool:
        """Whether the weights exist (``input_dim`` known: given, or taken from the first data)."""
        return self._net is not None

    @property
    def compiled(self) -> bool:
        """Whether ``compile`` has chosen a loss and an optimizer."""
        return self._loss is not None and self._optimizer is not None

    @property
    def loss(self) -> Optional[_losses.Loss]:
        """The compiled loss object (``fm.losses``), or None before ``compile``."""
        return self._loss

    @property
    def optimizer(self) -> Optional[_optim.Optimizer]:
        """The compiled optimizer configuration (``fm.optim``), or None before ``compile``."""
        return self._optimizer

    @property
    def output_dim(self) -> int:
        for layer in reversed(self.layers):
            if isinstance(layer, Dense):
                return layer.units
        raise AssertionError("unreachable: a Sequential always has a Dense layer")

    def compile(
        self,
        loss: Union[str, _losses.Loss, None] = None,
        optimizer: Union[str, _optim.Optimizer] = "adam",
        metrics: Optional[Sequence[str]] = None,
        lr_schedule: Optional[_schedules.LRSchedule] = None,
        clip_norm: Optional[float] = None,
        clip_value: Optional[float] = None,
    ) -> None:
        """Chooses the loss, which has no default (``"mse"``, ``"mae"``, ``"huber"``, ``"cross_entropy"``,
        ``"binary_cross_entropy"``, a Keras or PyTorch spelling of them such as
        ``"sparse_categorical_crossentropy"`` (docs/names.md), or an ``fm.losses`` object such as
        ``fm.losses.Huber(delta=0.5)``),
        the optimizer (``fm.optim.SGD(...)``, ``fm.optim.Adam(...)`` or their names) and the metrics
        reported by ``fit`` and ``evaluate``: for the cross-entropies ``"accuracy"`` (gathered in the
        C++ loop), ``"precision"``, ``"recall"``, ``"f1"`` (+ ``_micro``/``_macro``/``_weighted``),
        ``"top_k_accuracy"``/``"top_3_accuracy"``; for the regression losses ``"mse"``, ``"mae"`` (C++)
        and ``"r2"``. The non-C++ ones come from a predict pass after each epoch (see ``fm.metrics``).
        Re-compiling resets the optimizer state.

        lr_schedule: an ``fm.schedules`` schedule that ``fit`` applies (as if passed in ``callbacks``).
        clip_norm: if given (> 0), every step scales the gradient so that its global L2 norm over
            all parameters is at most clip_norm (``torch.nn.utils.clip_grad_norm_``).
        clip_value: if given (> 0), every step clamps each gradient value to [-clip_value, clip_value]
            (``torch.nn.utils.clip_grad_value_``); applied after clip_norm when both are given.
            ``gradients()`` then shows the clipped gradient the update used."""
        if loss is None:
            raise ValueError(
                "compile needs a loss: pass loss=..., e.g. loss='cross_entropy' for class labels, "
                "'binary_cross_entropy' for 0/1 targets, 'mse' for regression; see fm.losses.NAMES "
                f"{_losses.NAMES}"
            )
        loss_obj = _losses.get(loss)
        opt_obj = _optim.get(optimizer)
        if lr_schedule is not None and not isinstance(lr_schedule, _schedules.LRSchedule):
            raise not_an_instance_error("lr_schedule", lr_schedule, "an fm.schedules schedule such as StepLR(10)")
        clip = tuple(
            0.0 if value is None else positive_float32(name, value)
            for name, value in (("clip_norm", clip_norm), ("clip_value", clip_value))
        )
        if metrics is None:
            metrics = []
        elif isinstance(metrics, (str, bytes)) or not isinstance(metrics, (list, tuple)):
            raise TypeError(
                f"metrics must be a list of names such as ['accuracy'], got {type(metrics).__name__} {metrics!r}"
            )
        self._metrics = _compiled_metrics.resolve(list(metrics), loss_obj.classification, loss_obj.name)
        self._loss, self._optimizer = loss_obj, opt_obj
        self._lr_schedule, self._clip = lr_schedule, (float(clip[0]), float(clip[1]))
        if self._net is not None:
            self._apply_compile()

    def _require_compiled(self, what: str) -> None:
        """Checked before X, so that a failed call on an unbuilt model does not build it."""
        if not self.compiled:
            raise RuntimeError(f"call model.compile(loss=..., optimizer=...) before {what}")

    def _targets(self, y: ArrayLike, n: int, name: str = "y", x_name: str = "X") -> np.ndarray:
        assert self._loss is not None
        return self._loss._targets(y, n, self.output_dim, name, x_name)

    def _weight_vectors(
        self, y: np.ndarray, sample_weight: Optional[ArrayLike], class_weight: Optional[Dict[int, float]]
    ) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
        """Validated float32 sample weights (n,) and class-weight vector, or None for each."""
        assert self._loss is not None
        return _losses._sample_and_class_weights(self._loss, y, self.output_dim, sample_weight, class_weight)

    # ---------------------------------------------------------------- training
    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        epochs: int = 1,
        batch_size: int = 32,
        shuffle: bool = True,
        validation_data: Optional[Tuple[ArrayLike, ArrayLike]] = None,
        callbacks: Optional[Sequence[Callback]] = None,
        verbose: int = 1,
        validation_split: float = 0.0,
        initial_epoch: int = 0,
        sample_weight: Optional[ArrayLike] = None,
        class_weight: Optional[Dict[int, float]] = None,
    ) -> History:
        """Trains for the epochs ``initial_epoch`` .. ``epochs - 1`` (Keras's numbering: ``epochs``
        is the index of the last epoch plus one) over (X, y) in mini-batches of `batch_size` (the
        last batch may be smaller), reshuffling every epoch when `shuffle`. Each epoch runs entirely
        in C++ with the GIL released; Ctrl-C stops it within a fraction of a second with
        KeyboardInterrupt, leaving the model usable.

        Args:
            X: (n, input_dim) features; converted to float32 once.
            y: (n,) integer labels or (n, outputs) probability rows for cross_entropy, (n, outputs)
                floats in [0, 1] for binary_cross_entropy, (n, outputs) floats for mse, mae, huber.
            validation_data: optional (X_val, y_val) evaluated after each epoch ("val_" logs).
            callbacks: e.g. ``[fm.callbacks.EarlyStopping(patience=3)]``.
            verbose: 0 silent; 1 a progress bar per epoch (tqdm) with the running loss, then the
                epoch's logs (validation included) under it, wrapped to the terminal's width;
                2 one line per epoch with the same logs. Both end with the training speed,
                "N samples/s (training)": the epoch's samples over the time of its training loop,
                validation and metrics not counted.
            validation_split: fraction in [0, 1) of the data held out for validation: the LAST
                ``n - floor(n * (1 - validation_split))`` rows of X and y, taken before any
                shuffling, as Keras. Ignored when validation_data is given.
            initial_epoch: the epoch to start at (for resuming a run; callbacks and History see
                the epoch indices ``initial_epoch`` .. ``epochs - 1``).
            sample_weight: optional (n,) non-negative weights, not all zero; gathered with the
                shuffled batches. Each batch's loss is ``sum(w_i * loss_i) / sum(w_i)`` (Keras's
                "mean_with_sample_weight"; a batch whose weights are all zero has a zero gradient).
                Metrics stay unweighted.
            class_weight: optional {class: weight} for cross_entropy with integer labels (PyTorch's
                ``CrossEntropyLoss(weight=...)``) or binary_cross_entropy (keys 0 and 1); classes not
                named weigh 1. Multiplies sample_weight.

        Returns:
            History with per-epoch "loss", metrics, and "val_loss"/"val_<metric>".

        Raises:
            FloatingPointError: a batch loss or its gradient became NaN or infinite (divergence); the
                message names the epoch and step, and the model keeps the weights and optimizer
                state from before that step. With ``fm.callbacks.TerminateOnNaN()`` in callbacks
                fit stops and returns instead (see TerminateOnNaN).
        """
        self._require_compiled("fit")
        X = self._validated_features(X)
        y = self._targets(y, X.shape[0])
        sw, cw = self._weight_vectors(y, sample_weight, class_weight)
        epochs = non_negative_int("epochs", epochs)
        batch_size = positive_int("batch_size", batch_size)
        initial_epoch = non_negative_int("initial_epoch", initial_epoch)
        verbose = _checked_verbose(verbose)
        X, y, sw, validation = self._validation_arrays(X, y, sw, validation_data, validation_split)
        data = _TrainingData(X, y, sw, cw, validation, batch_size, bool(shuffle))
        return self._train(data, _checked_callbacks(callbacks), initial_epoch, epochs, verbose)

    def _validation_arrays(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sw: Optional[np.ndarray],
        validation_data: Optional[Tuple[ArrayLike, ArrayLike]],
        validation_split: float,
    ) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray], Optional[Tuple[np.ndarray, np.ndarray]]]:
        """(X, y, sample weights) left for training and the validated validation arrays (or None):
        validation_data when given, else the last rows held out by validation_split."""
        split = number_in("validation_split", validation_split, 0.0, 1.0, high_open=True)
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                got = (
                    f"a {type(validation_data).__name__} of length {len(validation_data)}"
                    if isinstance(validation_data, (tuple, list))
                    else type(validation_data).__name__
                )
                raise ValueError(f"validation_data must be a tuple (X_val, y_val), got {got}")
            Xv = as_features(validation_data[0], self.input_dim, "validation_data[0]")
            yv = self._targets(validation_data[1], Xv.shape[0], "validation_data[1]", "validation_data[0]")
            return X, y, sw, (Xv, yv)
        if split == 0.0:
            return X, y, sw, None
        n = X.shape[0]
        split_at = int(math.floor(n * (1.0 - split)))
        if split_at == 0 or split_at == n:
            raise ValueError(
                f"validation_split={validation_split} leaves {split_at} of the {n} samples for training and "
                f"{n - split_at} for validation; both need at least one"
            )
        validation = (X[split_at:], y[split_at:])  # contiguous views, no copy
        if sw is not None:  # the held-out rows' weights are not used
            sw = np.ascontiguousarray(sw[:split_at])
            if not sw.any():
                raise ValueError("sample_weight is zero for every training row left by validation_split")
        return X[:split_at], y[:split_at], sw, validation

    def _train(
        self, data: _TrainingData, callbacks: List[Callback], initial_epoch: int, epochs: int, verbose: int
    ) -> History:
        """fit's epoch loop with its callbacks (History last), on validated inputs."""
        terminate_on_nan = any(isinstance(cb, TerminateOnNaN) for cb in callbacks)
        history = History()
        all_callbacks: List[Callback] = [*callbacks]
        step_schedule = self._lr_schedule_hook(all_callbacks)
        all_callbacks.append(history)  # History last: it records what the others log
        for cb in all_callbacks:
            cb.set_model(self)
        self.stop_training = False
        for cb in all_callbacks:
            cb.on_train_begin()
        try:
            for epoch in range(initial_epoch, epochs):
                for cb in all_callbacks:
                    cb.on_epoch_begin(epoch)
                diverged, logs = self._fit_epoch(epoch, epochs, data, step_schedule, terminate_on_nan, verbose)
                for cb in all_callbacks:
                    cb.on_epoch_end(epoch, logs)
                if not diverged:
                    self._epoch = epoch + 1
                if self.stop_training or diverged:
                    break
        finally:
            for cb in all_callbacks:
                cb.on_train_end()
        return history

    def _fit_epoch(
        self,
        epoch: int,
        epochs: int,
        data: _TrainingData,
        step_schedule: Optional[_schedules.LRSchedule],
        terminate_on_nan: bool,
        verbose: int,
    ) -> Tuple[bool, Dict[str, float]]:
        """Trains one epoch; returns (whether it diverged, its logs), after showing its progress
        bar (verbose 1) or line (verbose 2)."""
        bar = self._progress_bar(epoch, epochs, data.X.shape[0]) if verbose == 1 else None
        try:
            start = time.perf_counter()
            stats = self._train_epoch(data, step_schedule, None if bar is None else bar.report)
            elapsed = time.perf_counter() - start
            logs = self._epoch_logs(epoch, stats, data, terminate_on_nan)
            rate = stats["samples"] / elapsed if elapsed > 0 else float("inf")
            if bar is not None:
                bar.finish(int(stats["samples"]), logs, rate)
                bar = None
            elif verbose == 2:
                print(epoch_line(epoch, epochs, logs, rate), file=sys.stdout, flush=True)
        finally:
            if bar is not None:
                bar.close()
        return bool(stats["diverged"]), logs

    def _train_epoch(
        self,
        data: _TrainingData,
        step_schedule: Optional[_schedules.LRSchedule],
        progress: Optional[Callable[[int, float], Any]],
    ) -> Dict[str, Any]:
        """One C++ epoch over the data; a per-batch schedule gives its learning rates (and momenta)."""
        net = self._require_built()
        X, y, sw, cw = data.X, data.y, data.sample_weight, data.class_weight
        if step_schedule is None:
            return net.train_epoch(X, y, data.batch_size, data.shuffle, sw, cw, progress=progress)
        step_values = step_schedule._epoch_values(-(-X.shape[0] // data.batch_size))
        stats = net.train_epoch(X, y, data.batch_size, data.shuffle, sw, cw, progress=progress, **step_values)
        step_schedule._advance(int(stats["steps"]) - int(stats["diverged"]))
        return stats

    def _epoch_logs(
        self, epoch: int, stats: Dict[str, Any], data: _TrainingData, terminate_on_nan: bool
    ) -> Dict[str, float]:
        """The epoch's logs ("loss", metrics, "val_" values); all NaN after a divergence under
        TerminateOnNaN, which otherwise raises FloatingPointError."""
        if stats["diverged"]:
            if not terminate_on_nan:
                raise FloatingPointError(
                    f"training diverged at epoch {epoch + 1}, step {stats['steps']}: the batch loss or "
                    "its gradient is NaN or infinite. The weights are those before that step. Lower the "
                    "learning rate, scale the inputs, or check the data."
                )
            return self._nan_logs(data.validation is not None)
        logs = _compiled_metrics.from_stats(stats, self._metrics, self.output_dim)
        if _compiled_metrics.needs_predictions(self._metrics):
            logs.update(_compiled_metrics.from_predictions(data.y, self._require_built().predict(data.X), self._metrics))
        logs = _compiled_metrics.ordered(logs, self._metrics)
        if data.validation is not None:
            for key, value in self._evaluate_arrays(*data.validation).items():
                logs["val_" + key] = value
        return logs

    def _lr_schedule_hook(self, all_callbacks: List[Callback]) -> Optional[_schedules.LRSchedule]:
        """Adds compile's lr_schedule after the callbacks (so that they see the lr each epoch
        used: an epoch schedule sets the next epoch's lr in its on_epoch_end); returns the per-batch
        schedule, if any."""
        if self._lr_schedule is not None and self._lr_schedule not in all_callbacks:
            all_callbacks.append(self._lr_schedule)
        schedules = [cb for cb in all_callbacks if isinstance(cb, _schedules.LRSchedule)]
        if len(schedules) > 1:
            raise ValueError(f"use one learning-rate schedule at a time, got {schedules}")
        return schedules[0] if schedules and schedules[0].per_step else None

    def _nan_logs(self, with_validation: bool) -> Dict[str, float]:
        """The logs of an epoch that diverged under TerminateOnNaN: every value NaN."""
        keys = ["loss", *self._metrics]
        if with_validation:
            keys += ["val_" + k for k in keys]
        return {k: float("nan") for k in keys}

    def _progress_bar(self, epoch: int, epochs: int, n: int) -> "_ProgressBar":
        return _ProgressBar(f"Epoch {epoch + 1}/{epochs}", n)

    def train_step(
        self,
        x: ArrayLike,
        y: ArrayLike,
        sample_weight: Optional[ArrayLike] = None,
        class_weight: Optional[Dict[int, float]] = None,
    ) -> float:
        """One forward, backward and optimizer update on the batch (x, y), in one C++ call.
        Returns the batch's mean loss before the update (weighted as in ``fit`` when
        sample_weight (n,) or class_weight are given); ``gradients()`` then holds its gradient.
        Raises FloatingPointError, without updating, when that loss or its gradient is NaN or infinite."""
        self._require_compiled("train_step")
        x = self._validated_features(x, "x")
        y = self._targets(y, x.shape[0], x_name="x")
        sw, cw = self._weight_vectors(y, sample_weight, class_weight)
        stats = self._require_built().train_step(x, y, sw, cw)
        loss = float(stats["loss"])
        if stats["diverged"]:
            what = f"the batch loss is {loss}" if not math.isfinite(loss) else (
                f"the batch loss is finite ({loss:.6g}) but its gradient overflowed to NaN or infinity"
            )
            raise FloatingPointError(
                f"{what}: no update was made and the weights are unchanged. "
                "Lower the learning rate, scale the inputs, or check the data."
            )
        return loss

    # ---------------------------------------------------------------- inference
    def predict(self, X: ArrayLike) -> np.ndarray:
        """Network outputs for X (n, input_dim): float32 (n, outputs), dropout off. These are
        logits for a linear output layer trained with cross_entropy, probabilities for a softmax one."""
        X = self._validated_features(X)
        assert self._net is not None
        return self._net.predict(X)

    def evaluate(self, X: ArrayLike, y: ArrayLike, sample_weight: Optional[ArrayLike] = None) -> Dict[str, float]:
        """{"loss": mean loss, <metric>: value, ...} over X (n, input_dim) and y (as for ``fit``),
        dropout off. With sample_weight (n,) the loss is the weighted mean as in ``fit``; metrics
        stay unweighted.

        Raises:
            FloatingPointError: the loss is NaN or infinite (the forward pass overflowed: diverged
                weights, or inputs far larger than the model was trained on), as ``fit`` does.
        """
        self._require_compiled("evaluate")
        X = self._validated_features(X)
        y = self._targets(y, X.shape[0])
        sw, _ = self._weight_vectors(y, sample_weight, None)
        logs = self._evaluate_arrays(X, y, sw)
        if not math.isfinite(logs["loss"]):
            raise FloatingPointError(
                f"evaluate: the loss is {logs['loss']} (the forward pass overflowed to NaN or infinity). "
                "The weights may have diverged (retrain with a lower learning rate, or load an earlier "
                "checkpoint) or X holds values far outside the training data's range: scale the inputs."
            )
        return logs

    def _evaluate_arrays(self, X: np.ndarray, y: np.ndarray, sw: Optional[np.ndarray] = None) -> Dict[str, float]:
        """evaluate on validated arrays: the loss and core metrics in one C++ pass, plus a predict
        pass when a compiled metric needs the predictions."""
        net = self._require_built()
        logs = _compiled_metrics.from_stats(net.evaluate(X, y, sw), self._metrics, self.output_dim)
        if _compiled_metrics.needs_predictions(self._metrics):
            logs.update(_compiled_metrics.from_predictions(y, net.predict(X), self._metrics))
        return _compiled_metrics.ordered(logs, self._metrics)

    # ---------------------------------------------------------------- state
    def _require_built(self) -> _core.Network:
        if self._net is None:
            raise RuntimeError("the model has no weights yet: give Sequential an input_dim or call fit first")
        return self._net

    def parameters(self) -> List[np.ndarray]:
        """Zero-copy, writable float32 views of the parameters in PyTorch layout:
        ``[W0 (out, in), b0 (out,), W1, b1, ...]``. Writing into a view changes the model."""
        return self._require_built().parameters()

    def buffers(self) -> List[np.ndarray]:
        """Zero-copy, writable views of the non-trainable state: per ``fm.BatchNorm`` layer with
        running statistics, ``running_mean (features,)`` then ``running_var (features,)`` (float32),
        then for ``momentum=None`` its ``num_batches_tracked`` (a 0-d int64, as PyTorch's), layer by
        layer (``[]`` without such layers). Saved and loaded with the model."""
        return self._require_built().buffers()

    def gradients(self) -> List[np.ndarray]:
        """The last ``train_step``/``fit`` batch's gradients of the mean loss, laid out as
        ``parameters()`` (zero-copy views)."""
        return self._require_built().gradients()

    @property
    def learning_rate(self) -> float:
        """The optimizer's current learning rate (as float32 in the core). Setting it keeps the
        optimizer state (moments, step count); ``compile`` resets it to the optimizer's ``lr``."""
        self._require_compiled("reading learning_rate")
        return float(self._require_built().learning_rate)

    @learning_rate.setter
    def learning_rate(self, lr: float) -> None:
        self._require_compiled("setting learning_rate")
        self._require_built().set_learning_rate(non_negative_float32("learning_rate", lr))

    def optimizer_state(self) -> Dict[str, Any]:
        """A copy of the optimizer's state: ``{"step": int, name: float32 array (num_params,), ...}``
        with PyTorch's state names (flat, in the layout of the parameter buffer): SGD
        ``momentum_buffer``; Adam/AdamW ``exp_avg``, ``exp_avg_sq`` (``max_exp_avg_sq``); RMSprop
        ``square_avg`` (``momentum_buffer``, ``grad_avg``); Adagrad ``sum``."""
        self._require_compiled("optimizer_state")
        return dict(self._require_built().optimizer_state())

    def set_optimizer_state(self, state: Dict[str, Any]) -> None:
        """Restores what ``optimizer_state()`` returned, for the same optimizer configuration.
        Raises ValueError (and changes nothing) for missing or extra keys or wrong sizes."""
        self._require_compiled("set_optimizer_state")
        if not isinstance(state, dict):
            raise TypeError(f"state must be a dict from optimizer_state(), got {type(state).__name__}")
        self._require_built().set_optimizer_state(state)

    @property
    def num_params(self) -> int:
        return int(self._require_built().num_params)

    def loss_and_gradients(self, X: ArrayLike, y: ArrayLike) -> Tuple[float, List[np.ndarray]]:
        """The mean loss over X (n, input_dim) and y (as for ``fit``) and its gradient, in
        inference mode (dropout off, as ``predict``), without changing the weights, buffers or
        optimizer state: (loss as float, float32 copies laid out as ``parameters()``:
        ``[dW0 (out, in), db0 (out,), ...]``). ``gradients()`` then shows the same values. Unweighted
        and unclipped; a NaN or infinite loss is returned as is (this is a diagnostic: see
        ``fm.check_gradients``). Validates X and y as ``fit``; builds the model on first use."""
        self._require_compiled("loss_and_gradients")
        X = self._validated_features(X)
        return self._compute_gradients(X, self._targets(y, X.shape[0]))

    def _compute_gradients(self, X: np.ndarray, y: np.ndarray) -> Tuple[float, List[np.ndarray]]:
        """loss_and_gradients on validated arrays."""
        net = self._require_built()
        stats = net.compute_gradients(X, y)
        return float(stats["loss"]), [g.copy() for g in net.gradients()]

    # ---------------------------------------------------------------- training state and pickling
    def _compile_settings(self) -> CompileSettings:
        """What compile was given, as compile takes it again (the schedule a detached copy)."""
        assert self._loss is not None and self._optimizer is not None
        schedule = None if self._lr_schedule is None else _detached_copy(self._lr_schedule)
        return {"loss": self._loss, "optimizer": self._optimizer, "metrics": list(self._metrics),
                "lr_schedule": schedule, "clip_norm": self._clip[0] or None, "clip_value": self._clip[1] or None}

    def training_state(self) -> TrainingState:
        """A snapshot of everything a checkpoint holds besides the architecture, weights and
        buffers (see ``TrainingState``): the compile settings (the lr_schedule as a copy with its
        progress), the learning rate in use, a copy of the optimizer state, the epoch counter and
        the generator states. ``set_training_state`` on a model of the same architecture makes its
        training continue exactly as this one's would. Needs a compiled, built model."""
        self._require_compiled("training_state")
        net = self._require_built()
        return {
            **self._compile_settings(),
            "learning_rate": self.learning_rate,
            "optimizer_state": self.optimizer_state(),
            "epoch": self._epoch,
            "rng_state": list(net.rng_state()),
        }

    def set_training_state(self, state: TrainingState) -> None:
        """Restores what ``training_state()`` returned (from this model or one of the same
        architecture): compiles with its settings (using its lr_schedule object) and puts back the
        learning rate, optimizer state, epoch counter and generators. The model must be built.
        Raises TypeError or ValueError (missing or unknown keys, invalid values, an optimizer state
        that does not fit) and then leaves the model as it was."""
        net = self._require_built()
        if not isinstance(state, dict):
            raise TypeError(f"state must be a dict from training_state(), got {type(state).__name__}")
        check_keys("the training state", state, sorted(TrainingState.__required_keys__))
        epoch = non_negative_int("epoch", state["epoch"])
        previous = self.training_state() if self.compiled else None
        previous_schedule = self._lr_schedule
        try:
            self._compile_with(state)
            self.learning_rate = state["learning_rate"]
            self.set_optimizer_state(state["optimizer_state"])
            net.set_rng_state(state["rng_state"])
        except BaseException:
            if previous is None:  # back to uncompiled
                self._loss = self._optimizer = None
                self._metrics, self._clip = [], (0.0, 0.0)
            else:
                self.set_training_state(previous)
            self._lr_schedule = previous_schedule
            raise
        self._epoch = epoch

    def _compile_with(self, settings: CompileSettings) -> None:
        self.compile(loss=settings["loss"], optimizer=settings["optimizer"], metrics=settings["metrics"],
                     lr_schedule=settings["lr_schedule"], clip_norm=settings["clip_norm"],
                     clip_value=settings["clip_value"])

    def __getstate__(self) -> Dict[str, Any]:
        """Pickles through the checkpoint format (``fm.io.to_bytes``): a built model as the bytes
        of its safetensors file (weights, buffers and, compiled, the training state); an unbuilt one
        as its configuration and compile settings."""
        from ._checkpoint import compile_settings_json
        from .io import to_bytes

        if self.built:
            return {"checkpoint": to_bytes(self)}
        settings = compile_settings_json(self._compile_settings()) if self.compiled else None
        return {"config": self.get_config(), "compile": settings}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        from ._checkpoint import parse_compile_settings
        from .io import from_bytes

        if "checkpoint" in state:
            restored = from_bytes(state["checkpoint"])
        else:
            restored = Sequential.from_config(state["config"])
            if state["compile"] is not None:
                restored._compile_with(parse_compile_settings(state["compile"]))
        self.__dict__.update(restored.__dict__)

    def summary(self, print_fn: Optional[Callable[[str], Any]] = None) -> str:
        """A Keras-style table of the layers, their output shapes and parameter counts, with the
        totals. Prints it (with ``print_fn`` when given, called once with the whole text) and
        returns it. Raises RuntimeError before the input width is known."""
        if self.input_dim is None:
            raise RuntimeError("the model is not built: give Sequential an input_dim or call fit first")
        rows = [("Layer (type)", "Output Shape", "Param #")]
        width, total, non_trainable = self.input_dim, 0, 0
        counts: Dict[str, int] = {}
        for layer in self.layers:
            kind = type(layer).__name__
            index = counts.get(kind, 0)
            counts[kind] = index + 1
            name = kind.lower() if index == 0 else f"{kind.lower()}_{index}"
            tensors = layer.tensors(width)
            params, frozen = tensors.num_params, tensors.num_buffer_values
            width = layer.output_width(width)
            total += params
            non_trainable += frozen
            rows.append((f"{name} ({layer.summary_kind()})", f"(None, {width})", f"{params + frozen:,}"))
        w0 = max(len(r[0]) for r in rows) + 3
        w1 = max(len(r[1]) for r in rows) + 3
        w2 = max(len(r[2]) for r in rows)
        line = "_" * (w0 + w1 + w2)
        header = f"{rows[0][0]:<{w0}}{rows[0][1]:<{w1}}{rows[0][2]:>{w2}}"
        body = [f"{a:<{w0}}{b:<{w1}}{c:>{w2}}" for a, b, c in rows[1:]]
        text = "\n".join(
            [
                f"Model: \"sequential\" (input_dim={self.input_dim})",
                line,
                header,
                "=" * len(line),
                *body,
                "=" * len(line),
                f"Total params: {total + non_trainable:,}",
                f"Trainable params: {total:,}",
                f"Non-trainable params: {non_trainable:,}",
                line,
            ]
        )
        (print_fn or print)(text)
        return text

    def get_config(self) -> Dict[str, Any]:
        """The architecture as a JSON-friendly dictionary (what ``save`` stores)."""
        return {
            "input_dim": self.input_dim,
            "seed": self.seed,
            "layers": [layer.get_config() for layer in self.layers],
        }

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Sequential":
        try:
            layers = [from_config(c) for c in config["layers"]]
            return cls(layers, input_dim=config["input_dim"], seed=config.get("seed", 0))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"invalid model configuration: {exc!r}") from None

    def to_torch(self) -> Any:
        """A float32 ``torch.nn.Sequential`` (eval mode, copied weights and running statistics)
        computing ``predict``; see ``fm.to_torch``. Needs torch."""
        from .torch_interop import to_torch

        return to_torch(self)

    @property
    def epoch(self) -> int:
        """Epochs completed, in fit's numbering: after ``fit(epochs=E)`` runs to the end it is E.
        Saved in checkpoints; resume with ``fit(..., epochs=total, initial_epoch=model.epoch)``."""
        return self._epoch

    def save(self, path: Union[str, "os.PathLike[str]"], include_optimizer: bool = True) -> None:
        """Writes the architecture and weights to a safetensors file, atomically. For a compiled
        model with ``include_optimizer`` (the default) it also writes the training state
        (``training_state()``: loss, optimizer and its state, metrics, clipping, the
        ``compile(lr_schedule=...)`` schedule and its progress, learning rate, step and epoch
        counters, generator states): ``fm.load`` then returns the model compiled, and training
        continues bit for bit as if it had not stopped. Raises ValueError for a schedule class
        checkpoints cannot hold (one not from ``fm.schedules``)."""
        from .io import save

        self._require_built()
        save(self, path, include_optimizer=include_optimizer)

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential([{inner}], input_dim={self.input_dim}, seed={self.seed})"
