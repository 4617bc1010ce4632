"""Layers of a Sequential model. They are descriptions: the C++ core owns the weights.

Each layer class owns its schema, and every consumer (``fm.io``, ``Sequential.summary`` and its
size check, ``fm.check_gradients``, ``fm.onnx``, ``fm.to_torch``/``fm.from_torch``) reads it here:

* its configuration: ``get_config()`` and the strict classmethod ``from_config(config, name)``,
  with the keys in ``config_keys`` (always written) and ``optional_config_keys``;
* for a given input width: ``output_width``, the tensors it owns (``tensors``: trainable
  parameters and non-trainable buffers, names relative to the layer such as ``"weight"``), their
  count (``num_params``) and the activation values one sample needs (``activation_values``);
* where it may stand in a stack (``check_position``) and how ``summary`` shows it (``summary_kind``).

A layer kind registers its class in one place, the ``@register`` decorator, which makes its config
``"type"`` (the class name) known to ``from_config``. ``tensor_table`` gives the tensors of a whole
stack under the names saved files use (``layers.{i}.weight``, ...).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, ClassVar, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Type, TypeVar, Union

import numpy as np

from . import _core
from . import activations as _activations
from . import initializers as _initializers
from . import regularizers as _regularizers
from ._validation import check_bool, check_keys, check_mapping, in_context, number_in, positive_float32, positive_int

__all__ = [
    "Layer",
    "Dense",
    "Dropout",
    "LayerNorm",
    "BatchNorm",
    "Activation",
    "from_config",
    "check_layer_order",
    "check_layer_stack",
    "register",
    "layer_types",
    "kind_lookup",
    "tensor_table",
    "tensors_by_layer",
    "TensorTable",
]

#: (name, shape): a tensor a layer owns, named relative to its layer ("weight") or, in a
#: TensorTable of a stack, as in saved files ("layers.0.weight").
TensorSpec = Tuple[str, Tuple[int, ...]]

#: The safetensors dtype of a tensor unless its layer class says otherwise (``Layer.tensor_dtypes``).
DEFAULT_DTYPE = "F32"


class TensorTable(NamedTuple):
    """Tensors as (name, shape) pairs, shapes in Python ints (nothing is allocated): the trainable
    `parameters` in ``model.parameters()`` order, then the non-trainable `buffers` in
    ``model.buffers()`` order."""

    parameters: List[TensorSpec]
    buffers: List[TensorSpec]
    #: {name: safetensors dtype} of the tensors that are not float32 ("F32"); see ``dtype``.
    dtypes: Mapping[str, str] = {}

    def dtype(self, name: str) -> str:
        """The safetensors dtype of the entry `name`: "F32" (float32), or e.g. "I64" (int64) for
        BatchNorm's num_batches_tracked."""
        return self.dtypes.get(name, DEFAULT_DTYPE)

    @property
    def num_params(self) -> int:
        """The number of trainable values (exact: Python integers)."""
        return sum(math.prod(shape) for _, shape in self.parameters)

    @property
    def num_buffer_values(self) -> int:
        """The number of non-trainable values (running statistics, and a BatchNorm(momentum=None)'s
        num_batches_tracked counter)."""
        return sum(math.prod(shape) for _, shape in self.buffers)


