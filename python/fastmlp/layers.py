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
import weakref
from typing import Any, ClassVar, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Type, TypeVar, Union

import numpy as np

from . import _core
from . import activations as _activations
from . import initializers as _initializers
from . import regularizers as _regularizers
from ._validation import (
    as_numeric_array,
    check_bool,
    check_keys,
    check_mapping,
    in_context,
    number_in,
    positive_float32,
    positive_int,
)

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
    "check_input_dim_position",
    "register",
    "layer_types",
    "kind_lookup",
    "tensor_table",
    "tensors_by_layer",
    "TensorTable",
    "KerasWeight",
    "keras_weights",
    "get_keras_weights",
    "set_keras_weights",
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


class KerasWeight(NamedTuple):
    """One array of a layer's ``get_weights()``, in Keras's order and layout: the layer's tensor
    `tensor` (``"weight"``, ``"running_var"``, ...), its Keras name (``"kernel"``, ``"gamma"``,
    ``"moving_variance"``, ...), its `shape` in Keras's layout, whether that layout is the
    transpose of fastmlp's (a Dense kernel: Keras ``(in, out)``, fastmlp/PyTorch ``(out, in)``), and
    its NumPy `dtype` (float32, or int64 for BatchNorm's ``num_batches_tracked``)."""

    tensor: str
    keras_name: str
    shape: Tuple[int, ...]
    transposed: bool
    dtype: "np.dtype[Any]"


#: The NumPy dtype of each safetensors dtype a layer tensor may have.
_NUMPY_DTYPES: Mapping[str, "np.dtype[Any]"] = {"F32": np.dtype(np.float32), "I64": np.dtype(np.int64)}


def _input_dim_argument(input_dim: Any) -> Optional[int]:
    """A layer's ``input_dim=`` argument: None or a positive integer."""
    return None if input_dim is None else positive_int("input_dim", input_dim)


