"""Optimizers with PyTorch's semantics and defaults. Each is a configuration: the update runs in
the C++ core as one pass over the model's flat parameter buffer.

The learning rate is ``lr`` (PyTorch's name: the attribute, ``get_config()``, ``repr`` and saved
files use it). Every optimizer also takes Keras's spelling, keyword only: ``Adam(learning_rate=1e-3)``
is ``Adam(lr=1e-3)``; giving both is a TypeError, and a bad value is reported under the name given.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, Type, Union

import numpy as np

from ._validation import check_bool, float32_number, non_negative_float32, not_an_instance_error, number_in, positive_float32

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "get"]


class _DefaultRate(float):
    """A default learning rate: a float (shown as the number by ``inspect.signature`` and ``help``)
    that ``_learning_rate`` tells apart, by its type, from an ``lr`` the caller passed, even one of
    the same value."""

    __slots__ = ()


def _learning_rate(owner: str, lr: float, learning_rate: Optional[float]) -> float:
    """The validated rate from ``lr`` or its Keras spelling ``learning_rate`` (not both), checked
    under the name the caller used."""
    if learning_rate is None:
        name, value = "lr", lr
    elif isinstance(lr, _DefaultRate):
        name, value = "learning_rate", learning_rate
    else:
        raise TypeError(
            f"{owner} got lr={lr!r} and learning_rate={learning_rate!r}: give lr or learning_rate, not both "
            "(the same parameter, PyTorch's and Keras's spellings)"
        )
    from .schedules import LRSchedule

    if isinstance(value, LRSchedule):  # Keras's habit: Adam(learning_rate=a_schedule)
        raise TypeError(
            f"{name} must be a number, got the schedule {value!r}: pass the schedule to "
            f"model.compile(..., lr_schedule=schedule) and its base rate as {name}"
        )
    return non_negative_float32(name, value)


def _check_betas(betas: Any) -> Tuple[float, float]:
    if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__"):
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    if len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got a sequence of length {len(betas)}: {betas!r}")
    beta1, beta2 = (number_in(f"betas[{i}]", b, 0.0, 1.0, high_open=True) for i, b in enumerate(betas))
    return beta1, beta2


class Optimizer:
    """Base class for optimizer configurations.

    Attributes:
        lr: the learning rate ``compile`` installs (and the base rate of ``fm.schedules``); the
            constructors take it as ``lr`` or, Keras's spelling, ``learning_rate``.
    """

    lr: float

    @property
    def has_momentum(self) -> bool:
        """Whether the update keeps a momentum the 1cycle policy can cycle (``OneCycleLR``): SGD
        and RMSprop with momentum > 0 (in float32, as the core stores it), Adam and AdamW (beta1)."""
        return False

    def _install(self, net: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> Dict[str, Any]:
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

    @property
    def has_momentum(self) -> bool:
        return bool(np.float32(self.momentum) > 0.0)

    def __init__(
        self,
        lr: float = _DefaultRate(1e-3),
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        learning_rate: Optional[float] = None,
    ) -> None:
        self.lr = _learning_rate(type(self).__name__, lr, learning_rate)
        self.momentum = non_negative_float32("momentum", momentum)
        self.dampening = float32_number("dampening", dampening)
        self.weight_decay = non_negative_float32("weight_decay", weight_decay)
        self.nesterov = check_bool("nesterov", nesterov)
        if self.nesterov and (self.momentum <= 0.0 or self.dampening != 0.0):
            raise ValueError("nesterov=True requires momentum > 0 and dampening = 0 (as in PyTorch)")

    def _install(self, net: Any) -> None:
        net.set_sgd(self.lr, self.momentum, self.dampening, self.weight_decay, self.nesterov)


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam`` (weight decay is an L2 term added to the gradient).

    ``g += weight_decay * p; m = lerp(m, g, 1 - beta1); v = beta2 * v + (1 - beta2) * g^2``;
    with amsgrad ``v_max = max(v_max, v)`` is used in place of ``v``;
    ``p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)``.
    Optimizer state: ``exp_avg``, ``exp_avg_sq`` (and ``max_exp_avg_sq``)."""

    _decoupled = False

    @property
    def has_momentum(self) -> bool:
        return True

    def __init__(
        self,
        lr: float = _DefaultRate(1e-3),
        betas: Tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        learning_rate: Optional[float] = None,
    ) -> None:
        self.lr = _learning_rate(type(self).__name__, lr, learning_rate)
        self.betas = _check_betas(betas)
        # eps = 0 divides 0 by 0 for a parameter whose gradient has always been 0
        self.eps = positive_float32("eps", eps)
        self.weight_decay = non_negative_float32("weight_decay", weight_decay)
        self.amsgrad = check_bool("amsgrad", amsgrad)

    def _install(self, net: Any) -> None:
        net.set_adam(self.lr, self.betas[0], self.betas[1], self.eps, self.weight_decay, self.amsgrad, self._decoupled)


