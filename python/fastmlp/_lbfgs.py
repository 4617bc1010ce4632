"""scikit-learn's ``solver="lbfgs"`` for ``fastmlp.sklearn``: SciPy's L-BFGS-B over the flat
parameter vector, the loss and gradient of the whole training set from the C++ core.

scikit-learn's ``_fit_lbfgs`` calls ``scipy.optimize.minimize(fun, x0, method="L-BFGS-B",
jac=True, options={"maxiter": max_iter, "maxfun": max_fun, "gtol": tol})`` (plus ``iprint`` from
``verbose`` on SciPy < 1.15, where that option still exists); ``fit_lbfgs`` makes the same call
on the same objective:

- ``x`` is packed in scikit-learn's order: every ``coefs_[i]`` (fan_in, fan_out) raveled, then every
  ``intercepts_[i]``, as float64. Each evaluation writes ``x`` into the model's parameters (float32)
  and calls ``Sequential.loss_and_gradients`` once: forward and backward over the whole training
  set in C++ (multi-threaded), the L2 penalty included.
- The model is compiled with scikit-learn's loss times ``loss_scale`` (fastmlp's mse is
  ``mean((y - p)**2)``: ``loss_scale = 2 / n_outputs``; the cross-entropies: 1) and its penalty as
  an ``L2(loss_scale * alpha / (2 * sum(sample_weight)))`` regularizer; loss and gradient are divided
  by ``loss_scale``, giving scikit-learn's gradient. scikit-learn's *reported* squared-error loss
  averages over the outputs while its gradient sums over them; with ``n_outputs = k > 1`` the value
  handed to SciPy is rebuilt as scikit-learn's (``data / k + penalty``), so that L-BFGS-B sees the
  same function values as there.
- Precision: the core computes in float32 (the loss is accumulated in float64); SciPy's iterate
  is float64 and is rounded to float32 before each evaluation. Loss values carry a relative
  rounding error of about 1e-7, gradients about 1e-6 of their largest entries. Far from
  convergence the iterations follow scikit-learn's float64 ones; over many iterations of a
  non-convex fit the paths drift apart as any two rounding sequences do, to minima of the same
  quality. A ``tol`` that the gradient does not reach ends the fit, in both libraries, on
  SciPy's other test, the relative reduction of the loss (``ftol``, 2.2e-9): e.g. digits (600
  rows, 16 hidden units, alpha 1e-2) with tol 1e-6, 1e-8 or 0: scikit-learn after 606 iterations
  (loss 0.002771), fastmlp after 968 (0.002725), both converged (status 0); with tol 1e-4 both
  after 77 iterations on the gradient test.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from ._validation import positive_int
from .model import Sequential, _gradient_evaluator

__all__ = ["fit_lbfgs", "objective"]


def _pack(arrays: List[np.ndarray]) -> np.ndarray:
    """fastmlp's [W0 (out, in), b0, W1, b1, ...] as scikit-learn's float64 vector: every W.T
    raveled, then every bias."""
    parts = [w.T.ravel() for w in arrays[0::2]] + [b.ravel() for b in arrays[1::2]]
    return np.concatenate(parts).astype(np.float64)


def _unpack(x: np.ndarray, views: List[np.ndarray]) -> None:
    """Writes scikit-learn's vector x into the model's parameter views (rounded to float32)."""
    start = 0
    for w in views[0::2]:
        out_dim, in_dim = w.shape
        w[...] = x[start:start + in_dim * out_dim].reshape(in_dim, out_dim).T
        start += in_dim * out_dim
    for b in views[1::2]:
        b[...] = x[start:start + b.size]
        start += b.size


class _Layout:
    """Where each of fastmlp's tensors [W0 (out, in), b0, W1, b1, ...] lies in scikit-learn's
    vector (every W.T raveled, then every bias), for copies in both directions without the
    intermediate arrays of ``_pack`` / ``_unpack`` (the same values: float32 to float64 is exact,
    float64 to float32 rounds as ``astype``)."""

    def __init__(self, shapes: List[Tuple[int, ...]]) -> None:
        # (tensor index, start, stop, shape of the tensor's transpose as scikit-learn lays it out)
        self.slices: List[Tuple[int, int, int, Tuple[int, ...]]] = []
        start = 0
        for i in list(range(0, len(shapes), 2)) + list(range(1, len(shapes), 2)):
            shape = tuple(reversed(shapes[i]))
            size = int(np.prod(shape))
            self.slices.append((i, start, start + size, shape))
            start += size
        self.size = start

    def unpack(self, x: np.ndarray, views: List[np.ndarray]) -> None:
        """x (scikit-learn's float64 vector) into the float32 parameter views."""
        for i, start, stop, shape in self.slices:
            np.copyto(views[i].T, x[start:stop].reshape(shape), casting="same_kind")

    def pack(self, arrays: List[np.ndarray], out: np.ndarray) -> None:
        """The float32 tensors into out (float64, scikit-learn's order)."""
        for i, start, stop, shape in self.slices:
            np.copyto(out[start:stop].reshape(shape), arrays[i].T)


def objective(model: Sequential, X: Any, y: np.ndarray, sample_weight: Optional[np.ndarray], *,
              loss_scale: float, alpha: float, squared_error_outputs: int = 1,
              loss_offset: float = 0.0) -> Callable[[np.ndarray], Tuple[float, np.ndarray]]:
    """scikit-learn's ``_loss_grad_lbfgs`` for ``model``: x (float64, scikit-learn's packing) ->
    (loss, float64 gradient), writing x into the model's parameters. Arguments as ``fit_lbfgs``.

    X, y and sample_weight are checked and converted once, here, as ``loss_and_gradients``
    checks them; each evaluation then writes x into the parameters, runs the core's whole-set
    forward and backward (``_gradient_evaluator`` in fastmlp/model.py) and copies its float32 gradient
    buffers straight into a new float64 vector (one allocation; a new array each call, since
    SciPy keeps the gradients it is given)."""
    sw32 = None if sample_weight is None else np.ascontiguousarray(sample_weight, dtype=np.float32)
    evaluate = _gradient_evaluator(model, X, y, sw32)
    views = model.parameters()
    layout = _Layout([v.shape for v in views])
    weights = views[0::2]
    k = int(squared_error_outputs)
    weight_sum = float(np.shape(X)[0]) if sample_weight is None else float(np.sum(sample_weight, dtype=np.float64))
    half_alpha = 0.5 * float(alpha)

    def loss_and_grad(x: np.ndarray) -> Tuple[float, np.ndarray]:
        layout.unpack(x, views)
        loss, grads = evaluate()
        value = loss / loss_scale
        if k > 1:  # scikit-learn's value: squared error averaged over the outputs, the penalty once
            penalty = half_alpha * sum(float(np.dot(w.ravel(), w.ravel())) for w in weights) / weight_sum
            value = (value - penalty) / k + penalty
        value += loss_offset
        grad = np.empty(layout.size)
        layout.pack(grads, grad)
        if loss_scale != 1.0:
            grad /= loss_scale
        return value, grad

    return loss_and_grad


def fit_lbfgs(model: Sequential, X: Any, y: np.ndarray, sample_weight: Optional[np.ndarray], *,
              max_iter: int, max_fun: int, tol: float, verbose: Any, loss_scale: float, alpha: float,
              squared_error_outputs: int = 1, loss_offset: float = 0.0) -> Tuple[int, float, Any]:
    """Trains ``model`` (a compiled stack of Dense layers, scikit-learn's architecture, its
    penalty as L2 regularizers: see the module docstring) from its current weights with SciPy's
    L-BFGS-B, as scikit-learn's ``_fit_lbfgs``; leaves the final weights in the model.

    X: validated float32 (n, features), or a scipy.sparse matrix (taken as CSR rows, never
    densified); y: the targets as the model's loss takes them;
    sample_weight: float (n,) weights or None. max_iter, max_fun (>= 1) and tol are SciPy's
    ``maxiter``, ``maxfun`` and ``gtol``; verbose > 0 prints SciPy's progress where SciPy still
    has ``iprint`` (< 1.15), as scikit-learn. loss_scale: the model's loss over scikit-learn's;
    alpha: scikit-learn's penalty; squared_error_outputs: k > 1 for a squared-error fit with k
    outputs (scikit-learn's reported loss averages over them); loss_offset: a constant of the fit
    that scikit-learn's loss holds and the model's does not (the y-only term of the Poisson
    deviance), added to every value so that L-BFGS-B's relative-reduction test stops where
    scikit-learn's does.

    Returns (n_iter, loss, OptimizeResult): scikit-learn's ``n_iter_`` (``_check_optimize_result``,
    which warns ``ConvergenceWarning`` when L-BFGS-B did not converge) and ``loss_`` (the final
    objective value).
    """
    import scipy  # the sklearn extra: scikit-learn depends on SciPy
    import scipy.optimize
    from sklearn.utils.optimize import _check_optimize_result  # type: ignore[import-untyped,unused-ignore]

    max_iter = positive_int("max_iter", max_iter)
    max_fun = positive_int("max_fun", max_fun)
    fun = objective(model, X, y, sample_weight, loss_scale=loss_scale, alpha=alpha,
                    squared_error_outputs=squared_error_outputs, loss_offset=loss_offset)
    views = model.parameters()
    options: Dict[str, Any] = {"maxiter": max_iter, "maxfun": max_fun, "gtol": float(tol)}
    if tuple(int(p) for p in scipy.__version__.split(".")[:2]) < (1, 15):
        options["iprint"] = 1 if (verbose is True or verbose >= 1) else -1
    result = scipy.optimize.minimize(fun, _pack(views), method="L-BFGS-B", jac=True, options=options)
    n_iter = int(_check_optimize_result("lbfgs", result, max_iter))
    _unpack(result.x, views)
    return n_iter, float(result.fun), result
