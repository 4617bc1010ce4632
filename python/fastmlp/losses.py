"""Loss functions, by name or as objects: ``loss="mse"`` equals ``loss=MSE()``.

Reductions are means, exactly as PyTorch's defaults. The math runs in the C++ core.

Weights (``fit(..., sample_weight=, class_weight=)``): each term of the loss (an element for mse,
mae, huber, poisson and binary_cross_entropy, a sample for cross_entropy) gets the weight
``sample_weight[i] * class weight`` and the loss is the weighted mean
``sum(w * term) / sum(w)``. With class weights alone this is PyTorch's
``CrossEntropyLoss(weight=...)`` 'mean'; for sample weights it is Keras's
``reduction="mean_with_sample_weight"`` (not Keras's default "sum_over_batch_size", which divides by
the number of samples), so integer sample weights equal repeating samples.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from ._validation import (
    as_numeric_array,
    as_targets,
    is_int,
    non_negative_float32,
    not_an_instance_error,
    number_in,
    unknown_name_error,
)

__all__ = ["Loss", "MSE", "MAE", "Huber", "Poisson", "CrossEntropy", "BinaryCrossEntropy", "get", "NAMES"]

#: rows of probability targets must sum to 1 within this absolute tolerance
PROBABILITY_SUM_TOLERANCE = 1e-3


class Loss:
    """Base class: ``name`` is the identifier the C++ core knows."""

    name: str = ""
    #: whether the "accuracy" metric applies (classification losses); "mse"/"mae" metrics otherwise
    classification: bool = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def _core_args(self) -> Dict[str, float]:
        """Keyword arguments of ``_core.Network.set_loss`` besides the name."""
        return {}

    def _targets(self, y: Any, n: int, n_outputs: int, name: str = "y", x_name: str = "X") -> np.ndarray:
        """Validated targets: float32 (n, n_outputs), C-contiguous."""
        return as_targets(y, False, n, n_outputs, name, x_name, self.name)

    def _metric_outputs(self, outputs: np.ndarray) -> np.ndarray:
        """What the prediction-based metrics (r2) compare with y: the outputs themselves, or for
        poisson the predicted mean ``exp(outputs)``."""
        return outputs

    def _class_weight(self, class_weight: Any, n_outputs: int) -> np.ndarray:
        raise ValueError(
            f"class_weight needs a classification loss (cross_entropy or binary_cross_entropy), "
            f"but the loss is '{self.name}'"
        )


class MSE(Loss):
    """Mean squared error over every output element (``torch.nn.MSELoss()``).

    Targets: float array of shape (n, outputs); a 1-D (n,) array is accepted for one output.
    """

    name = "mse"


class MAE(Loss):
    """Mean absolute error over every output element (``torch.nn.L1Loss()``); its gradient at a zero
    error is 0, as torch's. Targets as for MSE."""

    name = "mae"


class Huber(Loss):
    """Huber loss over every output element (``torch.nn.HuberLoss(delta=delta)``):
    ``0.5 * e**2`` where ``|e| <= delta``, ``delta * (|e| - delta / 2)`` beyond. Targets as for MSE.

    Args:
        delta: positive, finite threshold between the quadratic and the linear part.
    """

    name = "huber"

    def __init__(self, delta: float = 1.0) -> None:
        self.delta = number_in("delta", delta, 0.0, math.inf, low_open=True, high_open=True)

    def __repr__(self) -> str:
        return f"Huber(delta={self.delta!r})"

    def _core_args(self) -> Dict[str, float]:
        return {"huber_delta": self.delta}