class AdamW(Adam):
    """AdamW, as ``torch.optim.AdamW``: Adam with decoupled weight decay, ``p *= 1 - lr * weight_decay``
    before the Adam update (the gradient is not changed). Default ``weight_decay=0.01``."""

    _decoupled = True

    def __init__(
        self,
        lr: float = _DefaultRate(1e-3),
        betas: Tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        learning_rate: Optional[float] = None,
    ) -> None:
        super().__init__(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, learning_rate=learning_rate
        )


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``.

    ``g += weight_decay * p; sq = alpha * sq + (1 - alpha) * g^2``; centered: ``ga = lerp(ga, g, 1 - alpha)``,
    ``avg = sqrt(sq - ga^2) + eps``, else ``avg = sqrt(sq) + eps``; with momentum
    ``buf = momentum * buf + g / avg; p -= lr * buf``, else ``p -= lr * g / avg``.
    Optimizer state: ``square_avg`` (and ``momentum_buffer``, ``grad_avg``). ``alpha`` must be in
    [0, 1] (PyTorch only checks >= 0; above 1 the average can turn negative)."""

    @property
    def has_momentum(self) -> bool:
        return bool(np.float32(self.momentum) > 0.0)

    def __init__(
        self,
        lr: float = _DefaultRate(1e-2),
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        learning_rate: Optional[float] = None,
    ) -> None:
        self.lr = _learning_rate(type(self).__name__, lr, learning_rate)
        self.alpha = number_in("alpha", alpha, 0.0, 1.0)
        self.eps = positive_float32("eps", eps)
        self.weight_decay = non_negative_float32("weight_decay", weight_decay)
        self.momentum = non_negative_float32("momentum", momentum)
        self.centered = check_bool("centered", centered)

    def _install(self, net: Any) -> None:
        net.set_rmsprop(self.lr, self.alpha, self.eps, self.weight_decay, self.momentum, self.centered)


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad``.

    ``g += weight_decay * p; clr = lr / (1 + (t - 1) * lr_decay); sum += g^2;
    p -= clr * g / (sqrt(sum) + eps)``, with ``sum`` starting at ``initial_accumulator_value``.
    Optimizer state: ``sum``."""

    def __init__(
        self,
        lr: float = _DefaultRate(1e-2),
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        learning_rate: Optional[float] = None,
    ) -> None:
        self.lr = _learning_rate(type(self).__name__, lr, learning_rate)
        self.lr_decay = non_negative_float32("lr_decay", lr_decay)
        self.weight_decay = non_negative_float32("weight_decay", weight_decay)
        self.initial_accumulator_value = non_negative_float32("initial_accumulator_value", initial_accumulator_value)
        self.eps = positive_float32("eps", eps)

    def _install(self, net: Any) -> None:
        net.set_adagrad(self.lr, self.lr_decay, self.weight_decay, self.initial_accumulator_value, self.eps)


_BY_NAME: Dict[str, Type[Optimizer]] = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad}


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
