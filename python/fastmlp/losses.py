"""Loss functions, by name or as objects: ``loss="mse"`` equals ``loss=MSE()``.

Reductions are means, exactly as PyTorch's defaults. The math runs in the C++ core.
"""

from __future__ import annotations

from typing import Union

__all__ = ["Loss", "MSE", "CrossEntropy", "get", "NAMES"]


class Loss:
    """Base class: ``name`` is the identifier the C++ core knows."""

    name: str = ""
    #: whether targets are integer class labels (else float arrays shaped like the output)
    classification: bool = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MSE(Loss):
    """Mean squared error over every output element (``torch.nn.MSELoss()``).

    Targets: float array of shape (n, outputs); a 1-D (n,) array is accepted for one output.
    """

    name = "mse"


class CrossEntropy(Loss):
    """Softmax cross-entropy on logits with integer class labels, mean over the batch
    (``torch.nn.CrossEntropyLoss()``). The softmax is fused and computed with log-sum-exp.

    Targets: integer labels of shape (n,) in [0, outputs).
    """

    name = "cross_entropy"
    classification = True


_BY_NAME = {cls.name: cls for cls in (MSE, CrossEntropy)}
_ALIASES = {
    "mean_squared_error": "mse",
    "crossentropy": "cross_entropy",
    "categorical_crossentropy": "cross_entropy",
    "sparse_categorical_crossentropy": "cross_entropy",
}
NAMES = tuple(_BY_NAME)


def get(loss: Union[str, Loss]) -> Loss:
    """Returns the Loss for a name or a Loss object."""
    from ._validation import not_an_instance_error, unknown_name_error

    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str):
        key = _ALIASES.get(loss.lower(), loss.lower())
        if key in _BY_NAME:
            return _BY_NAME[key]()
        raise unknown_name_error("loss", loss, NAMES)
    raise not_an_instance_error("loss", loss, "a string such as 'mse' or an fm.losses.Loss")
