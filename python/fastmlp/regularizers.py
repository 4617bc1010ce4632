"""Weight penalties for ``fm.Dense(..., kernel_regularizer=...)``, with Keras's semantics.

A Dense layer with a regulariser adds ``l1 * sum(|W|) + l2 * sum(W**2)`` over its weight matrix W
(not the bias) to the loss that ``fit``, ``evaluate`` and ``train_step`` report, and its gradient
``l1 * sign(W) + 2 * l2 * W`` to W's gradient before the optimizer step. The penalty is computed in
the C++ core, one pass over the penalised layer's weights per step.
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict, Optional, Tuple, Type, Union

from ._validation import check_keys, check_mapping, in_context, non_negative_float32
from ._validation import not_an_instance_error, unknown_name_error

__all__ = ["Regularizer", "L1", "L2", "L1L2", "get", "from_config"]


class Regularizer:
    """A kernel penalty ``l1 * sum(|W|) + l2 * sum(W**2)``; l1, l2 are finite and >= 0."""

    #: The keys besides "type" that get_config writes (and from_config requires).
    config_keys: ClassVar[Tuple[str, ...]] = ("l1", "l2")

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = non_negative_float32("l1", l1)
        self.l2 = non_negative_float32("l2", l2)

    def get_config(self) -> Dict[str, Any]:
        return {"type": type(self).__name__, "l1": self.l1, "l2": self.l2}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Regularizer) and (self.l1, self.l2) == (other.l1, other.l2)

    def __hash__(self) -> int:
        return hash((self.l1, self.l2))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "type")
        return f"{type(self).__name__}({args})"


class L1(Regularizer):
    """``l1 * sum(|W|)`` (Keras: ``keras.regularizers.L1(l1=0.01)``)."""

    config_keys = ("l1",)

    def __init__(self, l1: float = 0.01) -> None:
        super().__init__(l1=l1, l2=0.0)

    def get_config(self) -> Dict[str, Any]:
        return {"type": "L1", "l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(W**2)`` (Keras: ``keras.regularizers.L2(l2=0.01)``; note: no factor 1/2)."""

    config_keys = ("l2",)

    def __init__(self, l2: float = 0.01) -> None:
        super().__init__(l1=0.0, l2=l2)

    def get_config(self) -> Dict[str, Any]:
        return {"type": "L2", "l2": self.l2}


class L1L2(Regularizer):
    """``l1 * sum(|W|) + l2 * sum(W**2)`` (Keras: ``keras.regularizers.L1L2(l1=0.0, l2=0.0)``)."""


_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}
_BY_TYPE: Dict[str, Type[Regularizer]] = {"L1": L1, "L2": L2, "L1L2": L1L2}


def get(regularizer: Union[str, Regularizer, None]) -> Optional[Regularizer]:
    """None, a Regularizer, or a name ``"l1"``, ``"l2"``, ``"l1_l2"`` (Keras's defaults)."""
    if regularizer is None or isinstance(regularizer, Regularizer):
        return regularizer
    if isinstance(regularizer, str):
        cls = _BY_NAME.get(regularizer.lower())
        if cls is None:
            raise unknown_name_error("regularizer", regularizer, ("l1", "l2", "l1_l2"))
        if cls is L1L2:  # Keras's string "l1_l2" means L1L2(l1=0.01, l2=0.01)
            return L1L2(l1=0.01, l2=0.01)
        return cls()
    raise not_an_instance_error(
        "kernel_regularizer", regularizer, "None, 'l1', 'l2', 'l1_l2' or an fm.regularizers.Regularizer"
    )


def from_config(config: Any, name: str = "config") -> Regularizer:
    """Rebuilds a regulariser from its ``get_config()`` dictionary, strictly: TypeError or
    ValueError naming `name` (e.g. ``"kernel_regularizer"``) for an unknown "type", a missing or
    unknown key, or a bad value."""
    cls = _BY_TYPE.get(str(check_mapping(name, config).get("type")))
    if cls is None:
        raise ValueError(f"{name} has unknown type {config.get('type')!r} (expected 'L1', 'L2' or 'L1L2')")
    check_keys(name, config, ("type", *cls.config_keys))
    try:
        return cls(**{key: config[key] for key in cls.config_keys})
    except (TypeError, ValueError) as exc:
        raise in_context(name, exc) from None
