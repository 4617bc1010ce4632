"""PyTorch interop: build an ``fm.Sequential`` from a ``torch.nn.Sequential`` and back.

    model = fm.from_torch(torch_net, seed=0)   # copies the weights (float32) and running statistics
    net = fm.to_torch(model)                    # a float32 torch.nn.Sequential in eval mode

Supported ``torch.nn`` modules and what they become:

- ``Linear(in, out)`` -> ``Dense(out)`` (``bias=False``: a zero bias);
- ``ReLU``, ``LeakyReLU(negative_slope)``, ``ELU(alpha)``, ``SELU``, ``GELU(approximate="none" |
  "tanh")``, ``SiLU``, ``Softplus(beta, threshold)``, ``Sigmoid``, ``Tanh`` -> the activation of
  the Dense just before it (``fm.activations``), or an ``Activation`` layer where no Linear comes
  just before (first, after a norm layer, a Dropout or another activation); ``Softmax(dim=-1 or
  1)`` likewise, as the last module only;
- ``Dropout(p)`` -> ``Dropout(p)``;
- ``LayerNorm((features,), eps, elementwise_affine)`` -> ``LayerNorm(eps, elementwise_affine)``
  (``bias=False``: a zero beta);
- ``BatchNorm1d(features, eps, momentum, affine, track_running_stats)`` -> ``BatchNorm`` with the
  same values; ``momentum=None`` (PyTorch's cumulative moving average) -> ``BatchNorm(momentum=None)``
  with its ``num_batches_tracked`` copied;
- ``Identity`` and ``Flatten()`` (start_dim=1, end_dim=-1) -> nothing: both are no-ops on the
  (batch, features) tensors of an MLP.

Nested ``torch.nn.Sequential`` containers are flattened. ``Linear, Dropout, ReLU`` becomes
``Dense(relu), Dropout`` (ReLU and LeakyReLU commute with dropout exactly); any other activation
after a Dropout becomes an ``Activation`` layer there. torch is an optional dependency, imported
only when these functions run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Tuple

import numpy as np

from . import activations as _act
from ._validation import non_negative_int, positive_int
from .layers import Activation, BatchNorm, Dense, Dropout, Layer, LayerNorm, kind_lookup, tensors_by_layer
from .model import Sequential

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["from_torch", "to_torch"]


def _import_torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ImportError(
            "PyTorch interop needs torch: pip install torch (or pip install 'fastmlp[torch]')"
        ) from None
    return torch


def _describe(index: int, name: str, module: Any) -> str:
    """``module 3 (ReLU())``; with the dotted name when nested Sequentials were flattened."""
    dotted = "" if name == str(index) else f" ('{name}')"
    return f"module {index}{dotted} ({module!r})"


def _array(where: str, name: str, tensor: Any, shape: Tuple[int, ...]) -> np.ndarray:
    """A float32 C-contiguous NumPy copy of a tensor, checked for shape and finiteness."""
    torch = _import_torch()
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{where}: {name} must be a tensor, got {type(tensor).__name__}")
    if tensor.is_meta or isinstance(tensor, torch.nn.parameter.UninitializedParameter):
        raise ValueError(f"{where}: {name} has no values (meta or uninitialized tensor)")
    if tensor.is_complex() or not tensor.is_floating_point():
        raise ValueError(f"{where}: {name} must be a real floating-point tensor, got {tensor.dtype}")
    if tuple(tensor.shape) != shape:
        raise ValueError(f"{where}: {name} must have shape {shape}, got {tuple(tensor.shape)}")
    array = np.array(tensor.detach().to(device="cpu", dtype=torch.float32).numpy(), dtype=np.float32, order="C")
    if not np.isfinite(array).all():
        raise ValueError(f"{where}: {name} contains NaN or infinite values")
    return array


def _counter(where: str, tensor: Any) -> np.ndarray:
    """A BatchNorm1d's num_batches_tracked as a 0-d int64 NumPy array, checked: an integer tensor
    holding one non-negative value."""
    torch = _import_torch()
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{where}: num_batches_tracked must be a tensor, got {type(tensor).__name__}")
    if tensor.is_meta or tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool:
        raise ValueError(f"{where}: num_batches_tracked must be an integer tensor, got {tensor.dtype}")
    if tensor.numel() != 1:
        raise ValueError(f"{where}: num_batches_tracked must hold one value, got shape {tuple(tensor.shape)}")
    count = int(tensor.detach().cpu().reshape(()).item())
    if count < 0:
        raise ValueError(f"{where}: num_batches_tracked is negative ({count})")
    return np.array(count, dtype=np.int64)


def _activation(torch: Any, where: str, module: Any) -> Optional[_act.Activation]:
    """The fm activation equal to a torch activation module, or None when it is not one."""
    nn = torch.nn
    simple = {nn.ReLU: _act.ReLU, nn.SELU: _act.SELU, nn.SiLU: _act.SiLU, nn.Sigmoid: _act.Sigmoid, nn.Tanh: _act.Tanh}
    kind = type(module)
    if kind in simple:
        return simple[kind]()
    try:
        if kind is nn.LeakyReLU:
            return _act.LeakyReLU(negative_slope=module.negative_slope)
        if kind is nn.ELU:
            return _act.ELU(alpha=module.alpha)
        if kind is nn.GELU:
            return _act.GELU(approximate=module.approximate)
        if kind is nn.Softplus:
            return _act.Softplus(beta=module.beta, threshold=module.threshold)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None
    if kind is nn.Softmax:
        if module.dim not in (-1, 1):
            raise ValueError(
                f"{where}: only a softmax over the features is supported (dim=-1 or dim=1), "
                f"got dim={module.dim!r}"
            )
        return _act.Softmax()
    return None


def _is_noop(nn: Any, module: Any) -> bool:
    """Identity, and Flatten over every dimension after the batch one (a no-op on the (batch,
    features) tensors of an MLP)."""
    kind = type(module)
    return kind is nn.Identity or (kind is nn.Flatten and module.start_dim == 1 and module.end_dim == -1)


def _flatten(torch: Any, module: Any, prefix: str, out: List[Tuple[str, Any]]) -> None:
    for name, child in module.named_children():
        if type(child) is torch.nn.Sequential:
            _flatten(torch, child, f"{prefix}{name}.", out)
        else:
            out.append((f"{prefix}{name}", child))


def from_torch(module: "torch.nn.Sequential", seed: int = 0, input_dim: Optional[int] = None) -> Sequential:
    """An ``fm.Sequential`` computing what ``module`` computes in eval mode, with copies of its weights.

    Args:
        module: a ``torch.nn.Sequential`` of the modules listed in this module's docstring (nested
            Sequentials are flattened). Its parameters may have any real floating dtype and device;
            they are copied to float32 (so a float64 network is rounded once). The module is not
            changed, and training mode does not matter: ``predict`` always uses eval semantics
            (dropout off, BatchNorm running statistics).
        seed: the fm model's seed (shuffling and dropout masks in later training; the initial
            weights it would choose are overwritten).
        input_dim: optional check of the input width; the first Linear (or norm layer) gives it.

    Returns:
        A built, uncompiled ``fm.Sequential``: ``Linear`` weights ``(out, in)`` and biases
        ``(out,)``, norm ``weight``/``bias`` ``(features,)`` and BatchNorm ``running_mean`` /
        ``running_var`` ``(features,)`` copied as float32, and for ``BatchNorm1d(momentum=None)``
        its ``num_batches_tracked`` (int64; for a layer with a momentum, fastmlp keeps no counter). ``model.predict(X)`` equals
        ``module.eval()(X)`` for float32 X ``(n, input_dim)`` up to float32 rounding.

    Raises:
        TypeError: ``module`` is not a ``torch.nn.Sequential``.
        ValueError: naming the module and its index, for an unsupported module, feature widths
            that do not chain, a softmax that is not last, a LayerNorm over more than the last
            dimension, non-finite weights, or a negative ``num_batches_tracked``; also when there is
            no Linear at all or ``input_dim`` disagrees.
        ImportError: torch is not installed.
    """
    torch = _import_torch()
    nn = torch.nn
    if not isinstance(module, nn.Sequential):
        raise TypeError(f"module must be a torch.nn.Sequential, got {type(module).__name__}")
    seed = non_negative_int("seed", seed, below=2**64, below_text="2**64")
    if input_dim is not None:
        input_dim = positive_int("input_dim", input_dim)

    children: List[Tuple[str, Any]] = []
    _flatten(torch, module, "", children)
    if not children:
        raise ValueError("module is an empty torch.nn.Sequential; it needs at least one torch.nn.Linear")

    layers: List[Layer] = []
    # Per fm layer, its tensors by the names the layer schema gives them ("weight", "running_mean", ...).
    tensors: List[Dict[str, np.ndarray]] = []
    width: Optional[int] = None  # features flowing out of the previous module
    first_width: Optional[int] = None
    # Index in `layers` of the last Dense whose activation is still free to set, and whether only a
    # dropout (which ReLU-like activations commute with) came between it and here.
    open_dense: Optional[int] = None
    after_dropout = False
    kept = [i for i, (_, child) in enumerate(children) if not _is_noop(nn, child)]
    last = kept[-1] if kept else -1

    def need_width(where: str, features: int) -> None:
        nonlocal width, first_width
        if width is None:
            width = first_width = features
        elif width != features:
            raise ValueError(
                f"{where}: expects {features} input features, but the previous layers give {width}"
            )

    for index, (name, child) in enumerate(children):
        kind = type(child)
        where = _describe(index, name, child)
        if _is_noop(nn, child):
            continue
        if isinstance(child, nn.Linear) and type(child).forward is nn.Linear.forward:
            if isinstance(child.weight, nn.parameter.UninitializedParameter):
                raise ValueError(f"{where}: a lazy module must be run once before conversion")
            in_f, out_f = int(child.in_features), int(child.out_features)
            need_width(where, in_f)
            bias = np.zeros(out_f, np.float32) if child.bias is None else _array(where, "bias", child.bias, (out_f,))
            tensors.append({"weight": _array(where, "weight", child.weight, (out_f, in_f)), "bias": bias})
            layers.append(Dense(out_f))
            open_dense, after_dropout = len(layers) - 1, False
            width = out_f
            continue
        activation = _activation(torch, where, child)
        if activation is not None:
            if activation.name == "softmax" and index != last:
                raise ValueError(
                    f"{where}: Softmax is only supported as the last module (the model's output), "
                    f"and {last - index} module(s) follow it"
                )
            if open_dense is not None and (not after_dropout or activation.name in ("relu", "leaky_relu")):
                dense = layers[open_dense]
                assert isinstance(dense, Dense)
                dense.activation = activation  # the Linear's own activation (commuted past a dropout)
            else:
                layers.append(Activation(activation))
                tensors.append({})
            open_dense, after_dropout = None, False
            continue
        if kind is nn.Dropout:
            try:
                layers.append(Dropout(float(child.p)))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{where}: {exc}") from None
            tensors.append({})
            after_dropout = open_dense is not None
            continue
        if kind is nn.LayerNorm:
            shape = tuple(int(s) for s in child.normalized_shape)
            if len(shape) != 1:
                raise ValueError(
                    f"{where}: only a LayerNorm over the last dimension is supported "
                    f"(normalized_shape=(features,)), got normalized_shape={shape}"
                )
            need_width(where, shape[0])
            try:
                layers.append(LayerNorm(eps=float(child.eps), elementwise_affine=bool(child.elementwise_affine)))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{where}: {exc}") from None
            own: Dict[str, np.ndarray] = {}
            if child.elementwise_affine:
                own["weight"] = _array(where, "weight", child.weight, shape)
                # LayerNorm(bias=False) has a weight but no bias: fastmlp's beta is then zero.
                own["bias"] = (
                    np.zeros(shape, np.float32) if child.bias is None else _array(where, "bias", child.bias, shape)
                )
            tensors.append(own)
            open_dense, after_dropout = None, False
            continue
        if kind is nn.BatchNorm1d:
            features = int(child.num_features)
            need_width(where, features)
            try:
                layers.append(
                    BatchNorm(
                        momentum=None if child.momentum is None else float(child.momentum),
                        eps=float(child.eps), affine=bool(child.affine),
                        track_running_stats=bool(child.track_running_stats),
                    )
                )
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{where}: {exc}") from None
            own = {}
            if child.affine:
                own["weight"] = _array(where, "weight", child.weight, (features,))
                own["bias"] = _array(where, "bias", child.bias, (features,))
            if child.track_running_stats:
                own["running_mean"] = _array(where, "running_mean", child.running_mean, (features,))
                own["running_var"] = _array(where, "running_var", child.running_var, (features,))
                if (own["running_var"] < 0).any():
                    raise ValueError(f"{where}: running_var has negative values")
                if child.momentum is None:  # the cumulative average's batch count (1/count factor)
                    own["num_batches_tracked"] = _counter(where, child.num_batches_tracked)
            tensors.append(own)
            open_dense, after_dropout = None, False
            continue
        raise ValueError(
            f"{where}: {type(child).__module__}.{type(child).__qualname__} "
            "is not supported; fastmlp converts Linear, Dropout, LayerNorm, BatchNorm1d, Identity, Flatten and the "
            "activations ReLU, LeakyReLU, ELU, SELU, GELU, SiLU, Softplus, Sigmoid, Tanh, Softmax (last)"
        )

    if not any(isinstance(layer, Dense) for layer in layers):
        raise ValueError("module has no torch.nn.Linear; fastmlp needs at least one")
    assert first_width is not None
    if input_dim is not None and input_dim != first_width:
        raise ValueError(f"input_dim is {input_dim}, but the module's first layer expects {first_width} features")

    model = Sequential(layers, input_dim=first_width, seed=seed)
    targets = tensors_by_layer(model.layers, first_width, model.parameters() + model.buffers())
    for target, source in zip(targets, tensors):
        if target.keys() != source.keys():  # pragma: no cover - the conversion and the schema disagree
            raise AssertionError(f"fastmlp's layer tensors {sorted(target)} do not match the converted {sorted(source)}")
        for name, view in target.items():
            view[...] = source[name]
    return model


def _torch_activation(nn: Any, activation: _act.Activation) -> Any:
    """The torch module for an fm activation; None for the identity."""
    name = activation.name
    if name == "identity":
        return None
    if isinstance(activation, _act.LeakyReLU):
        return nn.LeakyReLU(negative_slope=activation.negative_slope)
    if isinstance(activation, _act.ELU):
        return nn.ELU(alpha=activation.alpha)
    if isinstance(activation, _act.GELU):
        return nn.GELU(approximate=activation.approximate)
    if isinstance(activation, _act.Softplus):
        return nn.Softplus(beta=activation.beta, threshold=activation.threshold)
    simple: Dict[str, Any] = {
        "relu": nn.ReLU, "selu": nn.SELU, "silu": nn.SiLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
    }
    if name == "softmax":
        return nn.Softmax(dim=-1)
    if name in simple:
        return simple[name]()
    raise ValueError(f"activation {activation!r} has no torch counterpart")  # pragma: no cover


# A converter returns the torch modules computing one fm layer: (torch, layer, input width, the
# layer's tensors by their names relative to it: float32, int64 for num_batches_tracked) -> [module, ...].
_ToTorch = Callable[[Any, Any, int, Mapping[str, np.ndarray]], List[Any]]


def _fill(torch: Any, module: Any, tensors: Mapping[str, np.ndarray]) -> None:
    """Copies `tensors` into the module's parameters and buffers of the same names (fastmlp names
    its tensors as PyTorch does; the dtype is the module's: int64 for num_batches_tracked)."""
    with torch.no_grad():
        for name, array in tensors.items():
            getattr(module, name).copy_(torch.from_numpy(array))


