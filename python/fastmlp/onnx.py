"""Export a trained ``fm.Sequential`` to an ONNX file: ``fm.onnx.export(model, "model.onnx")``.

The graph computes exactly what ``model.predict`` computes (inference mode):

* input ``"input"``: float32 ``(N, input_dim)``, ``N`` a symbolic batch dimension;
* output ``"output"``: float32 ``(N, outputs)``: logits for a linear output layer (e.g. trained with
  ``cross_entropy``), probabilities for a softmax one, as ``predict`` returns them.

Layers become standard ONNX operators (default opset :data:`DEFAULT_OPSET` = 20, the first with a
``Gelu`` operator; onnxruntime >= 1.17 runs it):

* ``Dense`` -> ``Gemm(input, W, b, transB=1)`` with W ``(units, in)`` as stored, then the
  activation: ``Relu``, ``LeakyRelu(alpha=negative_slope)``, ``Elu(alpha)``, ``Selu`` (PyTorch's
  alpha and scale), ``Gelu`` (``approximate="none"`` / ``"tanh"``; below opset 20 built from
  ``Erf``, resp. ``x * Sigmoid(2u)`` with ``u = sqrt(2/pi) (x + 0.044715 x^3)``), ``x * Sigmoid(x)``
  for SiLU, ``Where(beta*x > threshold, x, Softplus(beta*x) / beta)`` for Softplus (PyTorch's linear
  region included), ``Sigmoid``, ``Tanh``, ``Softmax(axis=-1)``; nothing for the identity;
* ``Dropout`` -> nothing (the identity at inference);
* ``LayerNorm`` -> ``LayerNormalization(axis=-1, epsilon=eps)`` (gamma/beta = 1/0 without
  ``elementwise_affine``);
* ``BatchNorm`` (``track_running_stats=True``) -> ``BatchNormalization`` in inference mode with the
  running statistics (gamma/beta = 1/0 without ``affine``);
* ``BatchNorm(track_running_stats=False)``: ``predict`` normalises with the mean and biased
  variance of all of X, so the graph does too, with ``ReduceMean`` over the batch axis: its output
  depends on the whole batch given to the session, as ``predict``'s does. One difference:
  ``predict`` refuses a batch of one sample (ValueError) while the graph returns beta for it (the
  variance of one sample is 0).

Needs the optional ``onnx`` package (``pip install "fastmlp[onnx]"``); onnxruntime is only needed to
run the file.
"""

from __future__ import annotations

import math
import os
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import activations as _activations
from ._atomic import write_atomically
from .layers import Activation, BatchNorm, Dense, Dropout, Layer, LayerNorm, kind_lookup, tensors_by_layer

__all__ = ["export", "DEFAULT_OPSET", "MIN_OPSET"]

#: The opset written when ``export`` is not given one: the first with a ``Gelu`` operator (ONNX
#: 1.15, onnxruntime 1.17); lowered to the installed ``onnx`` package's newest if that is older.
DEFAULT_OPSET = 20
#: The oldest opset ``export`` writes: the first with ``LayerNormalization``.
MIN_OPSET = 17

_PROTOBUF_LIMIT = 2**31 - 1  # a serialized ModelProto must stay below 2 GiB

# SELU's constants, as in PyTorch (ONNX's defaults are the same numbers rounded to float32).
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946

# Every activation _activation() translates (all of fm.activations.NAMES).
_SUPPORTED_ACTIVATIONS = frozenset(
    ("identity", "relu", "leaky_relu", "elu", "selu", "gelu", "gelu_tanh", "silu", "softplus", "sigmoid", "tanh",
     "softmax")
)

PathLike = Union[str, "os.PathLike[str]"]


def _import_onnx() -> Any:
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "fm.onnx.export needs the optional 'onnx' package: pip install \"fastmlp[onnx]\" (or pip install onnx)"
        ) from exc
    return onnx


def _check_opset(onnx: Any, opset: Any) -> int:
    from ._validation import is_int

    newest = int(onnx.defs.onnx_opset_version())
    if opset is None:
        return min(DEFAULT_OPSET, newest)
    if not is_int(opset):
        raise TypeError(f"opset must be an int between {MIN_OPSET} and {newest} or None, got {type(opset).__name__}")
    value = int(opset)
    if not MIN_OPSET <= value <= newest:
        raise ValueError(
            f"opset must be between {MIN_OPSET} (LayerNormalization) and {newest} (the newest the installed "
            f"onnx {onnx.__version__} knows), got {value}"
        )
    return value