class Layer:
    """Base class of layers; the defaults describe an element-wise layer without tensors."""

    #: Keys besides "type" that get_config always writes and from_config requires.
    config_keys: ClassVar[Tuple[str, ...]] = ()
    #: Keys get_config writes only when not the default; from_config accepts them.
    optional_config_keys: ClassVar[Tuple[str, ...]] = ()
    #: {tensor name relative to the layer: safetensors dtype} for tensors that are not float32
    #: ("F32", the default): e.g. BatchNorm's int64 num_batches_tracked ("I64").
    tensor_dtypes: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def from_config(cls, config: Mapping[str, Any], name: str = "config") -> "Layer":
        """The layer whose ``get_config()`` is `config`, strictly: TypeError or ValueError naming
        `name` (e.g. ``"layers[2]"``) and the key for a missing or unknown key, another layer's
        "type", or a bad value (the constructor's own checks)."""
        if check_mapping(name, config).get("type") != cls.__name__:
            raise ValueError(f"{name} has type {config.get('type')!r}, expected {cls.__name__!r}")
        check_keys(name, config, ("type", *cls.config_keys), cls.optional_config_keys)
        try:
            return cls(**cls._arguments(config))
        except (TypeError, ValueError) as exc:
            raise in_context(name, exc) from None

    @classmethod
    def _arguments(cls, config: Mapping[str, Any]) -> Dict[str, Any]:
        """The constructor's keyword arguments for a configuration whose keys are checked."""
        return {key: value for key, value in config.items() if key != "type"}

    def output_width(self, input_width: int) -> int:
        """The features per sample this layer outputs for `input_width` input features."""
        return input_width

    def tensors(self, input_width: int) -> TensorTable:
        """The tensors this layer owns for `input_width` input features, named relative to the
        layer (``"weight"``, ``"bias"``, ``"running_mean"``, ``"running_var"``), in the order the
        core lays them out."""
        return TensorTable([], [])

    def tensor_dtype(self, name: str) -> str:
        """The safetensors dtype of this layer's tensor `name` (relative): "F32" unless
        ``tensor_dtypes`` says otherwise."""
        return self.tensor_dtypes.get(name, DEFAULT_DTYPE)

    def num_params(self, input_width: int) -> int:
        """The number of trainable values for `input_width` input features."""
        return self.tensors(input_width).num_params

    def activation_values(self, input_width: int) -> int:
        """The float32 values one sample needs in this layer during predict/fit (its output, plus
        whatever the layer keeps per sample), for `input_width` input features."""
        return self.output_width(input_width)

    def check_position(self, index: int, n_layers: int) -> None:
        """ValueError, naming ``layers[index]``, if this layer may not stand at `index` of a stack
        of `n_layers`."""

    def summary_kind(self) -> str:
        """How ``Sequential.summary`` names this layer's type: ``"Dense, relu"``, ``"Dropout"``."""
        return type(self).__name__

    def get_config(self) -> Dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _core_spec(self) -> _core.LayerSpec:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "type")
        return f"{type(self).__name__}({args})"


_LayerClass = TypeVar("_LayerClass", bound=Type[Layer])
_LAYER_TYPES: Dict[str, Type[Layer]] = {}


def register(cls: _LayerClass) -> _LayerClass:
    """Class decorator: makes a Layer subclass known to ``from_config`` (and so to ``fm.load``)
    under the configuration "type" it writes, its class name."""
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise TypeError(f"register takes a subclass of fm.layers.Layer, got {cls!r}")
    _LAYER_TYPES[cls.__name__] = cls
    return cls


def layer_types() -> Dict[str, Type[Layer]]:
    """{configuration "type": layer class} of every registered layer kind (a copy)."""
    return dict(_LAYER_TYPES)


_Entry = TypeVar("_Entry")


def kind_lookup(table: Mapping[type, _Entry], layer: Layer) -> Optional[_Entry]:
    """The entry of a per-kind `table` (e.g. an exporter per layer class) for `layer`'s class, or
    for its nearest base class that has one; None when there is none."""
    for cls in type(layer).__mro__:
        if cls in table:
            return table[cls]
    return None


def _check_softmax_is_last(described: str, activation: _activations.Activation, index: int, n_layers: int) -> None:
    """ValueError naming ``layers[index]`` (`described`) when `activation` is a softmax and layers
    follow it: a softmax normalises the model's output (and cross_entropy fuses it)."""
    if activation.name == "softmax" and index != n_layers - 1:
        raise ValueError(
            f"layers[{index}] ({described}): softmax is only allowed on the last layer, the model's output, "
            f"and {n_layers - 1 - index} layer(s) follow it"
        )


