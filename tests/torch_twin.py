"""A float64 (or float32) torch.nn.Sequential equal to an fm.Sequential (Dense with any activation,
Activation, Dropout with rate 0, LayerNorm, BatchNorm), holding copies of its parameters and buffers, for parity
tests. Imported by the test modules as a plain module (see conftest.py).

It is an oracle: it is written here from the layers' public attributes and the activations'
configs, independently of fastmlp.torch_interop (which the interop tests check against torch)."""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch

import fastmlp as fm

# activation config name -> torch module factory, called with the config's parameters (torch's
# keyword names are fastmlp's); None for identity
_ACTIVATIONS: Dict[str, Optional[Callable[..., torch.nn.Module]]] = {
    "identity": None,
    "relu": torch.nn.ReLU,
    "leaky_relu": torch.nn.LeakyReLU,
    "elu": torch.nn.ELU,
    "selu": torch.nn.SELU,
    "gelu": torch.nn.GELU,
    "gelu_tanh": lambda: torch.nn.GELU(approximate="tanh"),
    "silu": torch.nn.SiLU,
    "softplus": torch.nn.Softplus,
    "sigmoid": torch.nn.Sigmoid,
    "tanh": torch.nn.Tanh,
    "softmax": lambda: torch.nn.Softmax(dim=-1),
}


def _activation(activation: fm.activations.Activation) -> Optional[torch.nn.Module]:
    config = dict(activation.get_config())
    make = _ACTIVATIONS[config.pop("name")]
    return None if make is None else make(**config)


def torch_twin(model: fm.Sequential, dtype: torch.dtype = torch.float64) -> torch.nn.Sequential:
    """Modules in fm's layer order; parameters in the order of model.parameters(), in ``dtype``
    (float32 for parity in fastmlp's own precision)."""
    assert model.input_dim is not None
    modules: List[torch.nn.Module] = []
    width = model.input_dim
    for layer in model.layers:
        if isinstance(layer, fm.Dense):
            modules.append(torch.nn.Linear(width, layer.units, dtype=dtype))
            act = _activation(layer.activation)
            if act is not None:
                modules.append(act)
            width = layer.units
        elif isinstance(layer, fm.LayerNorm):
            modules.append(
                torch.nn.LayerNorm(width, eps=layer.eps, elementwise_affine=layer.elementwise_affine, dtype=dtype)
            )
        elif isinstance(layer, fm.BatchNorm):
            modules.append(
                torch.nn.BatchNorm1d(width, eps=layer.eps, momentum=layer.momentum, affine=layer.affine,
                                     track_running_stats=layer.track_running_stats, dtype=dtype)
            )
        elif isinstance(layer, fm.Activation):
            act = _activation(layer.activation)
            if act is not None:
                modules.append(act)
        else:
            assert isinstance(layer, fm.Dropout) and layer.rate == 0.0
    net = torch.nn.Sequential(*modules)
    params = list(net.parameters())
    buffers = _model_buffers(net)
    assert len(params) == len(model.parameters()) and len(buffers) == len(model.buffers())
    with torch.no_grad():
        for tp, p in zip(params, model.parameters()):
            tp.copy_(torch.from_numpy(p.astype(np.float64)))
        for (name, tb), b in zip(buffers, model.buffers()):
            assert (b.dtype == np.int64) == name.endswith("num_batches_tracked"), (name, b.dtype)
            tb.copy_(torch.from_numpy(np.array(b, dtype=np.int64 if b.dtype == np.int64 else np.float64)))
    return net


def _model_buffers(net: torch.nn.Sequential) -> List[Tuple[str, torch.Tensor]]:
    """(name, buffer) of the torch buffers fastmlp keeps, in model.buffers() order: per BatchNorm,
    running_mean and running_var, then num_batches_tracked for momentum=None (fastmlp counts batches
    only where the factor 1/num_batches_tracked uses them)."""
    out = []
    for name, b in net.named_buffers():
        if name.endswith(("running_mean", "running_var")) or (
            name.endswith("num_batches_tracked") and net.get_submodule(name.rsplit(".", 1)[0]).momentum is None
        ):
            out.append((name, b))
    return out


def twin_buffers(net: torch.nn.Sequential) -> List[np.ndarray]:
    """running_mean, running_var per BatchNorm, and num_batches_tracked for momentum=None, in
    model.buffers() order."""
    return [b.detach().numpy() for _, b in _model_buffers(net)]