class _GraphBuilder:
    """Collects nodes and initializers (float32 constants) with unique names."""

    def __init__(self, onnx: Any, opset: int) -> None:
        self.onnx = onnx
        self.helper = onnx.helper
        self.opset = opset
        self.nodes: List[Any] = []
        self.initializers: List[Any] = []
        self._names: Dict[str, int] = {}

    def _unique(self, name: str) -> str:
        count = self._names.get(name, 0)
        self._names[name] = count + 1
        return name if count == 0 else f"{name}_{count}"

    def constant(self, name: str, value: Union[np.ndarray, float, Sequence[int]], dtype: Any = np.float32) -> str:
        """An initializer holding `value` (float32 unless `dtype` says otherwise); returns its name."""
        name = self._unique(name)
        array = np.array(value, dtype=dtype)  # a copy: the model's views may change after export
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name=name))
        return name

    def node(self, op: str, inputs: Sequence[str], prefix: str, **attributes: Any) -> str:
        """Appends ``op(inputs)`` with one output; returns the output's name."""
        name = self._unique(f"{prefix}/{op}")
        output = name
        self.nodes.append(self.helper.make_node(op, list(inputs), [output], name=name, **attributes))
        return output


def _activation(g: _GraphBuilder, act: _activations.Activation, x: str, prefix: str) -> str:
    """Nodes computing `act` on tensor `x` (N, units); returns the result's name."""
    kind = act.name
    params = act._params()
    if kind == "identity":
        return x
    if kind == "relu":
        return g.node("Relu", [x], prefix)
    if kind == "leaky_relu":
        return g.node("LeakyRelu", [x], prefix, alpha=float(params["negative_slope"]))
    if kind == "elu":
        return g.node("Elu", [x], prefix, alpha=float(params["alpha"]))
    if kind == "selu":
        return g.node("Selu", [x], prefix, alpha=_SELU_ALPHA, gamma=_SELU_SCALE)
    if kind in ("gelu", "gelu_tanh"):
        approximate = "tanh" if kind == "gelu_tanh" else "none"
        if g.opset >= 20:
            return g.node("Gelu", [x], prefix, approximate=approximate)
        if approximate == "none":  # x * (1 + erf(x / sqrt(2))) / 2
            scaled = g.node("Mul", [x, g.constant(f"{prefix}/sqrt_half", math.sqrt(0.5))], prefix)
            erf = g.node("Erf", [scaled], prefix)
            one_plus = g.node("Add", [erf, g.constant(f"{prefix}/one", 1.0)], prefix)
            half_x = g.node("Mul", [x, g.constant(f"{prefix}/half", 0.5)], prefix)
            return g.node("Mul", [half_x, one_plus], prefix)
        # x * (1 + tanh(u)) / 2 = x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3), as the core
        # computes it (no cancellation for negative x).
        cube = g.node("Mul", [g.node("Mul", [x, x], prefix), x], prefix)
        inner = g.node("Add", [x, g.node("Mul", [cube, g.constant(f"{prefix}/cubic", 0.044715)], prefix)], prefix)
        two_sqrt_2_over_pi = g.constant(f"{prefix}/two_sqrt_2_over_pi", 2.0 * math.sqrt(2.0 / math.pi))
        two_u = g.node("Mul", [inner, two_sqrt_2_over_pi], prefix)
        return g.node("Mul", [x, g.node("Sigmoid", [two_u], prefix)], prefix)
    if kind == "silu":
        return g.node("Mul", [x, g.node("Sigmoid", [x], prefix)], prefix)
    if kind == "softplus":
        # PyTorch's definition: x where beta * x > threshold, else log(1 + exp(beta x)) / beta
        # (ONNX's Softplus is log(exp(z) + 1), evaluated stably by onnxruntime).
        beta = g.constant(f"{prefix}/beta", params["beta"])
        bx = g.node("Mul", [x, beta], prefix)
        soft = g.node("Div", [g.node("Softplus", [bx], prefix), beta], prefix)
        linear = g.node("Greater", [bx, g.constant(f"{prefix}/threshold", params["threshold"])], prefix)
        return g.node("Where", [linear, x, soft], prefix)
    if kind == "sigmoid":
        return g.node("Sigmoid", [x], prefix)
    if kind == "tanh":
        return g.node("Tanh", [x], prefix)
    if kind == "softmax":
        return g.node("Softmax", [x], prefix, axis=-1)
    raise ValueError(
        f"{prefix}: activation {act!r} (name {kind!r}) has no ONNX export; supported: {', '.join(_activations.NAMES)}"
    )


def _reduce_mean_rows(g: _GraphBuilder, x: str, prefix: str) -> str:
    """Mean over the batch axis, keeping it: (N, F) -> (1, F). Axes are an input from opset 18."""
    if g.opset >= 18:
        axes = g.constant(f"{prefix}/axes", [0], dtype=np.int64)
        return g.node("ReduceMean", [x, axes], prefix, keepdims=1)
    return g.node("ReduceMean", [x], prefix, axes=[0], keepdims=1)


