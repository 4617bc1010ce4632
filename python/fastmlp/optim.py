"""Optimizers with PyTorch's semantics and defaults. Each is a configuration: the update runs in
the C++ core as one pass over the model's flat parameter buffer."""

from __future__ import annotations

from typing import Any, Tuple, Union

__all__ = ["Optimizer", "SGD", "Adam", "get"]


def _check_non_negative(name: str, value: float) -> float:
    value = float(value)
    if not value >= 0.0:  # also rejects NaN
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


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
        self.dampening = float(dampening)
        self.weight_decay = _check_non_negative("weight_decay", weight_decay)
        self.nesterov = bool(nesterov)
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
        beta1, beta2 = (float(b) for b in betas)
        for i, b in enumerate((beta1, beta2)):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"betas[{i}] must be in [0, 1), got {b}")
        self.betas = (beta1, beta2)
        self.eps = _check_non_negative("eps", eps)
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
    raise TypeError(
        f"optimizer must be a string such as 'adam' or an fm.optim.Optimizer, got {type(optimizer).__name__}"
    )