class Layer:
    """Base class of layers; the defaults describe an element-wise layer without tensors.

    Every layer kind takes ``input_dim=`` (Keras's spelling) for the first layer of a model: the
    number of input features, which the model takes as its own ``input_dim`` (only the first layer
    may carry one). It is part of the layer's ``get_config()`` when given, but a model's
    configuration (and so its files) holds it once, as the model's ``input_dim``.

    A layer added to a model is bound to it (a weak reference): ``layer.get_weights()`` and
    ``layer.set_weights()`` then read and write that model's weights. A layer already in a model
    that is given to another one is copied (fastmlp layers are descriptions and the weights belong
    to the model), so ``model.layers[i]`` is always bound to ``model``.
    """

    #: Keys besides "type" that get_config always writes and from_config requires.
    config_keys: ClassVar[Tuple[str, ...]] = ()
    #: Keys get_config writes only when not the default; from_config accepts them ("input_dim"
    #: for every kind here).
    optional_config_keys: ClassVar[Tuple[str, ...]] = ()
    #: {tensor name relative to the layer: safetensors dtype} for tensors that are not float32
    #: ("F32", the default): e.g. BatchNorm's int64 num_batches_tracked ("I64").
    tensor_dtypes: ClassVar[Mapping[str, str]] = {}
    #: {tensor name relative to the layer: Keras's name for it} where they differ ("weight" is a
    #: Dense's "kernel" and a normalisation's "gamma"); see ``keras_weights``.
    keras_names: ClassVar[Mapping[str, str]] = {}
    #: The tensors whose Keras layout is the transpose of fastmlp's (a Dense's "weight").
    keras_transposed: ClassVar[Tuple[str, ...]] = ()

    #: The model's number of input features, when this (first) layer declares it.
    input_dim: Optional[int] = None
    #: The model this layer belongs to (a weak reference), set when it is added to one.
    _owner: Optional["weakref.ReferenceType[Any]"] = None

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

    def get_config(self) -> Dict[str, Any]:
        """The layer's configuration as a JSON-friendly dictionary: ``{"type": class name, ...}``
        with ``"input_dim"`` when the layer declares one."""
        config = self._config()
        if self.input_dim is not None:
            config["input_dim"] = self.input_dim
        return config

    def _config(self) -> Dict[str, Any]:  # pragma: no cover - abstract
        """The configuration of the layer kind (get_config without input_dim)."""
        raise NotImplementedError

    def _core_spec(self) -> _core.LayerSpec:  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------ weights, in Keras's layout
    def keras_weights(self, input_width: int) -> List[KerasWeight]:
        """This layer's arrays in ``get_weights()`` for `input_width` input features, in Keras's
        order: its tensors in the core's order (Dense kernel, bias; LayerNorm gamma, beta;
        BatchNorm gamma, beta, moving_mean, moving_variance, then fastmlp's num_batches_tracked
        for ``momentum=None``), each named and shaped as Keras has it (a Dense kernel ``(in, out)``,
        the transpose of ``parameters()``'s ``(out, in)``)."""
        own = self.tensors(input_width)
        return [
            KerasWeight(
                name,
                self.keras_names.get(name, name),
                shape[::-1] if name in self.keras_transposed else shape,
                name in self.keras_transposed,
                _NUMPY_DTYPES[self.tensor_dtype(name)],
            )
            for name, shape in own.parameters + own.buffers
        ]

    def _place(self, what: str) -> Tuple[Any, int]:
        """(the model this layer belongs to, its index there); RuntimeError naming `what` and the
        fix when it belongs to none."""
        model = None if self._owner is None else self._owner()
        index = None if model is None else next((i for i, layer in enumerate(model.layers) if layer is self), None)
        if model is None or index is None:
            raise RuntimeError(
                f"{self!r} belongs to no model, so it has no weights to {what}: add it to a model "
                "(model.add(layer) or fm.Sequential([...])) and build the model (model.build(input_dim) or fit), "
                "then use model.layers[i]; or use model.get_weights() / model.set_weights()"
            )
        return model, index

    def get_weights(self) -> List[np.ndarray]:
        """Copies of this layer's weights in its model, in Keras's order and layout (see
        ``keras_weights``): ``[kernel (in, units), bias (units,)]`` for a Dense, ``[gamma, beta]``
        for a LayerNorm, ``[gamma, beta, moving_mean, moving_variance]`` for a BatchNorm (plus its
        int64 ``num_batches_tracked`` with ``momentum=None``), ``[]`` for a layer without weights.
        RuntimeError when the layer is in no model or the model is not built yet."""
        model, index = self._place("get")
        views = model.parameters() + model.buffers()  # builds a model whose input width is known
        return get_keras_weights(model.layers, model.input_dim, views, index)

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Writes `weights` (as ``get_weights()`` returns them: Keras's order and layout) into this
        layer's weights in its model. Everything is checked before anything is written (number of
        arrays, shapes, dtypes, finite values): see ``Sequential.set_weights``."""
        model, index = self._place("set")
        views = model.parameters() + model.buffers()  # builds a model whose input width is known
        set_keras_weights(model.layers, model.input_dim, views, weights, index)

    def _bind(self, model: Any) -> None:
        """Makes `model` (a weak reference) the model this layer belongs to."""
        self._owner = weakref.ref(model)

    def _owner_model(self) -> Any:
        """The model this layer was bound to, if it still exists and still holds this layer."""
        model = None if self._owner is None else self._owner()
        return model if model is not None and any(layer is self for layer in model.layers) else None

    def __getstate__(self) -> Dict[str, Any]:
        """Pickled and copied without its model: a copy of a layer belongs to no model."""
        state = dict(self.__dict__)
        state.pop("_owner", None)
        return state

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
    optional_config_keys = ("activation", "kernel_init", "bias_init", "kernel_regularizer", "input_dim")
    keras_names = {"weight": "kernel"}
    keras_transposed = ("weight",)

    def __init__(
        self,
        units: int,
        activation: Union[str, _activations.Activation, Mapping[str, Any], None] = None,
        kernel_init: Optional[str] = None,
        bias_init: Optional[str] = None,
        kernel_regularizer: Union[str, _regularizers.Regularizer, None] = None,
        *,
        input_dim: Optional[int] = None,
    ) -> None:
        self.units = positive_int("units", units)
        self.input_dim = _input_dim_argument(input_dim)
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

    def _config(self) -> Dict[str, Any]:
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
    optional_config_keys = ("input_dim",)

    def __init__(self, rate: float, *, input_dim: Optional[int] = None) -> None:
        self.rate = number_in("rate", rate, 0.0, 1.0, high_open=True)
        self.input_dim = _input_dim_argument(input_dim)

    def activation_values(self, input_width: int) -> int:
        """The output and the mask."""
        return 2 * input_width

    def _config(self) -> Dict[str, Any]:
        return {"type": "Dropout", "rate": self.rate}

    def _core_spec(self) -> _core.LayerSpec:
        return _core.LayerSpec("dropout", rate=self.rate)


def check_layer_order(layers: Sequence[Layer]) -> None:
    """ValueError, naming the layer, for a layer where its kind may not stand (``check_position``:
    a softmax activation anywhere but on the last layer)."""
    for i, layer in enumerate(layers):
        layer.check_position(i, len(layers))


def check_input_dim_position(layer: Layer, index: int) -> None:
    """ValueError, naming ``layers[index]``, when `layer` declares ``input_dim`` but is not the
    first layer: only the first layer may give the model's number of input features."""
    if index > 0 and layer.input_dim is not None:
        raise ValueError(
            f"layers[{index}] ({layer!r}) has input_dim={layer.input_dim}, but only the first layer may give "
            f"input_dim, the model's number of input features (layers[{index}] takes layers[{index - 1}]'s output): "
            "remove it"
        )