class Poisson(Loss):
    """Poisson negative log-likelihood with a log link, mean over every output element
    (``torch.nn.PoissonNLLLoss(log_input=True, full=False)``): ``exp(z) - y z``, where the output z
    is the log of the predicted mean. ``predict`` returns z: the predicted mean is
    ``np.exp(model.predict(X))``. The gradient is ``exp(z) - y``; ``exp`` is not clipped: an output
    z above ~88 (plus the log of the batch's element count) overflows the float32 gradient and one
    above ~709 the float64 loss, which ``fit`` and ``train_step`` report as divergence
    (FloatingPointError, the weights kept from before that step).

    The "mse", "mae" and "r2" metrics compare the predicted mean ``exp(z)`` with y. scikit-learn's
    half Poisson deviance ``exp(z) - y z + (y log y - y)`` differs by a term that depends on y only
    (same gradient); ``fastmlp.sklearn.MLPRegressor(loss="poisson")`` reports it as scikit-learn does.

    Targets: counts or rates, floats >= 0 of shape (n, outputs) (a 1-D (n,) array for one output).
    """

    name = "poisson"

    def _targets(self, y: Any, n: int, n_outputs: int, name: str = "y", x_name: str = "X") -> np.ndarray:
        values = as_targets(y, False, n, n_outputs, name, x_name, self.name)
        if values.size and float(values.min()) < 0.0:
            raise ValueError(
                f"Some value(s) of {name} are negative which is not allowed for Poisson regression "
                f"(loss 'poisson': targets must be >= 0, got a minimum of {float(values.min()):g})."
            )
        return values

    def _metric_outputs(self, outputs: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            mean: np.ndarray = np.exp(outputs.astype(np.float64))
        return mean


class CrossEntropy(Loss):
    """Softmax cross-entropy on logits, mean over the batch (``torch.nn.CrossEntropyLoss()``). The
    softmax is fused and computed with log-sum-exp (finite for any finite logits).

    Targets: integer class labels of shape (n,) in [0, outputs) (a column (n, 1) is taken as labels,
    as Keras's ``sparse_categorical_crossentropy`` and scikit-learn take it), or probability rows: a
    float array of shape (n, outputs) with entries in [0, 1] whose rows sum to 1 (one-hot rows
    included), as torch's probability targets. The model needs one output per class: for two
    classes use ``binary_cross_entropy`` with one output, or two outputs (``compile`` refuses
    cross_entropy for a one-output model, with that advice).

    Args:
        label_smoothing: in [0, 1]; the targets become ``(1 - label_smoothing) * target +
            label_smoothing / outputs`` (PyTorch's formula, class weights included).
    """

    name = "cross_entropy"
    classification = True

    def __init__(self, label_smoothing: float = 0.0) -> None:
        self.label_smoothing = number_in("label_smoothing", label_smoothing, 0.0, 1.0)

    def __repr__(self) -> str:
        return f"CrossEntropy(label_smoothing={self.label_smoothing!r})"

    def _core_args(self) -> Dict[str, float]:
        return {"label_smoothing": self.label_smoothing}

    def _targets(self, y: Any, n: int, n_outputs: int, name: str = "y", x_name: str = "X") -> np.ndarray:
        try:
            shape = np.shape(y)
        except Exception:  # ragged lists: as_targets reports them
            shape = ()
        if len(shape) == 2 and n_outputs > 1 and shape[1] == n_outputs:
            # (n, outputs) rows are probability targets (torch's rule: the input's shape, float)
            return _check_probabilities(as_targets(y, False, n, n_outputs, name, x_name, self.name), name)
        return as_targets(y, True, n, n_outputs, name, x_name, self.name)

    def _class_weight(self, class_weight: Any, n_outputs: int) -> np.ndarray:
        return _class_weight_vector(class_weight, n_outputs, f"class labels in [0, {n_outputs})")


class BinaryCrossEntropy(Loss):
    """Sigmoid binary cross-entropy on logits, mean over every output element
    (``torch.nn.BCEWithLogitsLoss()``), in the stable form ``max(z, 0) - y z + log1p(exp(-|z|))``
    (finite for any finite logits). The "accuracy" metric thresholds the logits at 0 and the targets
    at 0.5, per element. A sigmoid on the output layer (Keras's ``Dense(1, activation="sigmoid")``)
    is fused with this loss: training uses that layer's logits and ``predict`` its probabilities.

    Targets: float array of shape (n, outputs) with values in [0, 1] (a 1-D (n,) array for one output).
    """

    name = "binary_cross_entropy"
    classification = True

    def _targets(self, y: Any, n: int, n_outputs: int, name: str = "y", x_name: str = "X") -> np.ndarray:
        values = as_targets(y, False, n, n_outputs, name, x_name, self.name)
        lo, hi = float(values.min()), float(values.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"{name} must hold targets in [0, 1] for binary_cross_entropy, got values in [{lo:g}, {hi:g}]"
            )
        return values

    def _class_weight(self, class_weight: Any, n_outputs: int) -> np.ndarray:
        return _class_weight_vector(class_weight, 2, "0 (negative) and 1 (positive)")


def _check_probabilities(probs: np.ndarray, name: str) -> np.ndarray:
    lo, hi = float(probs.min()), float(probs.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"{name} probability targets for cross_entropy must be in [0, 1], got values in [{lo:g}, {hi:g}]"
        )
    sums = probs.sum(axis=1, dtype=np.float64)
    bad = np.flatnonzero(np.abs(sums - 1.0) > PROBABILITY_SUM_TOLERANCE)
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{name} probability targets for cross_entropy must have rows summing to 1, "
            f"got a sum of {sums[i]:.6g} in row {i} ({bad.size} such rows)"
        )
    return probs