def _describe(i: int, layer: Layer) -> str:
    try:
        text = repr(layer)
    except Exception:  # a custom Layer whose get_config is not implemented
        text = type(layer).__name__
    return f"layers[{i}] ({text})"


# An exporter appends the nodes of one layer: (graph, layer, input tensor name, prefix "layers.{i}",
# input width, the layer's tensors by their names relative to it) -> the output tensor's name.
_Exporter = Callable[[_GraphBuilder, Any, str, str, int, Mapping[str, np.ndarray]], str]


def _dense(
    g: _GraphBuilder, layer: Dense, x: str, prefix: str, width: int, tensors: Mapping[str, np.ndarray]
) -> str:
    w = g.constant(f"{prefix}.weight", tensors["weight"])
    c = g.constant(f"{prefix}.bias", tensors["bias"])
    return _activation(g, layer.activation, g.node("Gemm", [x, w, c], prefix, transB=1), prefix)


def _dropout(
    g: _GraphBuilder, layer: Dropout, x: str, prefix: str, width: int, tensors: Mapping[str, np.ndarray]
) -> str:
    return x


def _gamma_beta(g: _GraphBuilder, prefix: str, width: int, tensors: Mapping[str, np.ndarray]) -> Tuple[str, str]:
    """A norm layer's gamma and beta constants; 1 and 0 (width,) for a layer without them."""
    gamma = tensors.get("weight", np.ones(width, np.float32))
    beta = tensors.get("bias", np.zeros(width, np.float32))
    return g.constant(f"{prefix}.weight", gamma), g.constant(f"{prefix}.bias", beta)


def _layer_norm(
    g: _GraphBuilder, layer: LayerNorm, x: str, prefix: str, width: int, tensors: Mapping[str, np.ndarray]
) -> str:
    gamma, beta = _gamma_beta(g, prefix, width, tensors)
    return g.node("LayerNormalization", [x, gamma, beta], prefix, axis=-1, epsilon=float(layer.eps))


def _batch_norm(
    g: _GraphBuilder, layer: BatchNorm, x: str, prefix: str, width: int, tensors: Mapping[str, np.ndarray]
) -> str:
    scale, shift = _gamma_beta(g, prefix, width, tensors)
    if layer.track_running_stats:
        mean = g.constant(f"{prefix}.running_mean", tensors["running_mean"])
        var = g.constant(f"{prefix}.running_var", tensors["running_var"])
        return g.node("BatchNormalization", [x, scale, shift, mean, var], prefix, epsilon=float(layer.eps))
    # the statistics of the whole batch (biased variance), as predict
    centred = g.node("Sub", [x, _reduce_mean_rows(g, x, prefix)], prefix)
    var = _reduce_mean_rows(g, g.node("Mul", [centred, centred], prefix), prefix)
    std = g.node("Sqrt", [g.node("Add", [var, g.constant(f"{prefix}/eps", layer.eps)], prefix)], prefix)
    normed = g.node("Div", [centred, std], prefix)
    return g.node("Add", [g.node("Mul", [normed, scale], prefix), shift], prefix)


def _activation_layer(
    g: _GraphBuilder, layer: Activation, x: str, prefix: str, width: int, tensors: Mapping[str, np.ndarray]
) -> str:
    return _activation(g, layer.activation, x, prefix)


_EXPORTERS: Dict[type, _Exporter] = {
    Dense: _dense, Dropout: _dropout, LayerNorm: _layer_norm, BatchNorm: _batch_norm, Activation: _activation_layer,
}


def _exporter(i: int, layer: Layer) -> _Exporter:
    """The exporter of `layer`'s kind (or of the nearest base class that has one)."""
    exporter = kind_lookup(_EXPORTERS, layer)
    if exporter is not None:
        return exporter
    raise ValueError(
        f"{_describe(i, layer)}: layer type {type(layer).__name__} has no ONNX export; "
        f"supported: {', '.join(cls.__name__ for cls in _EXPORTERS)}"
    )


def _build_graph(g: _GraphBuilder, model: Any, params: List[np.ndarray], buffers: List[np.ndarray]) -> str:
    """Appends every layer's nodes to `g`; returns the name of the last tensor."""
    x = "input"
    width = int(model.input_dim)
    for i, (layer, tensors) in enumerate(zip(model.layers, tensors_by_layer(model.layers, width, params + buffers))):
        x = _exporter(i, layer)(g, layer, x, f"layers.{i}", width, tensors)
        width = layer.output_width(width)
    return x


def _write_bytes(data: bytes, path: str) -> None:
    with open(path, "wb") as f:
        f.write(data)