def check_layer_stack(layers: Sequence[Layer]) -> None:
    """ValueError unless `layers` can form a model: at least one Dense layer (the model's output
    width is the last one's units), ``input_dim`` on no layer but the first, and every layer where
    its kind may stand."""
    if not any(isinstance(layer, Dense) for layer in layers):
        raise ValueError("layers has no Dense layer; it must contain at least one fm.Dense layer")
    for i, layer in enumerate(layers):
        check_input_dim_position(layer, i)
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


class _KerasEntry(NamedTuple):
    """One array of a model's ``get_weights()``: the index of its layer, the layer, its
    ``KerasWeight``, and its position among the model's ``parameters() + buffers()``."""

    layer_index: int
    layer: Layer
    weight: KerasWeight
    view_index: int

    @property
    def label(self) -> str:
        """How messages name it: ``layers[0] (Dense) kernel``."""
        return f"layers[{self.layer_index}] ({type(self.layer).__name__}) {self.weight.keras_name}"


def keras_weights(layers: Sequence[Layer], input_dim: int) -> List[Tuple[int, KerasWeight]]:
    """The arrays of ``get_weights()`` for a stack of `layers` taking `input_dim` features, in
    Keras's order: (layer index, ``KerasWeight``) layer by layer (see ``Layer.keras_weights``)."""
    return [(entry.layer_index, entry.weight) for entry in _keras_entries(layers, input_dim)]


def _keras_entries(layers: Sequence[Layer], input_dim: int, only: Optional[int] = None) -> List[_KerasEntry]:
    """keras_weights with each array's layer and position among ``parameters() + buffers()``;
    only the layer at index `only` when given."""
    table = tensor_table(layers, input_dim)
    positions = {name: k for k, (name, _) in enumerate(table.parameters + table.buffers)}
    entries: List[_KerasEntry] = []
    width = input_dim
    for i, layer in enumerate(layers):
        if only is None or only == i:
            entries += [_KerasEntry(i, layer, w, positions[f"layers.{i}.{w.tensor}"]) for w in layer.keras_weights(width)]
        width = layer.output_width(width)
    return entries


def get_keras_weights(
    layers: Sequence[Layer], input_dim: Optional[int], views: Sequence[np.ndarray], only: Optional[int] = None
) -> List[np.ndarray]:
    """Copies of a built model's weights in Keras's order and layout (``Sequential.get_weights``),
    from its `views` (``parameters() + buffers()``); the layer at index `only` alone when given.
    C-contiguous float32 arrays (a Dense kernel transposed to ``(in, out)``), int64 for
    num_batches_tracked."""
    assert input_dim is not None
    return [
        np.array(views[e.view_index].T if e.weight.transposed else views[e.view_index], dtype=e.weight.dtype, order="C")
        for e in _keras_entries(layers, input_dim, only)
    ]


def set_keras_weights(
    layers: Sequence[Layer],
    input_dim: Optional[int],
    views: Sequence[np.ndarray],
    weights: Any,
    only: Optional[int] = None,
) -> None:
    """Writes `weights`, in Keras's order and layout as ``get_keras_weights`` returns them, into a
    built model's `views` (``parameters() + buffers()``); the layer at index `only` alone when
    given. Every array is checked before anything is written: TypeError for a `weights` that is not
    a list or tuple, ValueError naming the array, its layer, and what was expected (see
    ``Sequential.set_weights``)."""
    assert input_dim is not None
    entries = _keras_entries(layers, input_dim, only)
    where = "set_weights" if only is None else f"layers[{only}] ({type(layers[only]).__name__}).set_weights"
    if isinstance(weights, (np.ndarray, str, bytes, Mapping)) or not isinstance(weights, (list, tuple)):
        raise TypeError(
            f"{where} takes a list of arrays, as get_weights() returns, got {type(weights).__name__}"
            + (" (wrap a single array in a list: [array])" if isinstance(weights, np.ndarray) else "")
        )
    if len(weights) != len(entries):
        expected = ", ".join(f"{e.label} {e.weight.shape}" for e in entries) or "none"
        raise ValueError(
            f"{where} expects {len(entries)} array(s) in get_weights()'s order, got {len(weights)}; "
            f"expected: {expected}"
        )
    arrays = [_checked_keras_array(f"weights[{k}] ({e.label})", e.weight, value) for k, (e, value) in
              enumerate(zip(entries, weights))]
    for e, array in zip(entries, arrays):
        views[e.view_index][...] = array.T if e.weight.transposed else array