def _class_weight_vector(class_weight: Any, size: int, keys_text: str) -> np.ndarray:
    """{class: weight} -> float32 (size,), classes not named weighing 1 (as Keras)."""
    if not isinstance(class_weight, dict):
        raise TypeError(f"class_weight must be a dict {{class: weight}}, got {type(class_weight).__name__}")
    out = np.ones(size, dtype=np.float32)
    for key, weight in class_weight.items():
        if not is_int(key) or not 0 <= key < size:
            raise ValueError(f"class_weight keys must be {keys_text}, got the key {key!r}")
        out[int(key)] = non_negative_float32(f"class_weight[{key!r}]", weight)
    return out


def _sample_weight(sample_weight: Any, n: int, name: str = "sample_weight") -> Optional[np.ndarray]:
    """None, or float32 (n,) of non-negative finite weights, not all zero."""
    if sample_weight is None:
        return None
    arr = as_numeric_array(name, sample_weight)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},), one weight per sample, got shape {arr.shape}")
    with np.errstate(over="ignore"):
        arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values, or values too large for float32")
    if arr.min() < 0:
        raise ValueError(f"{name} must be non-negative, got a minimum of {float(arr.min()):g}")
    if not arr.any():
        raise ValueError(f"{name} is all zeros: at least one sample must have a positive weight")
    return arr


def _sample_and_class_weights(
    loss: Loss, y: np.ndarray, n_outputs: int, sample_weight: Any, class_weight: Any
) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
    """Validated (sample_weight (n,), class_weight vector) for the converted targets y, or Nones.
    ValueError when the weights of every term are zero together."""
    sw = _sample_weight(sample_weight, y.shape[0])
    if class_weight is None:
        return sw, None
    if isinstance(loss, CrossEntropy) and y.ndim == 2:
        raise ValueError(
            "class_weight needs integer class labels for cross_entropy, got probability targets "
            "(weight the probabilities instead)"
        )
    cw = loss._class_weight(class_weight, n_outputs)
    if isinstance(loss, CrossEntropy):
        per_row = cw[y].astype(np.float64)
    else:
        per_row = (y * cw[1] + (1.0 - y) * cw[0]).sum(axis=1, dtype=np.float64)
    total = float(per_row @ sw) if sw is not None else float(per_row.sum())
    if not total > 0.0:
        raise ValueError(
            f"class_weight {class_weight!r} (with sample_weight) gives every sample a zero weight"
        )
    return sw, cw


_BY_NAME = {cls.name: cls for cls in (MSE, MAE, Huber, Poisson, CrossEntropy, BinaryCrossEntropy)}
#: other spellings (Keras's, PyTorch's), lower case -> the canonical name. Every cross-entropy here
#: takes logits, whatever the spelling; a softmax (sigmoid) output layer is fused with (binary) cross_entropy (see
#: docs/names.md, which lists this table; a test keeps the two in step)
_ALIASES = {
    # Keras
    "mean_squared_error": "mse",
    "mean_absolute_error": "mae",
    "categorical_crossentropy": "cross_entropy",
    "sparse_categorical_crossentropy": "cross_entropy",
    "binary_crossentropy": "binary_cross_entropy",
    # PyTorch: torch.nn.functional's and torch.nn's names (lower case)
    "mse_loss": "mse",
    "mseloss": "mse",
    "l1": "mae",
    "l1_loss": "mae",
    "l1loss": "mae",
    "huber_loss": "huber",
    "huberloss": "huber",
    "poisson_nll_loss": "poisson",
    "poissonnllloss": "poisson",
    "crossentropy": "cross_entropy",
    "crossentropyloss": "cross_entropy",
    "bce": "binary_cross_entropy",
    "bce_with_logits": "binary_cross_entropy",
    "bcewithlogitsloss": "binary_cross_entropy",
    "binary_cross_entropy_with_logits": "binary_cross_entropy",
}
NAMES = tuple(_BY_NAME)


def get(loss: Union[str, Loss]) -> Loss:
    """Returns the Loss for a name (one of ``NAMES``, or a Keras or PyTorch spelling in ``_ALIASES``,
    case-insensitive; docs/names.md) or a Loss object."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str):
        key = _ALIASES.get(loss.lower(), loss.lower())
        if key in _BY_NAME:
            return _BY_NAME[key]()
        raise unknown_name_error("loss", loss, NAMES, _ALIASES)
    raise not_an_instance_error("loss", loss, "a string such as 'mse' or an fm.losses.Loss")
