"""Optimizers with PyTorch's semantics and defaults. Each is a configuration: the update runs in
the C++ core as one pass over the model's flat parameter buffer."""

from __future__ import annotations

import math
from typing import Any, Tuple, Union

import numpy as np

from ._validation import not_an_instance_error, real_number

__all__ = ["Optimizer", "SGD", "Adam", "get"]


def _as_float32(name: str, value: Any) -> float:
    """The number the C++ core will see (it computes in float32)."""
    value = real_number(name, value)
    with np.errstate(over="ignore"):
        stored = float(np.float32(value))
    if not math.isfinite(stored):
        raise ValueError(f"{name} must be a finite number (within float32's range), got {value}")
    return value


def _check_non_negative(name: str, value: Any) -> float:
    value = _as_float32(name, value)
    if not value >= 0.0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def _check_positive(name: str, value: Any) -> float:
    value = _as_float32(name, value)
    if not np.float32(value) > 0.0:  # a positive value below float32's range would become 0
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


class Optimizer:
    """Base class for optimizer configurations."""

    def _install(self, net: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict:
        return dict(vars(self))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent, as ``torch.optim.SGD``.

    ``g += weight_decay * p``; with momentum, ``buf = g`` on the first step and
    ``buf = momentum * buf + (1 - dampening) * g`` after; ``g = g + momentum * buf`` if nesterov
    else ``buf``; ``p -= lr * g``.
    """

    def __init__(
        self,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        self.lr = _check_non_negative("lr", lr)
        self.momentum = _check_non_negative("momentum", momentum)
        self.dampening = _as_float32("dampening", dampening)
        self.weight_decay = _check_non_negative("weight_decay", weight_decay)
        self.nesterov = _check_bool("nesterov", nesterov)
        if self.nesterov and (self.momentum <= 0.0 or self.dampening != 0.0):
            raise ValueError("nesterov=True requires momentum > 0 and dampening = 0 (as in PyTorch)")

    def _install(self, net: Any) -> None:
        net.set_sgd(self.lr, self.momentum, self.dampening, self.weight_decay, self.nesterov)


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam`` (weight decay is an L2 term added to the gradient)."""

    def __init__(
        self,
        lr: float = 1e-3,
        betas: Tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        self.lr = _check_non_negative("lr", lr)
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__"):
            raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got a sequence of length {len(betas)}: {betas!r}")
        beta1, beta2 = (real_number(f"betas[{i}]", b) for i, b in enumerate(betas))
        for i, b in enumerate((beta1, beta2)):
            if not 0.0 <= b < 1.0:  # also rejects NaN
                raise ValueError(f"betas[{i}] must be in [0, 1), got {b}")
        self.betas = (beta1, beta2)
        # eps = 0 divides 0 by 0 for a parameter whose gradient has always been 0
        self.eps = _check_positive("eps", eps)
        self.weight_decay = _check_non_negative("weight_decay", weight_decay)

    def _install(self, net: Any) -> None:
        net.set_adam(self.lr, self.betas[0], self.betas[1], self.eps, self.weight_decay)


_BY_NAME = {"sgd": SGD, "adam": Adam}


def get(optimizer: Union[str, Optimizer]) -> Optimizer:
    """Returns an Optimizer for a name (with default hyperparameters) or an Optimizer object."""
    from ._validation import unknown_name_error

    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str):
        key = optimizer.lower()
        if key in _BY_NAME:
            return _BY_NAME[key]()
        raise unknown_name_error("optimizer", optimizer, tuple(_BY_NAME))
    raise not_an_instance_error("optimizer", optimizer, "a string such as 'adam' or an fm.optim.Optimizer")