def _dense_to_torch(torch: Any, layer: Dense, width: int, tensors: Mapping[str, np.ndarray]) -> List[Any]:
    # skip_init: no random initialisation, so torch's global generator is not consumed.
    linear = torch.nn.utils.skip_init(torch.nn.Linear, width, layer.units, dtype=torch.float32, device="cpu")
    _fill(torch, linear, tensors)
    act = _torch_activation(torch.nn, layer.activation)
    return [linear] if act is None else [linear, act]


def _dropout_to_torch(torch: Any, layer: Dropout, width: int, tensors: Mapping[str, np.ndarray]) -> List[Any]:
    return [torch.nn.Dropout(p=layer.rate)]


def _layer_norm_to_torch(torch: Any, layer: LayerNorm, width: int, tensors: Mapping[str, np.ndarray]) -> List[Any]:
    norm = torch.nn.LayerNorm(width, eps=layer.eps, elementwise_affine=layer.elementwise_affine, dtype=torch.float32)
    _fill(torch, norm, tensors)
    return [norm]


def _batch_norm_to_torch(torch: Any, layer: BatchNorm, width: int, tensors: Mapping[str, np.ndarray]) -> List[Any]:
    norm = torch.nn.BatchNorm1d(
        width, eps=layer.eps, momentum=layer.momentum, affine=layer.affine,
        track_running_stats=layer.track_running_stats, dtype=torch.float32,
    )
    _fill(torch, norm, tensors)
    return [norm]


