"""``fm.check_gradients``: central finite differences of the loss against the core's backprop."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Dict, Optional

import numpy as np

from ._validation import non_negative_int, number_in, positive_int
from .layers import tensor_table

if TYPE_CHECKING:
    from .model import Sequential

__all__ = ["check_gradients"]


def check_gradients(
    model: "Sequential",
    X: Any,
    y: Any,
    eps: float = 1e-2,
    atol: Optional[float] = None,
    max_checks_per_tensor: Optional[int] = None,
    seed: int = 0,
) -> Dict[str, float]:
    """Checks the model's analytic gradients against central finite differences of its loss,
    like Deeplearning4j's GradientCheckUtil and PyTorch's gradcheck.

    The analytic gradient of the mean loss on (X, y) is computed by the C++ backward pass in
    inference mode (dropout off) without any update. Then, for each checked parameter ``p``, the
    loss is evaluated (in C++, float32 forward, float64 sums) at ``p + h`` and ``p - h`` with
    ``h = eps * max(1, |p|)``; the derivative is ``(L+ - L-) / (p+ - p-)`` where ``p+`` and ``p-``
    are the float32 values actually stored, so float32 rounding of the step causes no error. Each
    parameter is restored bit for bit afterwards; ``model.gradients()`` is overwritten with the
    analytic gradient.

    Args:
        model: a compiled, built ``fm.Sequential``.
        X: (n, input_dim) features; y: targets as for ``fit``.
        eps: relative step. The forward pass is float32, so the difference quotient carries a
            rounding noise of about 2^-23 |loss| / h against a truncation error of O(h^2); the
            default 1e-2 is near the classic optimum (float32's epsilon)^(1/3) ~ 5e-3. ReLU's kink
            breaks the check for an entry whose step moves a pre-activation across 0 (as in
            every finite-difference check); smooth activations have no such entries.
        atol: gradient magnitude below which differences count as absolute: the error of one
            entry is ``|g - fd| / max(|g|, |fd|, atol)``. Default: the larger of 1e-3 times the
            largest analytic gradient entry of the model and ``10 * 2**-23 * |loss| / eps``, ten
            times the float32 rounding noise of the difference quotient.
        max_checks_per_tensor: check at most this many entries per tensor, drawn with ``seed``
            (None: every entry; each costs two evaluations over X).

    Returns:
        {tensor name ("layers.{i}.weight" / "layers.{i}.bias", as in saved files): the largest
        error over its checked entries}. A correct backward pass gives values around 1e-2 or below;
        a wrong one gives values near 1 or above.
    """
    from .model import Sequential

    if not isinstance(model, Sequential):
        raise TypeError(f"model must be an fm.Sequential, got {type(model).__name__}")
    if not model.compiled:
        raise RuntimeError("call model.compile(loss=..., optimizer=...) before check_gradients")
    eps = number_in("eps", eps, 0.0, 1.0, low_open=True, high_open=True)
    if atol is not None:
        atol = number_in("atol", atol, 0.0, math.inf, low_open=True)
    if max_checks_per_tensor is not None:
        max_checks_per_tensor = positive_int("max_checks_per_tensor", max_checks_per_tensor)
    rng = np.random.default_rng(non_negative_int("seed", seed, below=2**64, below_text="2**64"))

    loss, analytic = model.loss_and_gradients(X, y)  # validates X and y
    if atol is None:
        largest = max((float(np.max(np.abs(g))) for g in analytic if g.size), default=0.0)
        # float32 rounding in the forward pass perturbs each loss by ~2^-23 |loss| at most, so
        # the difference quotient carries noise up to ~2^-23 |loss| / h: entries below ten times
        # that are compared in absolute terms
        noise = 10.0 * 2.0**-23 * abs(loss) / eps if np.isfinite(loss) else 0.0
        atol = max(1e-3 * largest, noise, 1e-12)
    params = model.parameters()
    assert model.input_dim is not None
    names = [name for name, _ in tensor_table(model.layers, model.input_dim).parameters]
    result: Dict[str, float] = {}
    for name, p, g in zip(names, params, analytic):
        flat_p, flat_g = p.reshape(-1), g.reshape(-1).astype(np.float64)
        indices = np.arange(flat_p.size)
        if max_checks_per_tensor is not None and flat_p.size > max_checks_per_tensor:
            indices = np.sort(rng.choice(flat_p.size, size=max_checks_per_tensor, replace=False))
        worst = 0.0
        for i in indices:
            orig = flat_p[i].copy()
            h = eps * max(1.0, abs(float(orig)))
            plus, minus = np.float32(float(orig) + h), np.float32(float(orig) - h)
            try:
                flat_p[i] = plus
                loss_plus = _loss_at(model, X, y)
                flat_p[i] = minus
                loss_minus = _loss_at(model, X, y)
            finally:
                flat_p[i] = orig
            fd = (loss_plus - loss_minus) / (float(plus) - float(minus))
            err = abs(flat_g[i] - fd) / max(abs(flat_g[i]), abs(fd), atol)
            worst = max(worst, err) if np.isfinite(err) else float("inf")
        result[name] = float(worst)
    return result


def _loss_at(model: "Sequential", X: Any, y: Any) -> float:
    """The mean loss over (X, y) at the current parameters; infinity where it is not finite."""
    try:
        return model.evaluate(X, y)["loss"]
    except FloatingPointError:
        return float("inf")
