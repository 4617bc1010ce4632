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
from ._sparse import Inputs, as_inputs
from ._validation import (
    check_keys,
    is_int,
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
from .layers import (
    Dense,
    Layer,
    check_input_dim_position,
    check_layer_stack,
    from_config,
    get_keras_weights,
    set_keras_weights,
    tensor_table,
)

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

    X: Inputs
    y: np.ndarray
    sample_weight: Optional[np.ndarray]
    class_weight: Optional[np.ndarray]
    validation: Optional[Tuple[Inputs, np.ndarray]]
    batch_size: int
    shuffle: bool


def _detached_copy(schedule: _schedules.LRSchedule) -> _schedules.LRSchedule:
    """A copy of `schedule` with its configuration and progress, attached to no model."""
    clone = copy.deepcopy(schedule, memo={id(schedule.model): None})
    clone.model = None
    return clone


def _input_width(input_dim: Any) -> int:
    """``build``'s argument as a number of features: an integer, or a Keras input shape
    ``(None, features)`` / ``(features,)`` (a batch size in the first place is ignored)."""
    if isinstance(input_dim, (tuple, list)):
        shape = list(input_dim)
        if len(shape) == 2 and (shape[0] is None or is_int(shape[0])) and shape[1] is not None:
            shape = shape[1:]
        if len(shape) == 1 and shape[0] is not None:
            return positive_int("input_dim (the number of features in the shape)", shape[0])
        raise ValueError(
            f"input_dim must be the number of features (32) or a Keras input shape (None, 32) or (32,), got {input_dim!r}"
        )
    return positive_int("input_dim", input_dim)


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

    Build it from a list, ``fm.Sequential([fm.Dense(64, "relu"), fm.Dense(1)], input_dim=32)``, or
    layer by layer as in Keras::

        model = fm.Sequential()
        model.add(fm.Dense(64, "relu", input_dim=32))   # input_dim on the first layer, or
        model.add(fm.Dense(1))                          # Sequential(input_dim=32), or build(32)

    Args:
        layers: ``fm.Dense``, ``fm.Activation``, ``fm.Dropout``, ``fm.LayerNorm`` and ``fm.BatchNorm`` layers; the last
            Dense gives the output width. Optional: without it the model starts empty and
            ``add`` appends layers. A list is checked at once (at least one Dense, softmax only
            last, ...); layers added one by one are checked when the model is first used
            (``build``, ``compile``, ``fit``, ``predict``, ``summary``, ``get_config``, ``save``, ...).
        input_dim: number of input features (or give it as the first layer's ``input_dim=``; both
            must then agree). If neither, it is taken from ``build(input_dim)`` or the first
            ``fit``, ``train_step``, ``predict`` or ``evaluate`` call.
        seed: seeds the initial weights, the shuffling and the dropout masks (all reproducible).

    The model is *built* (its weights allocated) once its input width is known and its layers are
    used: at construction for a list with an input width, else at the first ``build``, ``compile``,
    ``fit``/``predict``/..., ``summary``, ``parameters()`` or ``get_weights()``. Layers can be added
    only before that.

    ``copy.copy(model)`` and ``copy.deepcopy(model)`` both give an independent model: its own
    weights, buffers, optimizer state, compile settings (its own lr_schedule), epoch counter and
    generator states, so training the copy continues exactly as the original would, and neither
    changes the other. Its ``layers`` are copies bound to it. Pickling gives the same through the
    checkpoint format (``fm.io.to_bytes``).
    """

    def __init__(
        self, layers: Optional[Sequence[Layer]] = None, input_dim: Optional[int] = None, seed: int = 0
    ) -> None:
        if layers is None:
            layers = []
        elif isinstance(layers, (Layer, str, bytes)) or not hasattr(layers, "__iter__"):
            raise TypeError(
                f"layers must be a list of fm layers such as [fm.Dense(10)], got {type(layers).__name__}"
            )
        given = list(layers)
        for i, layer in enumerate(given):
            if not isinstance(layer, Layer):
                raise not_an_instance_error(f"layers[{i}]", layer, "an fm layer such as fm.Dense(10)")
        if given:
            check_layer_stack(given)
        self.seed = non_negative_int("seed", seed, below=2**64, below_text="2**64")
        self._input_dim_arg: Optional[int] = None if input_dim is None else positive_int("input_dim", input_dim)
        if given:
            self._check_declared_input_dim(given[0])
        self.layers: List[Layer] = []
        self.stop_training = False
        self._net: Optional[_core.Network] = None
        self._width: Optional[int] = None  # the input width the network was built for
        self._loss: Optional[_losses.Loss] = None
        self._optimizer: Optional[_optim.Optimizer] = None
        self._metrics: List[str] = []
        self._lr_schedule: Optional[_schedules.LRSchedule] = None
        self._clip: Tuple[float, float] = (0.0, 0.0)  # (clip_norm, clip_value); 0 = off
        self._epoch = 0  # epochs completed (fit's numbering), saved in checkpoints
        for layer in given:
            self.layers.append(self._adopt(layer))
        declared = self._declared_input_dim()
        if given and declared is not None:
            self._build(declared)

    # ---------------------------------------------------------------- layers
    def _adopt(self, layer: Layer) -> Layer:
        """`layer`, bound to this model; a copy when it already belongs to a model (this one or
        another), so that each model's ``layers[i]`` reads that model's weights."""
        if layer._owner_model() is not None:
            layer = copy.deepcopy(layer)  # unbound: Layer.__getstate__ leaves the model out
        layer._bind(self)
        return layer

    def _check_declared_input_dim(self, first: Layer) -> None:
        """ValueError when the first layer's ``input_dim`` and ``Sequential(input_dim=...)``
        disagree."""
        if first.input_dim is not None and self._input_dim_arg is not None and first.input_dim != self._input_dim_arg:
            raise ValueError(
                f"Sequential(input_dim={self._input_dim_arg}) and the first layer's input_dim={first.input_dim} "
                f"({first!r}) disagree: give the number of input features once (or the same value twice)"
            )

    def _declared_input_dim(self) -> Optional[int]:
        """The input width given by Sequential(input_dim=...) or the first layer, if any."""
        if self.layers and self.layers[0].input_dim is not None:
            return self.layers[0].input_dim
        return self._input_dim_arg

    def add(self, layer: Layer) -> None:
        """Appends `layer` (``fm.Dense(...)``, ``fm.Dropout(...)``, ...) to the model, as Keras's
        ``Sequential.add``. The first layer may carry ``input_dim=`` (the number of input
        features). Layers are added before the model is built: RuntimeError afterwards. The stack
        rules (a Dense layer, softmax only last) are checked when the model is first used; a layer
        with ``input_dim`` that is not the first, or one disagreeing with
        ``Sequential(input_dim=...)``, raises ValueError here. A layer that already belongs to a
        model is copied (``model.layers[-1]`` is then the copy)."""
        if self._net is not None:
            raise RuntimeError(
                f"layers must be added before the model is built (by input_dim, build() or the first fit/predict); "
                f"this model is built for input_dim={self._width} with {len(self.layers)} layer(s). Create a new "
                "fm.Sequential with all the layers (the weights of this one cannot grow a layer)"
            )
        if not isinstance(layer, Layer):
            raise not_an_instance_error("layer", layer, "an fm layer such as fm.Dense(10)")
        check_input_dim_position(layer, len(self.layers))
        if not self.layers:
            self._check_declared_input_dim(layer)
        self.layers.append(self._adopt(layer))

    def _check_stack(self, loss: Optional[_losses.Loss] = None) -> None:
        """ValueError unless the layers form a model (see ``check_layer_stack``) that `loss` (if
        given) can train; checked when an unbuilt model is used."""
        if not self.layers:
            raise ValueError("the model has no layers: add some with model.add(fm.Dense(...))")
        check_layer_stack(self.layers)
        self._check_declared_input_dim(self.layers[0])
        if loss is not None:
            self._check_output_width(loss)

    def _check_output_width(self, loss: _losses.Loss) -> None:
        """ValueError for a loss that cannot train this output width: cross_entropy over one output
        is 0 whatever the weights (the softmax of a single logit is 1), a model that learns nothing."""
        if isinstance(loss, _losses.CrossEntropy) and self.output_dim == 1:
            raise ValueError(
                "loss='cross_entropy' needs one output per class, but the last Dense has 1 unit: over one output "
                "the loss is 0 whatever the weights and the model learns nothing. For two classes use "
                "loss='binary_cross_entropy' with fm.Dense(1) (labels 0/1), or fm.Dense(2) with cross_entropy"
            )

    def _use_stack(self, loss: Optional[_losses.Loss] = None, check_loss: bool = True) -> None:
        """Before an unbuilt model's layers are used: checks them (against `loss`, by default the
        compiled one, which may predate the last ``add``), and builds the model when its input
        width is known (``input_dim`` given to Sequential or the first layer)."""
        if self._net is None:
            self._check_stack((loss or self._loss) if check_loss else None)
            declared = self._declared_input_dim()
            if declared is not None:
                self._build(declared)

    def build(self, input_dim: Union[int, Sequence[Optional[int]], None] = None) -> None:
        """Builds the model (allocates and initialises the weights) for `input_dim` input features:
        an integer, or a Keras shape ``(None, 32)`` / ``(32,)``. Without an argument, the width
        given by ``Sequential(input_dim=...)`` or the first layer's ``input_dim``. Building again
        with the same width does nothing; ValueError for another width, a width disagreeing with
        the declared one, or a layer stack that cannot form a model."""
        width = None if input_dim is None else _input_width(input_dim)
        if self._net is not None:
            if width is not None and width != self._width:
                raise ValueError(
                    f"the model is already built for input_dim={self._width}, got build({input_dim!r}); "
                    "a built model's input width cannot change: create a new fm.Sequential"
                )
            return
        self._check_stack(self._loss)
        declared = self._declared_input_dim()
        if width is None:
            if declared is None:
                raise ValueError(
                    "build() needs the number of input features: model.build(32), or give input_dim to Sequential "
                    "or to the first layer"
                )
            width = declared
        elif declared is not None and width != declared:
            raise ValueError(
                f"build({input_dim!r}) asks for {width} input features, but the model declares input_dim={declared} "
                "(Sequential(input_dim=...) or the first layer's input_dim)"
            )
        self._build(width)

    # ---------------------------------------------------------------- building
    def _build(self, input_dim: int) -> None:
        table = tensor_table(self.layers, input_dim)
        check_model_size(input_dim, table.num_params, self.layers)
        net = _core.Network(input_dim, [layer._core_spec() for layer in self.layers], self.seed)
        views = dict(zip((name for name, _ in table.parameters), net.parameters()))
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Dense) and layer.kernel_init == "orthogonal":  # C++ drew the normals; QR needs LAPACK
                _initializers.orthogonalize(views[f"layers.{i}.weight"])
        self._net, self._width = net, input_dim  # together: a failed build leaves the model unbuilt
        if self._loss is not None and self._optimizer is not None:
            self._apply_compile(self._loss, self._optimizer, self._clip)

    @property
    def input_dim(self) -> Optional[int]:
        """The number of input features: the width the model is built for, else the one declared
        (``Sequential(input_dim=...)`` or the first layer's ``input_dim``), else None."""
        return self._width if self._net is not None else self._declared_input_dim()

    def _validated_features(self, X: Any, name: str = "X") -> Inputs:
        """X as a C-contiguous float32 (n, input_dim) array, or a sparse X as SparseRows (never
        densified), building the model on its first call."""
        self._use_stack()
        if self._net is None:
            arr = as_inputs(X, None, name)
            self._build(arr.shape[1])
            return arr
        return as_inputs(X, self._width, name)

    def _apply_compile(self, loss: _losses.Loss, optimizer: _optim.Optimizer, clip: Tuple[float, float]) -> None:
        """Installs the settings in the core; RuntimeError, before any change, while another thread
        trains or predicts with this model."""
        assert self._net is not None
        self._net.set_loss(loss.name, **loss._core_args())
        optimizer._install(self._net)
        self._net.set_gradient_clipping(*clip)

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
        """The number of outputs: the last Dense layer's units (ValueError for a model without one)."""
        for layer in reversed(self.layers):
            if isinstance(layer, Dense):
                return layer.units
        self._check_stack()
        raise AssertionError("unreachable: a stack that passes the checks has a Dense layer")

    def compile(
        self,
        loss: Union[str, _losses.Loss, None] = None,
        optimizer: Union[str, _optim.Optimizer] = "adam",
        metrics: Optional[Sequence[str]] = None,
        lr_schedule: Optional[_schedules.LRSchedule] = None,
        clip_norm: Optional[float] = None,
        clip_value: Optional[float] = None,
    ) -> None:
        """Chooses the loss, which has no default (``"mse"``, ``"mae"``, ``"huber"``, ``"poisson"``,
        ``"cross_entropy"``, ``"binary_cross_entropy"``, a Keras or PyTorch spelling of them such as
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
        self._compile(loss, optimizer, metrics, lr_schedule, clip_norm, clip_value, restoring=False)

    def _compile(
        self,
        loss: Union[str, _losses.Loss, None],
        optimizer: Union[str, _optim.Optimizer],
        metrics: Optional[Sequence[str]],
        lr_schedule: Optional[_schedules.LRSchedule],
        clip_norm: Optional[float],
        clip_value: Optional[float],
        restoring: bool,
    ) -> None:
        """compile; `restoring` (a training state from a file, pickle or ``set_training_state``)
        skips the refusals added after files were first written (a loss that cannot train this
        output width, class metrics under binary_cross_entropy), so that every file written before
        still loads."""
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
        resolved = _compiled_metrics.resolve(list(metrics), loss_obj.classification, loss_obj.name,
                                             class_metrics_need_cross_entropy=not restoring)
        if not restoring and self._net is not None:
            self._check_output_width(loss_obj)
        # unbuilt: checks the layers against loss_obj, and builds the model when its input width is known
        self._use_stack(loss_obj, check_loss=not restoring)
        clip_pair = (float(clip[0]), float(clip[1]))
        if self._net is not None:  # first: a model in use by another thread keeps its settings
            self._apply_compile(loss_obj, opt_obj, clip_pair)
        self._metrics = resolved
        self._loss, self._optimizer = loss_obj, opt_obj
        self._lr_schedule, self._clip = lr_schedule, clip_pair

    def _require_compiled(self, what: str) -> None:
        """Checked before X, so that a failed call on an unbuilt model does not build it."""
        if not self.compiled:
            raise RuntimeError(f"call model.compile(loss=..., optimizer=...) before {what}")

    def _targets(self, y: ArrayLike, n: int, name: str = "y", x_name: str = "X") -> np.ndarray:
        assert self._loss is not None
        return self._loss._targets(y, n, self.output_dim, name, x_name)

    def _metric_outputs(self, outputs: np.ndarray) -> np.ndarray:
        """The outputs as the prediction metrics read them (poisson: the mean exp(outputs))."""
        assert self._loss is not None
        return self._loss._metric_outputs(outputs)

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
            X: (n, input_dim) features; converted to float32 once. A scipy.sparse X (CSR, CSC,
                COO, BSR) is taken as CSR rows and never densified; it trains bit for bit as its
                densified array would (every method below takes sparse X too).
            y: (n,) integer labels or (n, outputs) probability rows for cross_entropy, (n, outputs)
                floats in [0, 1] for binary_cross_entropy, (n, outputs) floats for mse, mae, huber,
                floats >= 0 for poisson.
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
        X: Inputs,
        y: np.ndarray,
        sw: Optional[np.ndarray],
        validation_data: Optional[Tuple[ArrayLike, ArrayLike]],
        validation_split: float,
    ) -> Tuple[Inputs, np.ndarray, Optional[np.ndarray], Optional[Tuple[Inputs, np.ndarray]]]:
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
            Xv = as_inputs(validation_data[0], self.input_dim, "validation_data[0]")
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
                if not diverged:  # before the callbacks: a checkpoint written now resumes after this epoch
                    self._epoch = epoch + 1
                for cb in all_callbacks:
                    cb.on_epoch_end(epoch, logs)
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
            outputs = self._metric_outputs(self._require_built().predict(data.X))
            logs.update(_compiled_metrics.from_predictions(data.y, outputs, self._metrics))
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
        """Network outputs for X (n, input_dim; dense or scipy.sparse): float32 (n, outputs),
        dropout off. These are logits for a linear output layer trained with cross_entropy,
        probabilities for a softmax one."""
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

    def _evaluate_arrays(self, X: Inputs, y: np.ndarray, sw: Optional[np.ndarray] = None) -> Dict[str, float]:
        """evaluate on validated arrays: the loss and core metrics in one C++ pass, plus a predict
        pass when a compiled metric needs the predictions."""
        net = self._require_built()
        logs = _compiled_metrics.from_stats(net.evaluate(X, y, sw), self._metrics, self.output_dim)
        if _compiled_metrics.needs_predictions(self._metrics):
            logs.update(_compiled_metrics.from_predictions(y, self._metric_outputs(net.predict(X)), self._metrics))
        return _compiled_metrics.ordered(logs, self._metrics)

    # ---------------------------------------------------------------- state
    def _require_built(self) -> _core.Network:
        """The network, building the model first when its input width is known; RuntimeError when
        it is not."""
        self._use_stack()
        if self._net is None:
            raise RuntimeError(
                "the model has no weights yet: give Sequential an input_dim (or the first layer input_dim=...), "
                "call model.build(input_dim) or fit first"
            )
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

    def get_weights(self) -> List[np.ndarray]:
        """Copies of the weights as Keras's ``model.get_weights()`` lists them: layer by layer, a
        Dense's ``kernel (in, units)`` (the TRANSPOSE of ``parameters()``'s PyTorch-layout ``(units,
        in)``) and ``bias (units,)``, a LayerNorm's ``gamma, beta``, a BatchNorm's ``gamma, beta,
        moving_mean, moving_variance`` (those it has: none of gamma/beta with ``affine=False``, no
        moving statistics with ``track_running_stats=False``) then, with ``momentum=None``, its
        ``num_batches_tracked`` (an int64 0-d array; Keras has no such counter), nothing for
        Dropout and Activation. float32 arrays but that counter. ``model.layers[i].get_weights()``
        gives one layer's. Builds a model whose input width is known; RuntimeError otherwise."""
        net = self._require_built()
        return get_keras_weights(self.layers, self._width, net.parameters() + net.buffers())

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Sets the weights from a list in ``get_weights()``'s order and layout (Keras's: a Dense
        kernel is ``(in, units)``, the transpose of ``parameters()``'s). Everything is checked
        before anything is written, so a failed call changes nothing: TypeError unless `weights`
        is a list or tuple; ValueError for the wrong number of arrays (the message lists the
        expected shapes in order), a wrong shape (naming the index, the layer and both shapes),
        a dtype that is not a real number (bool, complex, strings, objects), NaN or infinite
        values, values beyond float32's range, a negative moving variance, or a
        ``num_batches_tracked`` that is not a non-negative integer. Integer and float64 values
        are converted to float32. Builds a model whose input width is known; RuntimeError
        otherwise (build it first: ``model.build(input_dim)``)."""
        net = self._require_built()
        set_keras_weights(self.layers, self._width, net.parameters() + net.buffers(), weights)

    @property
    def num_params(self) -> int:
        return int(self._require_built().num_params)

    def loss_and_gradients(self, X: ArrayLike, y: ArrayLike,
                           sample_weight: Optional[ArrayLike] = None) -> Tuple[float, List[np.ndarray]]:
        """The mean loss over X (n, input_dim) and y (as for ``fit``) and its gradient, in
        inference mode (dropout off, as ``predict``), without changing the weights, buffers or
        optimizer state: (loss as float, float32 copies laid out as ``parameters()``:
        ``[dW0 (out, in), db0 (out,), ...]``). ``gradients()`` then shows the same values. The
        regularizers' penalties are included. sample_weight: optional (n,) non-negative weights,
        not all zero: the loss is then the weighted mean, as in ``fit`` (the penalty is added
        once, not weighted). Unclipped; a NaN or infinite loss is returned as is (this is a
        diagnostic: see ``fm.check_gradients``). Validates X and y as ``fit``; builds the model on
        first use."""
        self._require_compiled("loss_and_gradients")
        X, y, sw = self._gradient_inputs(X, y, sample_weight)
        return self._compute_gradients(X, y) if sw is None else self._compute_gradients(X, y, sw)

    def _gradient_inputs(self, X: ArrayLike, y: ArrayLike,
                         sample_weight: Optional[ArrayLike]) -> Tuple[Inputs, np.ndarray, Optional[np.ndarray]]:
        """loss_and_gradients' checks and conversions, building the model on first use: (X, y,
        sw) as ``_compute_gradients`` takes them. Callers that evaluate the same data many times
        (fastmlp._lbfgs) validate once here and then call ``_compute_gradients``."""
        X = self._validated_features(X)
        y = self._targets(y, X.shape[0])
        sw, _ = self._weight_vectors(y, sample_weight, None)
        return X, y, sw

    def _compute_gradients(self, X: Inputs, y: np.ndarray, sw: Optional[np.ndarray] = None,
                           copy: bool = True) -> Tuple[float, List[np.ndarray]]:
        """loss_and_gradients on validated arrays (``_gradient_inputs``; sw: validated float32
        weights or None). copy=False returns the core's gradient buffers themselves
        (``gradients()``'s zero-copy views), which the next call overwrites."""
        net = self._require_built()
        stats = net.compute_gradients(X, y) if sw is None else net.compute_gradients(X, y, sample_weight=sw)
        grads = net.gradients()
        return float(stats["loss"]), [g.copy() for g in grads] if copy else grads

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
        self._compile(settings["loss"], settings["optimizer"], settings["metrics"], settings["lr_schedule"],
                      settings["clip_norm"], settings["clip_value"], restoring=True)

    def __getstate__(self) -> Dict[str, Any]:
        """Pickles through the checkpoint format (``fm.io.to_bytes``): a built model as the bytes
        of its safetensors file (weights, buffers and, compiled, the training state); an unbuilt one
        as its configuration (as it stands: its layers, possibly none yet, with their input_dim)
        and compile settings."""
        from ._checkpoint import compile_settings_json
        from .io import to_bytes

        if self.built:
            return {"checkpoint": to_bytes(self)}
        settings = compile_settings_json(self._compile_settings()) if self.compiled else None
        config = {"input_dim": self._input_dim_arg, "seed": self.seed,
                  "layers": [layer.get_config() for layer in self.layers]}
        return {"config": config, "compile": settings}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        from ._checkpoint import parse_compile_settings
        from .io import from_bytes

        if "checkpoint" in state:
            restored = from_bytes(state["checkpoint"])
        else:
            config = state["config"]
            restored = Sequential(input_dim=config["input_dim"], seed=config.get("seed", 0))
            for i, layer_config in enumerate(config["layers"]):
                restored.add(from_config(layer_config, f"layers[{i}]"))
            if state["compile"] is not None:
                restored._compile_with(parse_compile_settings(state["compile"]))
        self.__dict__.update(restored.__dict__)
        for layer in self.layers:
            layer._bind(self)

    def __copy__(self) -> "Sequential":
        """An independent model, as ``copy.deepcopy`` (see the class docstring)."""
        return self.__deepcopy__({})

    def __deepcopy__(self, memo: Dict[int, Any]) -> "Sequential":
        """An independent model: its own network (weights, buffers, gradients, optimizer state,
        learning rate, generator states copied), its own layers bound to it, and deep copies of
        everything else (compile settings, lr_schedule with its progress, epoch counter), with
        references to this model inside them (a schedule's ``model``) pointing to the copy."""
        clone = type(self).__new__(type(self))
        memo[id(self)] = clone
        shared = {"_net", "layers"}
        clone.__dict__.update(copy.deepcopy({k: v for k, v in self.__dict__.items() if k not in shared}, memo))
        clone._net = None
        clone.layers = []
        for layer in self.layers:
            clone.layers.append(copy.deepcopy(layer, memo))
            clone.layers[-1]._bind(clone)
        if self._net is not None:
            clone._copy_network_from(self._net, self._width)
        return clone

    def _copy_network_from(self, source: _core.Network, width: Optional[int]) -> None:
        """Builds this model's network (for its copied layers, seed and compile settings) holding
        `source`'s state: parameters, buffers, gradients, generator states and, compiled, the
        learning rate and optimizer state."""
        assert width is not None
        net = self._net = _core.Network(width, [layer._core_spec() for layer in self.layers], self.seed)
        self._width = width
        for views in ("parameters", "buffers", "gradients"):
            targets, sources = getattr(net, views)(), getattr(source, views)()
            assert len(targets) == len(sources)
            for target, value in zip(targets, sources):
                target[...] = value
        net.set_rng_state(source.rng_state())
        if self._loss is not None and self._optimizer is not None:
            self._apply_compile(self._loss, self._optimizer, self._clip)
            net.set_learning_rate(source.learning_rate)
            net.set_optimizer_state(source.optimizer_state())

    def summary(self, print_fn: Optional[Callable[[str], Any]] = None) -> str:
        """A Keras-style table of the layers, their output shapes and parameter counts, with the
        totals. Prints it (with ``print_fn`` when given, called once with the whole text) and
        returns it. Builds a model whose input width is known; RuntimeError before it is."""
        self._use_stack()
        if self._width is None:
            raise RuntimeError(
                "the model is not built: give Sequential an input_dim (or the first layer input_dim=...), "
                "call model.build(input_dim) or fit first"
            )
        rows = [("Layer (type)", "Output Shape", "Param #")]
        width, total, non_trainable = self._width, 0, 0
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
                f"Model: \"sequential\" (input_dim={self._width})",
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
        """The architecture as a JSON-friendly dictionary (what ``save`` stores): the input width
        (None if unknown yet), the seed and the layers' configurations. The input width is held
        once, here: a first layer's ``input_dim`` is not repeated in its configuration. Checks the
        layers of an unbuilt model (ValueError as ``build``)."""
        if self._net is None:
            self._check_stack()
        return {
            "input_dim": self.input_dim,
            "seed": self.seed,
            "layers": [
                {key: value for key, value in layer.get_config().items() if key != "input_dim"} for layer in self.layers
            ],
        }

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Sequential":
        try:
            layers = [from_config(c, f"layers[{i}]") for i, c in enumerate(config["layers"])]
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


def _gradient_evaluator(model: Sequential, X: ArrayLike, y: ArrayLike,
                       sample_weight: Optional[ArrayLike] = None) -> Callable[[], Tuple[float, List[np.ndarray]]]:
    """For the loss and gradient of the same data at many parameter values (``fastmlp._lbfgs``,
    which writes the parameters between calls): checks and converts X, y and sample_weight once,
    as ``model.loss_and_gradients`` does (RuntimeError for an uncompiled model, ValueError for
    bad data), and returns a function of no arguments that gives what ``loss_and_gradients(X, y,
    sample_weight)`` gives at the current parameters, except that the gradients are the core's
    own buffers (``gradients()``'s zero-copy views), which the next call overwrites."""
    model._require_compiled("loss_and_gradients")
    X, y, sw = model._gradient_inputs(X, y, sample_weight)
    compute = model._compute_gradients

    def evaluate() -> Tuple[float, List[np.ndarray]]:
        return compute(X, y, sw, copy=False)

    return evaluate