def _activation_to_torch(torch: Any, layer: Activation, width: int, tensors: Mapping[str, np.ndarray]) -> List[Any]:
    act = _torch_activation(torch.nn, layer.activation)
    return [] if act is None else [act]


_TO_TORCH: Dict[type, _ToTorch] = {
    Dense: _dense_to_torch,
    Dropout: _dropout_to_torch,
    LayerNorm: _layer_norm_to_torch,
    BatchNorm: _batch_norm_to_torch,
    Activation: _activation_to_torch,
}


def to_torch(model: Sequential) -> "torch.nn.Sequential":
    """A ``torch.nn.Sequential`` computing what ``model.predict`` computes, with copies of its weights.

    Each ``Dense`` becomes ``Linear`` (weight ``(units, in)``, bias ``(units,)``) followed by its
    activation module (none for the identity); an ``Activation`` layer becomes that module;
    ``Dropout``, ``LayerNorm`` and ``BatchNorm`` become
    ``Dropout``, ``LayerNorm(features)`` and ``BatchNorm1d(features)`` with the same
    hyperparameters, weights and running statistics. Everything is float32 on the CPU, the network
    is in eval mode (call ``.train()`` to train it in torch) and shares no memory with ``model``.
    Building it does not draw from torch's random number generator. A ``BatchNorm(momentum=None)``
    becomes ``BatchNorm1d(momentum=None)`` with its ``num_batches_tracked`` copied; for a layer with
    a momentum it is 0 (fastmlp counts batches only where the cumulative average uses them). ``net(th.from_numpy(X))`` equals ``model.predict(X)`` for float32 X
    ``(n, input_dim)`` up to float32 rounding, and ``from_torch(to_torch(model))`` has bit-identical
    weights.

    Raises:
        TypeError: ``model`` is not an ``fm.Sequential``.
        RuntimeError: the model has no weights yet (no ``input_dim``, never fitted).
        ImportError: torch is not installed.
    """
    th = _import_torch()  # not `torch`: that name is the type-checking import
    nn = th.nn
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be an fm.Sequential, got {type(model).__name__}")
    arrays = [np.array(a, copy=True) for a in model.parameters() + model.buffers()]  # float32, int64 counters
    assert model.input_dim is not None
    modules: List[Any] = []
    width = model.input_dim
    for layer, tensors in zip(model.layers, tensors_by_layer(model.layers, width, arrays)):
        converter = kind_lookup(_TO_TORCH, layer)
        if converter is None:  # pragma: no cover - a layer type added to fastmlp without interop
            raise ValueError(f"{type(layer).__name__} layers have no torch counterpart yet")
        modules += converter(th, layer, width, tensors)
        width = layer.output_width(width)
    net: "torch.nn.Sequential" = nn.Sequential(*modules)
    net.eval()
    return net