@register
class Dense(Layer):
    """Fully connected layer: ``y = activation(x @ W.T + b)``.

    Input (batch, in) float32, output (batch, units) float32. W has shape (units, in) and b (units,),
    PyTorch's layout. By default both are initialised as ``torch.nn.Linear`` (uniform in ±1/sqrt(in))
    from the model seed; ``kernel_init`` and ``bias_init`` choose another initialiser by name (see
    ``fm.initializers``: glorot/xavier, he/kaiming, lecun_normal, orthogonal, zeros).
    ``kernel_regularizer`` (``fm.regularizers.L1/L2/L1L2`` or ``"l1"``, ``"l2"``, ``"l1_l2"``) adds a
    penalty on W to the loss and its gradient to W's, as Keras.
    """

    config_keys = ("units",)
    optional_config_keys = ("activation", "kernel_init", "bias_init", "kernel_regularizer")

    def __init__(
        self,
        units: int,
        activation: Union[str, _activations.Activation, Mapping[str, Any], None] = None,
        kernel_init: Optional[str] = None,
        bias_init: Optional[str] = None,
        kernel_regularizer: Union[str, _regularizers.Regularizer, None] = None,
    ) -> None:
        self.units = positive_int("units", units)
        self.activation = _activations.get(activation)
        self.kernel_init = _initializers.kernel_init_name(kernel_init)
        self.bias_init = _initializers.bias_init_name(bias_init)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)

    @classmethod
    def _arguments(cls, config: Mapping[str, Any]) -> Dict[str, Any]:
        arguments = super()._arguments(config)
        if "kernel_regularizer" in arguments:  # stored as its get_config(), never as a name
            arguments["kernel_regularizer"] = _regularizers.from_config(
                arguments["kernel_regularizer"], "kernel_regularizer"
            )
        return arguments

    def output_width(self, input_width: int) -> int:
        return self.units

    def tensors(self, input_width: int) -> TensorTable:
        """weight (units, input_width) and bias (units,), PyTorch's layout."""
        return TensorTable([("weight", (self.units, input_width)), ("bias", (self.units,))], [])

    def check_position(self, index: int, n_layers: int) -> None:
        """A softmax activation is allowed only on the last layer, the model's output."""
        _check_softmax_is_last(f"Dense({self.units}, activation='softmax')", self.activation, index, n_layers)

    def summary_kind(self) -> str:
        return f"Dense, {self.activation.name}"

    def get_config(self) -> Dict[str, Any]:
        config: Dict[str, Any] = {
            "type": "Dense",
            "units": self.units,
            "activation": _activations.to_config(self.activation),
        }
        # Written only when not the default, so files of models without them are unchanged.
        if self.kernel_init != "default":
            config["kernel_init"] = self.kernel_init
        if self.bias_init != "default":
            config["bias_init"] = self.bias_init
        if self.kernel_regularizer is not None:
            config["kernel_regularizer"] = self.kernel_regularizer.get_config()
        return config

    def _core_spec(self) -> _core.LayerSpec:
        penalty = self.kernel_regularizer
        return _core.LayerSpec(
            "dense", units=self.units, activation=self.activation.name, activation_params=self.activation._params(),
            kernel_init=self.kernel_init, bias_init=self.bias_init,
            l1=0.0 if penalty is None else penalty.l1, l2=0.0 if penalty is None else penalty.l2,
        )


@register
class Dropout(Layer):
    """Inverted dropout: while training, zeroes each value with probability ``rate`` and scales the
    rest by 1/(1-rate); the identity in predict and evaluate. Masks come from the model's seed."""

    config_keys = ("rate",)

    def __init__(self, rate: float) -> None:
        self.rate = number_in("rate", rate, 0.0, 1.0, high_open=True)

    def activation_values(self, input_width: int) -> int:
        """The output and the mask."""
        return 2 * input_width

    def get_config(self) -> Dict[str, Any]:
        return {"type": "Dropout", "rate": self.rate}

    def _core_spec(self) -> _core.LayerSpec:
        return _core.LayerSpec("dropout", rate=self.rate)


def check_layer_order(layers: Sequence[Layer]) -> None:
    """ValueError, naming the layer, for a layer where its kind may not stand (``check_position``:
    a softmax activation anywhere but on the last layer)."""
    for i, layer in enumerate(layers):
        layer.check_position(i, len(layers))


def check_layer_stack(layers: Sequence[Layer]) -> None:
    """ValueError unless `layers` can form a model: at least one Dense layer (the model's output
    width is the last one's units), and every layer where its kind may stand."""
    if not any(isinstance(layer, Dense) for layer in layers):
        raise ValueError("layers has no Dense layer; it must contain at least one fm.Dense layer")
    check_layer_order(layers)