def export(model: Any, path: PathLike, opset: Optional[int] = None) -> None:
    """Writes `model` as an ONNX file computing what ``model.predict`` computes.

    The graph takes ``"input"``, float32 ``(N, model.input_dim)`` with a symbolic batch dimension
    ``N``, and returns ``"output"``, float32 ``(N, outputs)``; weights are stored as float32
    initializers named as in ``model.save`` (``layers.{i}.weight``, ``.bias``, ``.running_mean``,
    ``.running_var``). See the module docstring for the operators used. The model is checked with
    ``onnx.checker.check_model`` (full check, shape inference included) before anything is
    written; the file is written atomically (temporary file in the same directory, fsync, one
    rename), so on any failure `path` keeps its previous content.

    Args:
        model: a built ``fm.Sequential`` (``input_dim`` given, or after ``fit``/``predict``).
        path: the file to write (str or os.PathLike), replaced if it exists.
        opset: the ONNX opset (default opset ``DEFAULT_OPSET`` = 20); any from ``MIN_OPSET`` = 17
            (``LayerNormalization``) to the newest the installed ``onnx`` knows. Below 20, GELU is
            built from ``Erf`` / ``Sigmoid``.

    Raises:
        TypeError: `model` is not an ``fm.Sequential``, or `opset` not an int.
        RuntimeError: the model is not built yet (no weights).
        ValueError: `path` ends in the suffix of another format (``.safetensors``, ``.h5``, ``.pt``,
            ...; see ``fm.io.check_save_path``), a layer or activation without an ONNX export (the
            message names it), an opset out of range, NaN or infinite weights (a diverged model; as
            ``save``, nothing is written), or weights beyond protobuf's 2 GiB limit.
        OSError: the file cannot be written; the message names `path`.
        ImportError: the ``onnx`` package is not installed.
    """
    from .model import Sequential

    from ._validation import check_save_path, not_an_instance_error

    if not isinstance(model, Sequential):
        raise not_an_instance_error("model", model, "an fm.Sequential")
    path = check_save_path("path", path, ".onnx")
    if model.input_dim is None:  # not built
        raise RuntimeError(
            f"cannot export the model to {path!r}: it has no weights yet; give Sequential (or the first layer) "
            "an input_dim, call model.build(input_dim), or fit/predict first"
        )
    onnx = _import_onnx()
    opset = _check_opset(onnx, opset)
    for i, layer in enumerate(model.layers):  # name an unsupported layer before touching weights
        _exporter(i, layer)
        if isinstance(layer, Dense) and layer.activation.name not in _SUPPORTED_ACTIVATIONS:
            raise ValueError(
                f"{_describe(i, layer)}: activation {layer.activation!r} (name {layer.activation.name!r}) has no "
                f"ONNX export; supported: {', '.join(sorted(_SUPPORTED_ACTIVATIONS))}"
            )
    params = [np.array(v, dtype=np.float32) for v in model.parameters()]
    buffers = [np.array(v, dtype=np.float32) for v in model.buffers()]
    for k, array in enumerate(params + buffers):
        if not np.all(np.isfinite(array)):
            kind = f"parameters()[{k}]" if k < len(params) else f"buffers()[{k - len(params)}]"
            raise ValueError(
                f"cannot export the model to {path!r}: {kind} {array.shape} contains NaN or infinite values "
                "(a diverged model)"
            )
    size = sum(a.nbytes for a in params) + sum(a.nbytes for a in buffers)
    if size >= _PROTOBUF_LIMIT:
        raise ValueError(
            f"cannot export the model to {path!r}: its {size} bytes of weights exceed protobuf's 2 GiB limit "
            "for one ONNX file (external data is not supported)"
        )

    g = _GraphBuilder(onnx, opset)
    last = _build_graph(g, model, params, buffers)
    helper = onnx.helper
    if last == "input":  # unreachable (a model has a Dense layer), but keep the graph well formed
        last = g.node("Identity", [last], "output")
    for node in g.nodes:  # rename the final tensor "output"
        for k, name in enumerate(node.output):
            if name == last:
                node.output[k] = "output"
    graph = helper.make_graph(
        g.nodes,
        "fastmlp_sequential",
        [helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, ["N", int(model.input_dim)])],
        [helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT, ["N", int(model.output_dim)])],
        initializer=g.initializers,
    )
    from . import __version__

    opset_imports = [helper.make_opsetid("", opset)]
    proto = helper.make_model(
        graph,
        opset_imports=opset_imports,
        producer_name="fastmlp",
        producer_version=__version__,
        doc_string=f"fastmlp Sequential: {model!r}",
    )
    # The oldest IR version that can hold this opset, so older runtimes can load the file.
    proto.ir_version = helper.find_min_ir_version_for(opset_imports)
    onnx.checker.check_model(proto, full_check=True)
    data = proto.SerializeToString()
    write_atomically(path, lambda tmp: _write_bytes(data, tmp), "export the model to ONNX")
