"""A float64 torch.nn.Sequential equal to an fm.Sequential (Dense, Dropout with rate 0, LayerNorm,
BatchNorm), holding copies of its parameters and buffers, for parity tests. Imported by the test
modules as a plain module (see conftest.py)."""

from __future__ import annotations

from typing import List

import numpy as np
import torch

import fastmlp as fm

_ACTIVATIONS = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid, "identity": None}


def torch_twin(model: fm.Sequential) -> torch.nn.Sequential:
    """Modules in fm's layer order; parameters in the order of model.parameters()."""
    assert model.input_dim is not None
    modules: List[torch.nn.Module] = []
    width = model.input_dim
    for layer in model.layers:
        if isinstance(layer, fm.Dense):
            modules.append(torch.nn.Linear(width, layer.units, dtype=torch.float64))
            act = _ACTIVATIONS[layer.activation.name]
            if act is not None:
                modules.append(act())
            width = layer.units
        elif isinstance(layer, fm.LayerNorm):
            modules.append(
                torch.nn.LayerNorm(width, eps=layer.eps, elementwise_affine=layer.elementwise_affine, dtype=torch.float64)
            )
        elif isinstance(layer, fm.BatchNorm):
            modules.append(
                torch.nn.BatchNorm1d(width, eps=layer.eps, momentum=layer.momentum, affine=layer.affine,
                                     track_running_stats=layer.track_running_stats, dtype=torch.float64)
            )
        else:
            assert isinstance(layer, fm.Dropout) and layer.rate == 0.0
    net = torch.nn.Sequential(*modules)
    params = list(net.parameters())
    buffers = [b for name, b in net.named_buffers() if name.endswith(("running_mean", "running_var"))]
    assert len(params) == len(model.parameters()) and len(buffers) == len(model.buffers())
    with torch.no_grad():
        for tp, p in zip(params, model.parameters()):
            tp.copy_(torch.from_numpy(p.astype(np.float64)))
        for tb, b in zip(buffers, model.buffers()):
            tb.copy_(torch.from_numpy(b.astype(np.float64)))
    return net


def twin_buffers(net: torch.nn.Sequential) -> List[np.ndarray]:
    """running_mean, running_var per BatchNorm, in model.buffers() order."""
    return [b.detach().numpy() for name, b in net.named_buffers() if name.endswith(("running_mean", "running_var"))]