def tensor_table(layers: Sequence[Layer], input_dim: int) -> TensorTable:
    """The tensors of a stack of layers taking `input_dim` features, named as in saved files and
    ONNX exports: ``layers.{i}.weight`` / ``.bias`` / ``.running_mean`` / ``.running_var`` /
    ``.num_batches_tracked`` (i the index in `layers`), with their shapes and, in ``dtypes``, the
    dtype of those that are not float32; parameters in ``parameters()`` order, then buffers in
    ``buffers()`` order. Nothing is allocated (shapes are Python ints), so it also sizes models too
    large to build."""
    parameters: List[TensorSpec] = []
    buffers: List[TensorSpec] = []
    dtypes: Dict[str, str] = {}
    width = input_dim
    for i, layer in enumerate(layers):
        own = layer.tensors(width)
        parameters += [(f"layers.{i}.{name}", shape) for name, shape in own.parameters]
        buffers += [(f"layers.{i}.{name}", shape) for name, shape in own.buffers]
        for name, _ in own.parameters + own.buffers:
            if layer.tensor_dtype(name) != DEFAULT_DTYPE:
                dtypes[f"layers.{i}.{name}"] = layer.tensor_dtype(name)
        width = layer.output_width(width)
    return TensorTable(parameters, buffers, dtypes)


def tensors_by_layer(
    layers: Sequence[Layer], input_dim: int, arrays: Sequence[np.ndarray]
) -> List[Dict[str, np.ndarray]]:
    """`arrays` laid out as ``parameters() + buffers()`` of a model of `layers` taking `input_dim`
    features, grouped per layer: ``[{name relative to the layer ("weight", "running_mean", ...):
    array}, ...]``, one dict per layer (empty for a layer without tensors). AssertionError when
    the arrays' shapes are not the tensor table's (a bug, not a user error)."""
    table = tensor_table(layers, input_dim)
    entries = table.parameters + table.buffers
    if [tuple(a.shape) for a in arrays] != [shape for _, shape in entries]:
        raise AssertionError(f"tensors of shapes {[a.shape for a in arrays]} do not match the tensor table {entries}")
    grouped: List[Dict[str, np.ndarray]] = [{} for _ in layers]
    for (name, _), array in zip(entries, arrays):
        _, index, own = name.split(".", 2)
        grouped[int(index)][own] = array
    return grouped


def _check_eps(eps: Any) -> float:
    return positive_float32("eps", eps)


def _affine(width: int) -> List[TensorSpec]:
    """A normalisation layer's gamma and beta, named as PyTorch names them."""
    return [("weight", (width,)), ("bias", (width,))]


@register
class LayerNorm(Layer):
    """Layer normalisation over the features of each sample, as ``torch.nn.LayerNorm(features)``:
    ``y = (x - mean) / sqrt(var + eps) * gamma + beta`` with the mean and biased variance of each
    row. Input and output (batch, features) float32; the same in training and inference.
    gamma (features,) starts at 1 and beta (features,) at 0; with ``elementwise_affine=False``
    there are none. They are trainable parameters, after the previous layer's in ``parameters()``.
    """

    config_keys = ("eps", "elementwise_affine")

    def __init__(self, eps: float = 1e-5, elementwise_affine: bool = True) -> None:
        self.eps = _check_eps(eps)
        self.elementwise_affine = check_bool("elementwise_affine", elementwise_affine)

    def tensors(self, input_width: int) -> TensorTable:
        """gamma ("weight") and beta ("bias"), (input_width,) each, with elementwise_affine."""
        return TensorTable(_affine(input_width) if self.elementwise_affine else [], [])

    def activation_values(self, input_width: int) -> int:
        """The output and each row's mean and 1/std."""
        return input_width + 2

    def get_config(self) -> Dict[str, Any]:
        return {"type": "LayerNorm", "eps": self.eps, "elementwise_affine": self.elementwise_affine}

    def _core_spec(self) -> _core.LayerSpec:
        return _core.LayerSpec("layer_norm", eps=self.eps, affine=self.elementwise_affine)