def _checked_keras_array(name: str, weight: KerasWeight, value: Any) -> np.ndarray:
    """`value` as an array of `weight`'s shape (Keras's layout) and dtype, or ValueError naming
    `name`: a wrong shape, a dtype that is not a real number (bool, complex,
    strings, objects), NaN or infinite values, values beyond float32's range, a negative running
    variance, or a batch counter that is not a non-negative integer."""
    arr = as_numeric_array(name, value)
    if arr.dtype.kind == "b":
        raise ValueError(f"{name} must hold real numbers (float or integer dtype), got dtype bool")
    if arr.shape != weight.shape:
        hint = ""
        if weight.transposed and arr.shape == weight.shape[::-1]:
            hint = (
                f": that is its transpose, fastmlp's/PyTorch's (out, in) layout; get_weights() and set_weights() "
                f"use Keras's (in, out), so pass array.T (or write PyTorch-layout arrays into model.parameters())"
            )
        raise ValueError(f"{name} must have shape {weight.shape}, got {arr.shape}{hint}")
    if weight.dtype.kind == "i":  # num_batches_tracked
        if arr.dtype.kind not in "iu":
            raise ValueError(f"{name} must hold an integer (it counts training batches), got dtype {arr.dtype}")
        if bool((arr < 0).any()) or bool((arr > np.iinfo(np.int64).max).any()):
            raise ValueError(f"{name} must be a non-negative int64 count, got {arr.tolist()!r}")
        return arr.astype(np.int64)
    if arr.dtype.kind == "f" and not bool(np.isfinite(arr).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    with np.errstate(over="ignore"):
        converted = arr.astype(np.float32)
    if not bool(np.isfinite(converted).all()):
        raise ValueError(
            f"{name} holds values too large for float32 (largest magnitude {float(np.abs(arr).max()):.4g}; "
            f"float32 reaches about {float(np.finfo(np.float32).max):.4g})"
        )
    if weight.tensor == "running_var" and bool((converted < 0).any()):
        raise ValueError(f"{name} holds a negative variance {float(converted.min())!r}; variances are >= 0")
    return converted


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
    optional_config_keys = ("input_dim",)
    keras_names = {"weight": "gamma", "bias": "beta"}

    def __init__(self, eps: float = 1e-5, elementwise_affine: bool = True, *, input_dim: Optional[int] = None) -> None:
        self.eps = _check_eps(eps)
        self.elementwise_affine = check_bool("elementwise_affine", elementwise_affine)
        self.input_dim = _input_dim_argument(input_dim)

    def tensors(self, input_width: int) -> TensorTable:
        """gamma ("weight") and beta ("bias"), (input_width,) each, with elementwise_affine."""
        return TensorTable(_affine(input_width) if self.elementwise_affine else [], [])

    def activation_values(self, input_width: int) -> int:
        """The output and each row's mean and 1/std."""
        return input_width + 2

    def _config(self) -> Dict[str, Any]:
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
    optional_config_keys = ("input_dim",)
    tensor_dtypes = {"num_batches_tracked": "I64"}
    keras_names = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean", "running_var": "moving_variance"}

    def __init__(
        self,
        momentum: Optional[float] = 0.1,
        eps: float = 1e-5,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        input_dim: Optional[int] = None,
    ) -> None:
        if momentum is not None and (isinstance(momentum, bool) or not isinstance(momentum, numbers.Real)):
            raise TypeError(f"momentum must be a number or None (a cumulative average), got {momentum!r}")
        self.momentum: Optional[float] = None if momentum is None else number_in("momentum", momentum, 0.0, 1.0)
        self.eps = _check_eps(eps)
        self.affine = check_bool("affine", affine)
        self.track_running_stats = check_bool("track_running_stats", track_running_stats)
        self.input_dim = _input_dim_argument(input_dim)

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

    def _config(self) -> Dict[str, Any]:
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
    optional_config_keys = ("input_dim",)

    def __init__(
        self,
        activation: Union[str, _activations.Activation, Mapping[str, Any], None],
        *,
        input_dim: Optional[int] = None,
    ) -> None:
        self.activation = _activations.get(activation)
        self.input_dim = _input_dim_argument(input_dim)

    def check_position(self, index: int, n_layers: int) -> None:
        """A softmax is allowed only on the last layer, the model's output."""
        _check_softmax_is_last("Activation('softmax')", self.activation, index, n_layers)

    def summary_kind(self) -> str:
        return f"Activation, {self.activation.name}"

    def _config(self) -> Dict[str, Any]:
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
