"""Activation functions, by name or as objects: ``activation="relu"`` equals ``activation=ReLU()``.

Definitions, parameters and defaults are PyTorch's (``torch.nn.functional``); a string gives the
defaults, an object chooses the parameters, e.g. ``LeakyReLU(negative_slope=0.2)``. The math
(forward and derivative, float32, stable for any finite input) runs in the C++ core; these classes
only name it and validate the parameters.

``Softmax`` normalises each output row and is allowed only on the last layer. Compiled with
``cross_entropy``, a softmax output is trained exactly as a linear output (the loss applies a fused,
stable log-softmax to the logits) while ``predict`` returns probabilities; with other losses the
gradient flows through the softmax.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, Union

import numpy as np

from ._validation import float32_number, one_of, positive_float32

__all__ = [
    "Activation",
    "Identity",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "SELU",
    "GELU",
    "SiLU",
    "Softplus",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "get",
    "NAMES",
]


class Activation:
    """Base class: ``name`` is the identifier the C++ core knows; ``get_config()`` returns it with
    the parameters (``{"name": "leaky_relu", "negative_slope": 0.2}``)."""

    name: str = ""

    def _params(self) -> Dict[str, float]:
        """The parameters the C++ core takes for this activation (none for most)."""
        return {}

    def get_config(self) -> Dict[str, Any]:
        return {"name": self.name, **self._params()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Activation) and other.get_config() == self.get_config()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.get_config().items())))


class Identity(Activation):
    """f(x) = x (also accepted as ``"linear"`` or ``None``)."""

    name = "identity"


class ReLU(Activation):
    """f(x) = max(x, 0); derivative 0 at x = 0 (as PyTorch)."""

    name = "relu"


class LeakyReLU(Activation):
    """f(x) = x for x > 0, ``negative_slope * x`` otherwise (``torch.nn.LeakyReLU``).

    Args:
        negative_slope: finite real number, default 0.01 (the ``"leaky_relu"`` string's value).
    """

    name = "leaky_relu"

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.negative_slope = float32_number("negative_slope", negative_slope)

    def _params(self) -> Dict[str, float]:
        return {"negative_slope": self.negative_slope}


class ELU(Activation):
    """f(x) = x for x > 0, ``alpha * (exp(x) - 1)`` otherwise (``torch.nn.ELU``).

    Args:
        alpha: finite real number, default 1.0.
    """

    name = "elu"

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = float32_number("alpha", alpha)

    def _params(self) -> Dict[str, float]:
        return {"alpha": self.alpha}


class SELU(Activation):
    """f(x) = scale * (x for x > 0, alpha * (exp(x) - 1) otherwise), with PyTorch's constants
    alpha = 1.6732632423543772, scale = 1.0507009873554805 (``torch.nn.SELU``)."""

    name = "selu"


class GELU(Activation):
    """f(x) = x * Phi(x), Phi the standard normal CDF (``torch.nn.GELU``).

    Args:
        approximate: ``"none"`` (default; the exact erf form, string ``"gelu"``) or ``"tanh"``
            (``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``, string ``"gelu_tanh"``).
    """

    def __init__(self, approximate: str = "none") -> None:
        self.approximate = one_of("approximate", approximate, ("none", "tanh"))

    @property
    def name(self) -> str:  # type: ignore[override]
        return "gelu_tanh" if self.approximate == "tanh" else "gelu"

    def __repr__(self) -> str:
        return f"GELU(approximate={self.approximate!r})"


class SiLU(Activation):
    """f(x) = x * sigmoid(x), also called swish (``torch.nn.SiLU``; string ``"silu"`` or ``"swish"``)."""

    name = "silu"


class Softplus(Activation):
    """f(x) = log(1 + exp(beta * x)) / beta, and x itself where ``beta * x > threshold``
    (``torch.nn.Softplus``, including its linear region).

    Args:
        beta: finite number > 0, default 1.0.
        threshold: finite real number, default 20.0.
    """

    name = "softplus"

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        self.beta = positive_float32("beta", beta)
        self.threshold = float32_number("threshold", threshold)

    def _params(self) -> Dict[str, float]:
        return {"beta": self.beta, "threshold": self.threshold}


class Sigmoid(Activation):
    """f(x) = 1 / (1 + exp(-x)), evaluated without overflow."""

    name = "sigmoid"


class Tanh(Activation):
    """f(x) = tanh(x)."""

    name = "tanh"


class Softmax(Activation):
    """Each row of the layer's output (batch, units) becomes exp(x_j) / sum_k exp(x_k) (computed
    shifted by the row maximum). Only allowed on the last layer; see the module docstring for how it
    trains with ``cross_entropy``."""

    name = "softmax"


_FACTORIES: Dict[str, Callable[..., Activation]] = {
    "identity": Identity,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "elu": ELU,
    "selu": SELU,
    "gelu": GELU,
    "gelu_tanh": lambda: GELU(approximate="tanh"),
    "silu": SiLU,
    "softplus": Softplus,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "softmax": Softmax,
}
_ALIASES = {"linear": "identity", "swish": "silu"}
NAMES = tuple(_FACTORIES)


def _from_name(given: str) -> Activation:
    from ._validation import unknown_name_error

    key = _ALIASES.get(given.lower(), given.lower())
    if key not in _FACTORIES:
        raise unknown_name_error("activation", given, NAMES)
    return _FACTORIES[key]()


def _from_config(config: Mapping[str, Any]) -> Activation:
    """``{"name": ..., **parameters}`` (``Activation.get_config()``) -> Activation; ValueError for a
    missing or unknown name, or a parameter the activation does not take."""
    name = config.get("name")
    if not isinstance(name, str):
        raise ValueError(f"an activation configuration needs a string 'name', got {config!r}")
    act = _from_name(name)
    params = {k: v for k, v in config.items() if k != "name"}
    if not params:
        return act
    allowed = set(act._params())
    unknown = sorted(set(params) - allowed)
    if unknown:
        takes = f"takes only {sorted(allowed)}" if allowed else "takes no parameters"
        raise ValueError(f"activation '{name}' {takes}, got {unknown}")
    try:
        return type(act)(**params)
    except TypeError as exc:  # a bool or string given for a number: report it as a bad value
        raise ValueError(f"activation '{name}': {exc}") from None


def get(activation: Union[str, Activation, Mapping[str, Any], None]) -> Activation:
    """Returns the Activation for a name (PyTorch's defaults), an Activation object, a
    ``get_config()`` dictionary, or None (identity)."""
    from ._validation import not_an_instance_error

    if activation is None:
        return Identity()
    if isinstance(activation, Activation):
        if activation.name not in _FACTORIES:  # a subclass the C++ core cannot run
            raise ValueError(
                f"activation {activation!r} has name {activation.name!r}, which the core does not implement; "
                f"expected one of: {', '.join(NAMES)}"
            )
        return activation
    if isinstance(activation, str):
        return _from_name(activation)
    if isinstance(activation, Mapping):
        return _from_config(activation)
    raise not_an_instance_error(
        "activation", activation, "a string such as 'relu', an fm.activations.Activation or None"
    )


def to_config(activation: Activation) -> Union[str, Dict[str, Any]]:
    """What a layer's configuration stores: the bare name when every parameter has its default
    (so files of models without parameterized activations look as they always did), else
    ``get_config()``."""
    factory = _FACTORIES.get(activation.name)
    if factory is None:  # an object set on a layer after construction, never validated
        raise ValueError(f"activation {activation!r} (name {activation.name!r}) is not one fastmlp can run")
    return activation.name if activation == factory() else activation.get_config()
