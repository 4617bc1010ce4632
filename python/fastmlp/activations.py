"""Activation functions, by name or as objects: ``activation="relu"`` equals ``activation=ReLU()``.

The math runs in the C++ core; these classes only name it.
"""

from __future__ import annotations

from typing import Union

__all__ = ["Activation", "Identity", "ReLU", "Sigmoid", "Tanh", "get", "NAMES"]


class Activation:
    """Base class: ``name`` is the identifier the C++ core knows."""

    name: str = ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Activation) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)


class Identity(Activation):
    """f(x) = x (also accepted as ``"linear"`` or ``None``)."""

    name = "identity"


class ReLU(Activation):
    """f(x) = max(x, 0)."""

    name = "relu"


class Sigmoid(Activation):
    """f(x) = 1 / (1 + exp(-x)), evaluated without overflow."""

    name = "sigmoid"


class Tanh(Activation):
    """f(x) = tanh(x)."""

    name = "tanh"


_BY_NAME = {cls.name: cls for cls in (Identity, ReLU, Sigmoid, Tanh)}
_ALIASES = {"linear": "identity"}
NAMES = tuple(_BY_NAME)


def get(activation: Union[str, Activation, None]) -> Activation:
    """Returns the Activation for a name, an Activation object or None (identity)."""
    from ._validation import not_an_instance_error, unknown_name_error

    if activation is None:
        return Identity()
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str):
        key = _ALIASES.get(activation.lower(), activation.lower())
        if key in _BY_NAME:
            return _BY_NAME[key]()
        raise unknown_name_error("activation", activation, NAMES)
    raise not_an_instance_error(
        "activation", activation, "a string such as 'relu', an fm.activations.Activation or None"
    )