@register
class BatchNorm(Layer):
    """Batch normalisation of each feature, as ``torch.nn.BatchNorm1d(features)``.

    Input and output (batch, features) float32. In training (``fit``, ``train_step``) each feature
    is normalised with the batch's mean and biased variance, ``y = (x - mean) / sqrt(var + eps) *
    gamma + beta``, and the running statistics move toward the batch's:
    ``running = (1 - momentum) * running + momentum * batch`` (the variance unbiased); a batch of one
    sample raises ValueError, as PyTorch. ``momentum=None`` is PyTorch's cumulative moving average:
    each training step increments the layer's ``num_batches_tracked`` and uses the factor
    ``1 / num_batches_tracked``, so after k steps the running statistics are the plain average of
    the k batches' statistics. In ``predict``/``evaluate`` the running statistics are
    used (with ``track_running_stats=False``, the statistics of all of X). gamma/beta (features,)
    start at 1/0 and are trainable parameters (none when ``affine=False``); running_mean (0) and
    running_var (1), and with ``momentum=None`` num_batches_tracked (a 0-d int64, 0), are
    non-trainable buffers in ``model.buffers()``, saved with the model. A step that diverges leaves
    them unchanged, like the weights.
    """

    config_keys = ("momentum", "eps", "affine", "track_running_stats")
    tensor_dtypes = {"num_batches_tracked": "I64"}

    def __init__(
        self, momentum: Optional[float] = 0.1, eps: float = 1e-5, affine: bool = True, track_running_stats: bool = True
    ) -> None:
        if momentum is not None and (isinstance(momentum, bool) or not isinstance(momentum, numbers.Real)):
            raise TypeError(f"momentum must be a number or None (a cumulative average), got {momentum!r}")
        self.momentum: Optional[float] = None if momentum is None else number_in("momentum", momentum, 0.0, 1.0)
        self.eps = _check_eps(eps)
        self.affine = check_bool("affine", affine)
        self.track_running_stats = check_bool("track_running_stats", track_running_stats)

    def tensors(self, input_width: int) -> TensorTable:
        """gamma ("weight") and beta ("bias") with affine; running_mean and running_var buffers
        with track_running_stats; (input_width,) each; then, with momentum=None too, the int64
        counter num_batches_tracked, shape () (as PyTorch's)."""
        parameters = _affine(input_width) if self.affine else []
        buffers: List[TensorSpec] = []
        if self.track_running_stats:
            buffers = [("running_mean", (input_width,)), ("running_var", (input_width,))]
            if self.momentum is None:
                buffers.append(("num_batches_tracked", ()))
        return TensorTable(parameters, buffers)

    def get_config(self) -> Dict[str, Any]:
        return {
            "type": "BatchNorm",
            "momentum": self.momentum,
            "eps": self.eps,
            "affine": self.affine,
            "track_running_stats": self.track_running_stats,
        }

    def _core_spec(self) -> _core.LayerSpec:
        return _core.LayerSpec(
            "batch_norm", momentum=self.momentum, eps=self.eps, affine=self.affine,
            track_running_stats=self.track_running_stats,
        )


@register
class Activation(Layer):
    """An activation on its own, ``y = activation(x)``: the same functions as ``Dense``'s
    ``activation`` argument (a name, an ``fm.activations`` object or its config), for where no Dense
    comes just before, e.g. after a normalisation (``Dense(64), BatchNorm(), Activation("relu")``).
    Input and output (batch, features) float32; no parameters. ``Dense(u) + Activation(a)`` trains
    exactly (bit for bit) as ``Dense(u, activation=a)``. ``"softmax"`` (per row) only as the last
    layer, where cross_entropy fuses it as it does a Dense's softmax."""

    config_keys = ("activation",)

    def __init__(self, activation: Union[str, _activations.Activation, Mapping[str, Any], None]) -> None:
        self.activation = _activations.get(activation)

    def check_position(self, index: int, n_layers: int) -> None:
        """A softmax is allowed only on the last layer, the model's output."""
        _check_softmax_is_last("Activation('softmax')", self.activation, index, n_layers)

    def summary_kind(self) -> str:
        return f"Activation, {self.activation.name}"

    def get_config(self) -> Dict[str, Any]:
        return {"type": "Activation", "activation": _activations.to_config(self.activation)}

    def _core_spec(self) -> _core.LayerSpec:
        return _core.LayerSpec("activation", activation=self.activation.name, activation_params=self.activation._params())


def from_config(config: Mapping[str, Any], name: str = "config") -> Layer:
    """Rebuilds a layer from its ``get_config()`` dictionary, through the class registered for its
    "type". Strict (see ``Layer.from_config``): errors name `name` (e.g. ``"layers[2]"``) and the key."""
    kind = check_mapping(name, config).get("type")
    cls = _LAYER_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"{name} has unknown layer type {kind!r}; expected one of: {', '.join(_LAYER_TYPES)}")
    return cls.from_config(config, name)
