"""PyTorch interop: build an ``fm.Sequential`` from a ``torch.nn.Sequential`` and back.

    model = fm.from_torch(torch_net, seed=0)   # copies the weights (float32) and running statistics
    net = fm.to_torch(model)                    # a float32 torch.nn.Sequential in eval mode

Supported ``torch.nn`` modules and what they become:

- ``Linear(in, out)`` -> ``Dense(out)`` (``bias=False``: a zero bias);
- ``ReLU``, ``LeakyReLU(negative_slope)``, ``ELU(alpha)``, ``SELU``, ``GELU(approximate="none" |
  "tanh")``, ``SiLU``, ``Softplus(beta, threshold)``, ``Sigmoid``, ``Tanh`` -> the activation of
  the Dense just before it (``fm.activations``); ``Softmax(dim=-1 or 1)`` likewise, as the last
  module only;
- ``Dropout(p)`` -> ``Dropout(p)``;
- ``LayerNorm((features,), eps, elementwise_affine)`` -> ``LayerNorm(eps, elementwise_affine)``
  (``bias=False``: a zero beta);
- ``BatchNorm1d(features, eps, momentum, affine, track_running_stats)`` -> ``BatchNorm`` with the
  same values (``momentum=None`` is not supported);
- ``Identity`` and ``Flatten()`` (start_dim=1, end_dim=-1) -> nothing: both are no-ops on the
  (batch, features) tensors of an MLP.

Nested ``torch.nn.Sequential`` containers are flattened. fastmlp has no stand-alone activation
layer, so an activation must directly follow a Linear (``Linear, Dropout, ReLU`` is accepted for
ReLU and LeakyReLU, which commute with dropout exactly, and becomes ``Dense(relu), Dropout``).
torch is an optional dependency, imported only when these functions run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

import numpy as np

from . import activations as _act
from ._validation import non_negative_int, positive_int
from .layers import BatchNorm, Dense, Dropout, Layer, LayerNorm
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
        ``running_var`` ``(features,)`` copied as float32. ``model.predict(X)`` equals
        ``module.eval()(X)`` for float32 X ``(n, input_dim)`` up to float32 rounding.

    Raises:
        TypeError: ``module`` is not a ``torch.nn.Sequential``.
        ValueError: naming the module and its index, for an unsupported module, an activation that
            does not follow a Linear, feature widths that do not chain, a softmax that is not last,
            BatchNorm ``momentum=None``, a LayerNorm over more than the last dimension, or
            non-finite weights; also when there is no Linear at all or ``input_dim`` disagrees.
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
    # Per fm layer, the tensors that fill its parameters() / buffers() slots, in order.
    params: List[np.ndarray] = []
    buffers: List[np.ndarray] = []
    width: Optional[int] = None  # features flowing out of the previous module
    first_width: Optional[int] = None
    # Index in `layers` of the last Dense whose activation is still free to set, and whether only a
    # dropout (which ReLU-like activations commute with) came between it and here.
    open_dense: Optional[int] = None
    after_dropout = False
    previous: Optional[Any] = None  # the previous module, no-ops skipped
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
        before, previous = previous, child
        if isinstance(child, nn.Linear) and type(child).forward is nn.Linear.forward:
            if isinstance(child.weight, nn.parameter.UninitializedParameter):
                raise ValueError(f"{where}: a lazy module must be run once before conversion")
            in_f, out_f = int(child.in_features), int(child.out_features)
            need_width(where, in_f)
            params.append(_array(where, "weight", child.weight, (out_f, in_f)))
            params.append(
                np.zeros(out_f, np.float32) if child.bias is None else _array(where, "bias", child.bias, (out_f,))
            )
            layers.append(Dense(out_f))
            open_dense, after_dropout = len(layers) - 1, False
            width = out_f
            continue
        activation = _activation(torch, where, child)
        if activation is not None:
            if open_dense is None or (after_dropout and activation.name not in ("relu", "leaky_relu")):
                why = (
                    "it is the first module"
                    if before is None
                    else f"it follows {type(before).__name__}, not a Linear"
                )
                raise ValueError(
                    f"{where}: fastmlp applies an activation only as part of the Linear (Dense) "
                    f"just before it, and {why}. Supported: Linear followed directly by one activation "
                    "(ReLU/LeakyReLU may also come after a Dropout that follows the Linear)"
                )
            if activation.name == "softmax" and index != last:
                raise ValueError(
                    f"{where}: Softmax is only supported as the last module (the model's output), "
                    f"and {last - index} module(s) follow it"
                )
            dense = layers[open_dense]
            assert isinstance(dense, Dense)
            dense.activation = activation
            open_dense, after_dropout = None, False
            continue
        if kind is nn.Dropout:
            try:
                layers.append(Dropout(float(child.p)))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{where}: {exc}") from None
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
            if child.elementwise_affine:
                params.append(_array(where, "weight", child.weight, shape))
                # LayerNorm(bias=False) has a weight but no bias: fastmlp's beta is then zero.
                params.append(
                    np.zeros(shape, np.float32)
                    if child.bias is None
                    else _array(where, "bias", child.bias, shape)
                )
            open_dense, after_dropout = None, False
            continue
        if kind is nn.BatchNorm1d:
            features = int(child.num_features)
            need_width(where, features)
            if child.momentum is None:
                raise ValueError(
                    f"{where}: momentum=None (a cumulative moving average) is not supported; "
                    "fastmlp's BatchNorm needs a momentum in [0, 1]"
                )
            try:
                layers.append(
                    BatchNorm(
                        momentum=float(child.momentum), eps=float(child.eps), affine=bool(child.affine),
                        track_running_stats=bool(child.track_running_stats),
                    )
                )
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{where}: {exc}") from None
            if child.affine:
                params.append(_array(where, "weight", child.weight, (features,)))
                params.append(_array(where, "bias", child.bias, (features,)))
            if child.track_running_stats:
                buffers.append(_array(where, "running_mean", child.running_mean, (features,)))
                running_var = _array(where, "running_var", child.running_var, (features,))
                if (running_var < 0).any():
                    raise ValueError(f"{where}: running_var has negative values")
                buffers.append(running_var)
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
    targets, buffer_targets = model.parameters(), model.buffers()
    if len(targets) != len(params) or len(buffer_targets) != len(buffers):  # pragma: no cover - layout drift
        raise AssertionError("fastmlp's parameter layout does not match the converted tensors")
    for target, value in zip(targets, params):
        target[...] = value
    for target, value in zip(buffer_targets, buffers):
        target[...] = value
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


def to_torch(model: Sequential) -> "torch.nn.Sequential":
    """A ``torch.nn.Sequential`` computing what ``model.predict`` computes, with copies of its weights.

    Each ``Dense`` becomes ``Linear`` (weight ``(units, in)``, bias ``(units,)``) followed by its
    activation module (none for the identity); ``Dropout``, ``LayerNorm`` and ``BatchNorm`` become
    ``Dropout``, ``LayerNorm(features)`` and ``BatchNorm1d(features)`` with the same
    hyperparameters, weights and running statistics. Everything is float32 on the CPU, the network
    is in eval mode (call ``.train()`` to train it in torch) and shares no memory with ``model``.
    Building it does not draw from torch's random number generator. BatchNorm's
    ``num_batches_tracked`` is 0 (fastmlp does not count batches; it only matters for
    ``momentum=None``). ``net(th.from_numpy(X))`` equals ``model.predict(X)`` for float32 X
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
    params = [np.array(p, dtype=np.float32, copy=True) for p in model.parameters()]
    buffers = [np.array(b, dtype=np.float32, copy=True) for b in model.buffers()]
    assert model.input_dim is not None
    p_iter, b_iter = iter(params), iter(buffers)

    def fill(tensor: Any) -> None:
        with th.no_grad():
            tensor.copy_(th.from_numpy(next(p_iter)))

    modules: List[Any] = []
    width = model.input_dim
    f32 = th.float32
    for layer in model.layers:
        if isinstance(layer, Dense):
            # skip_init: no random initialisation, so torch's global generator is not consumed.
            linear = nn.utils.skip_init(nn.Linear, width, layer.units, dtype=f32, device="cpu")
            fill(linear.weight)
            fill(linear.bias)
            modules.append(linear)
            act = _torch_activation(nn, layer.activation)
            if act is not None:
                modules.append(act)
            width = layer.units
        elif isinstance(layer, Dropout):
            modules.append(nn.Dropout(p=layer.rate))
        elif isinstance(layer, LayerNorm):
            norm = nn.LayerNorm(width, eps=layer.eps, elementwise_affine=layer.elementwise_affine, dtype=f32)
            if layer.elementwise_affine:
                fill(norm.weight)
                fill(norm.bias)
            modules.append(norm)
        elif isinstance(layer, BatchNorm):
            bn = nn.BatchNorm1d(
                width, eps=layer.eps, momentum=layer.momentum, affine=layer.affine,
                track_running_stats=layer.track_running_stats, dtype=f32,
            )
            if layer.affine:
                fill(bn.weight)
                fill(bn.bias)
            if layer.track_running_stats:
                with th.no_grad():
                    bn.running_mean.copy_(th.from_numpy(next(b_iter)))
                    bn.running_var.copy_(th.from_numpy(next(b_iter)))
            modules.append(bn)
        else:  # pragma: no cover - a layer type added to fastmlp without interop
            raise ValueError(f"{type(layer).__name__} layers have no torch counterpart yet")
    if next(p_iter, None) is not None or next(b_iter, None) is not None:  # pragma: no cover
        raise AssertionError("fastmlp's parameter layout does not match the torch modules")
    net: "torch.nn.Sequential" = nn.Sequential(*modules)
    net.eval()
    return net


