"""scikit-learn estimators backed by fastmlp: ``MLPClassifier`` and ``MLPRegressor``.

    from fastmlp.sklearn import MLPClassifier
    clf = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(64,), max_iter=50))
    clf.fit(X, y).score(X_test, y_test)

They take scikit-learn's ``sklearn.neural_network.MLPClassifier`` / ``MLPRegressor`` parameters
where they mean the same and train an ``fm.Sequential`` (``model_``) in fastmlp's C++ core. This
module imports scikit-learn (the ``fastmlp[sklearn]`` extra, scikit-learn >= 1.6); ``import fastmlp``
does not import it.

How scikit-learn's objective is reproduced:

- Architecture: ``Dense`` hidden layers with ``activation`` (``"identity"``, ``"logistic"`` = sigmoid,
  ``"tanh"``, ``"relu"``), a linear output layer. Multiclass: softmax cross-entropy on the logits
  (sklearn's softmax + log-loss); binary: one output with binary cross-entropy on its logit
  (sklearn's logistic output + binary log-loss); regression: identity output, squared error.
- Initial weights and biases: scikit-learn's Glorot-uniform draw, bound ``sqrt(6 / (fan_in +
  fan_out))`` (``sqrt(2 / ...)`` for ``"logistic"``), from ``random_state`` in scikit-learn's order.
  The batch shuffling uses fastmlp's generator, seeded from ``random_state``: the same
  ``random_state`` gives identical predictions; the batches differ from scikit-learn's.
- ``alpha``: scikit-learn adds ``0.5 * alpha * sum(W**2) / batch_samples`` (all weight matrices,
  not the biases) to each batch's loss. fastmlp's ``fm.regularizers.L2(l2)`` adds
  ``l2 * sum(W**2)``, so every Dense layer gets ``l2 = c * alpha / (2 * batch_size)`` (``c``
  below). The penalty is fixed per fit, so the last, smaller batch of an epoch gets the penalty of
  a full batch (scikit-learn divides by that batch's size); everything else is the same function.
  With ``sample_weight`` each batch's loss is the weighted mean, as scikit-learn's, whose penalty
  divides by the batch's weight sum: here by ``batch_size`` times the mean training weight (exact
  for full batches and for uniform weights).
- Loss scale ``c``: fastmlp's mse is ``mean((y - p)**2)`` over every element, whose gradient is
  ``c = 2 / n_outputs`` times that of scikit-learn's ``0.5 * sum over outputs, mean over samples``;
  the cross-entropies have ``c = 1``. To follow scikit-learn's steps, ``solver="sgd"`` runs with
  learning rate ``lr / c``, ``solver="adam"`` (invariant to the scale) with ``epsilon * c``, and
  ``loss_curve_`` holds fastmlp's epoch loss divided by ``c`` (for one output exactly scikit-learn's
  loss; with k outputs scikit-learn reports its squared-error term divided by k).
- Optimizers: ``"sgd"`` is ``fm.optim.SGD(momentum=momentum, nesterov=nesterovs_momentum)``
  (PyTorch's form, equal to scikit-learn's velocity update at a constant rate); ``"adam"`` is
  PyTorch's Adam, which applies ``epsilon`` after the bias correction of the second moment
  (scikit-learn before it; the two agree once ``beta_2**t`` is small). ``"lbfgs"`` is SciPy's
  L-BFGS-B on the whole training set, as scikit-learn's (``max_iter``, ``max_fun``, ``tol`` =
  SciPy's maxiter, maxfun, gtol; loss and gradient from the C++ core in one call, the penalty as
  ``L2(c * alpha / (2 * sum of sample weights))``; see ``fastmlp._lbfgs``); it sets no
  ``loss_curve_`` / ``best_loss_``, and ``partial_fit`` is then unavailable, as there.
  ``learning_rate`` (``"constant"``, ``"invscaling"``, ``"adaptive"``) and ``power_t`` act for
  ``"sgd"`` as in scikit-learn; when the rate changes, the momentum buffer is
  rescaled by old/new rate so that the steps stay scikit-learn's (its velocity keeps the old rate).
  As in scikit-learn, ``fit`` (warm start included) starts a new optimizer, ``partial_fit`` keeps it.
- Stopping: scikit-learn's rule. After each epoch (an "iteration") the epoch's mean training loss
  is appended to ``loss_curve_``; an epoch that does not improve on ``best_loss_`` by more than
  ``tol`` counts as no improvement, and more than ``n_iter_no_change`` of them in a row stop the
  fit. With ``early_stopping=True`` a stratified (classifier) ``validation_fraction`` of the data
  is held out, its score (accuracy / R²) goes to ``validation_scores_`` and drives the rule, and
  the best-scoring weights are restored at the end. Reaching ``max_iter`` epochs otherwise warns
  ``sklearn.exceptions.ConvergenceWarning``.

Differences: a regressor fit on y of shape (n, 1) predicts (n, 1) (scikit-learn warns and
predicts (n,)); predictions and probabilities are float64 computed from float32 network outputs.
Not supported: sparse X, multilabel / multi-output classification (ValueError),
the Poisson loss. A diverging fit raises ValueError.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar, Union, cast

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin  # type: ignore[import-untyped,unused-ignore]
from sklearn.exceptions import ConvergenceWarning  # type: ignore[import-untyped,unused-ignore]
from sklearn.metrics import accuracy_score, r2_score  # type: ignore[import-untyped,unused-ignore]
from sklearn.model_selection import train_test_split  # type: ignore[import-untyped,unused-ignore]
from sklearn.utils import check_random_state  # type: ignore[import-untyped,unused-ignore]
from sklearn.utils.metaestimators import available_if  # type: ignore[import-untyped,unused-ignore]
from sklearn.utils.multiclass import check_classification_targets  # type: ignore[import-untyped,unused-ignore]
from sklearn.utils.validation import (  # type: ignore[import-untyped,unused-ignore]
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from . import optim as _optim
from ._compiled_metrics import higher_is_better
from ._validation import check_bool, is_int, number_in, one_of, positive_int
from .callbacks import Callback
from .layers import Dense, Layer
from .model import Sequential
from .regularizers import L2

__all__ = ["MLPClassifier", "MLPRegressor"]

ArrayLike = Any

#: scikit-learn's hidden-layer activation names -> fastmlp's
_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
_SOLVERS = ("lbfgs", "sgd", "adam")
_LEARNING_RATES = ("constant", "invscaling", "adaptive")


# ------------------------------------------------------------------------------ parameter checks
def _hidden_sizes(value: Any) -> List[int]:
    """hidden_layer_sizes as a list of positive ints (an int means one hidden layer)."""
    items = [value] if is_int(value) else value
    try:
        sizes = list(items)
    except TypeError:
        raise ValueError(
            f"hidden_layer_sizes must be a positive integer or a sequence of them such as (100,), got {value!r}"
        ) from None
    for size in sizes:
        if not is_int(size) or int(size) <= 0:
            raise ValueError(
                f"hidden_layer_sizes must be a positive integer or a sequence of them such as (100,), "
                f"got {value!r}"
            )
    return [int(s) for s in sizes]


def _stochastic_solver(estimator: Any) -> bool:
    """partial_fit exists for "sgd" and "adam" only, as in scikit-learn (lbfgs: AttributeError)."""
    if estimator.solver == "lbfgs":
        raise AttributeError("partial_fit is only available for stochastic optimizers. lbfgs is not stochastic.")
    return True


_F = TypeVar("_F", bound=Callable[..., Any])


def _if_stochastic(method: _F) -> _F:
    """scikit-learn's available_if(_stochastic_solver), typed."""
    return cast(_F, available_if(_stochastic_solver)(method))


# ------------------------------------------------------------------------------ the epoch hook
def _set_sgd_learning_rate(model: Sequential, lr: float) -> None:
    """Changes SGD's rate as scikit-learn does: its velocity holds steps already scaled by the old
    rate (``v = momentum * v - lr * g``), PyTorch's buffer holds gradients (``p -= lr * buf``), so
    the buffer is rescaled by old/new to continue on scikit-learn's path."""
    old = model.learning_rate
    if lr == old:
        return
    if lr > 0.0 and old > 0.0:
        state = model.optimizer_state()
        if "momentum_buffer" in state:
            state["momentum_buffer"] = state["momentum_buffer"] * np.float32(old / lr)
            model.set_optimizer_state(state)
    model.learning_rate = lr


class _IterationEnd(Callback):
    """After each epoch of ``model_.fit``: scikit-learn's bookkeeping and stopping rule."""

    def __init__(self, estimator: "_BaseMLP", X_val: Optional[np.ndarray], y_val: Optional[np.ndarray],
                 sw_val: Optional[np.ndarray], n_train: int, incremental: bool) -> None:
        self.estimator = estimator
        self.X_val, self.y_val, self.sw_val = X_val, y_val, sw_val
        self.n_train = n_train
        self.incremental = incremental
        self.converged = False

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
        est = self.estimator
        assert self.model is not None
        est.n_iter_ += 1
        est.loss_ = float(logs["loss"]) / est._loss_scale
        est.t_ += self.n_train
        est.loss_curve_.append(est.loss_)
        if est.verbose:
            print("Iteration %d, loss = %.8f" % (est.n_iter_, est.loss_))
        est._update_no_improvement_count(self.X_val, self.y_val, self.sw_val)
        if est.solver == "sgd" and est.learning_rate == "invscaling":  # scikit-learn's iteration_ends
            lr = est.learning_rate_init / (est.t_ + 1) ** est.power_t
            _set_sgd_learning_rate(self.model, lr / est._loss_scale)
        if est._no_improvement_count > est.n_iter_no_change:
            what = "Validation score" if est.early_stopping else "Training loss"
            msg = f"{what} did not improve more than tol={est.tol:f} for {est.n_iter_no_change} consecutive epochs."
            if self._trigger_stopping(msg):
                self.converged = True
                self.model.stop_training = True
            else:
                est._no_improvement_count = 0
        if self.incremental:
            self.model.stop_training = True

    def _trigger_stopping(self, msg: str) -> bool:
        """scikit-learn's optimizer.trigger_stopping: "adaptive" SGD divides the rate by 5 instead
        of stopping until it falls to 1e-6."""
        est = self.estimator
        assert self.model is not None
        if est.solver == "sgd" and est.learning_rate == "adaptive":
            lr = self.model.learning_rate * est._loss_scale
            if lr <= 1e-6:
                if est.verbose:
                    print(msg + " Learning rate too small. Stopping.")
                return True
            lr /= 5.0
            _set_sgd_learning_rate(self.model, lr / est._loss_scale)
            if est.verbose:
                print(msg + " Setting learning rate to %f" % lr)
            return False
        if est.verbose:
            print(msg + " Stopping.")
        return True


# ------------------------------------------------------------------------------ the estimators
class _BaseMLP(BaseEstimator):  # type: ignore[misc,unused-ignore]
    """What MLPClassifier and MLPRegressor share; see the module docstring."""

    _fm_loss: str = "mse"
    #: the early-stopping validation score as a logged name (its direction: higher_is_better)
    _score_name: str = "val_r2"
    # fitted state (set by fit; declared for the type checker only)
    model_: Sequential
    n_iter_: int
    t_: int
    loss_: float
    _l2: float
    _loss_scale: float
    _no_improvement_count: int
    _best_params: List[np.ndarray]

    def __init__(
        self,
        hidden_layer_sizes: Union[int, Sequence[int]] = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: Union[int, str] = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Union[int, np.random.RandomState, None] = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        max_fun: int = 15000,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun

    # -------------------------------------------------------------- hooks for the subclasses
    def _validate_input(self, X: ArrayLike, y: ArrayLike, incremental: bool, reset: bool,
                        classes: Optional[ArrayLike] = None) -> Tuple[np.ndarray, np.ndarray, int]:
        """(X float32 (n, features), y as fastmlp's loss takes it, number of network outputs)."""
        raise NotImplementedError

    def _validation_score(self, X: np.ndarray, y: np.ndarray, sample_weight: Optional[np.ndarray]) -> float:
        raise NotImplementedError

    # -------------------------------------------------------------- checks
    def _check_params(self) -> List[int]:
        """Validates every hyperparameter; returns the hidden sizes. Raises ValueError naming the
        parameter, as scikit-learn does, also for a wrong type."""
        try:
            return self._checked_params()
        except TypeError as exc:
            raise ValueError(str(exc)) from None

    def _checked_params(self) -> List[int]:
        """The checks of _check_params, raising the validators' own exception types."""
        one_of("solver", self.solver, _SOLVERS)
        sizes = _hidden_sizes(self.hidden_layer_sizes)
        one_of("activation", self.activation, tuple(_ACTIVATIONS))
        number_in("alpha", self.alpha, 0.0, math.inf, high_open=True)
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            if not is_int(self.batch_size) or int(self.batch_size) < 1:
                raise ValueError(f"batch_size must be 'auto' or an integer >= 1, got {self.batch_size!r}")
        one_of("learning_rate", self.learning_rate, _LEARNING_RATES)
        number_in("learning_rate_init", self.learning_rate_init, 0.0, math.inf, low_open=True, high_open=True)
        number_in("power_t", self.power_t, 0.0, math.inf, high_open=True)
        positive_int("max_iter", self.max_iter)
        check_bool("shuffle", self.shuffle)
        if not (self.random_state is None or is_int(self.random_state)
                or isinstance(self.random_state, np.random.RandomState)):
            raise ValueError(
                f"random_state must be None, an integer or a numpy.random.RandomState, got {self.random_state!r}"
            )
        number_in("tol", self.tol, 0.0, math.inf, high_open=True)
        if not isinstance(self.verbose, (bool, np.bool_)) and not is_int(self.verbose):
            raise ValueError(f"verbose must be True or False, got {self.verbose!r}")
        check_bool("warm_start", self.warm_start)
        number_in("momentum", self.momentum, 0.0, 1.0)
        check_bool("nesterovs_momentum", self.nesterovs_momentum)
        check_bool("early_stopping", self.early_stopping)
        number_in("validation_fraction", self.validation_fraction, 0.0, 1.0, low_open=True, high_open=True)
        number_in("beta_1", self.beta_1, 0.0, 1.0, high_open=True)
        number_in("beta_2", self.beta_2, 0.0, 1.0, high_open=True)
        number_in("epsilon", self.epsilon, 0.0, math.inf, low_open=True, high_open=True)
        positive_int("n_iter_no_change", self.n_iter_no_change)
        return sizes

    # -------------------------------------------------------------- building
    def _initial_parameters(self, layer_units: List[int], rs: np.random.RandomState) -> List[np.ndarray]:
        """scikit-learn's _init_coef for each layer, in fastmlp's order [W0 (out, in), b0, ...]."""
        factor = 2.0 if self.activation == "logistic" else 6.0
        params: List[np.ndarray] = []
        for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
            bound = np.sqrt(factor / (fan_in + fan_out))
            coef = rs.uniform(-bound, bound, (fan_in, fan_out))
            intercept = rs.uniform(-bound, bound, fan_out)
            params += [np.ascontiguousarray(coef.T, dtype=np.float32), intercept.astype(np.float32)]
        return params

    def _new_model(self, layer_units: List[int], l2: float, seed: int) -> Sequential:
        act = _ACTIVATIONS[self.activation]
        reg = L2(l2) if l2 > 0.0 else None
        layers: List[Layer] = [Dense(u, activation=act, kernel_regularizer=reg) for u in layer_units[1:-1]]
        layers.append(Dense(layer_units[-1], kernel_regularizer=reg))
        return Sequential(layers, input_dim=layer_units[0], seed=seed)

    def _optimizer(self) -> _optim.Optimizer:
        c = self._loss_scale
        if self.solver == "sgd":
            momentum = float(self.momentum)
            return _optim.SGD(lr=float(self.learning_rate_init) / c, momentum=momentum,
                              nesterov=bool(self.nesterovs_momentum) and momentum > 0.0)
        return _optim.Adam(lr=float(self.learning_rate_init), betas=(float(self.beta_1), float(self.beta_2)),
                           eps=float(self.epsilon) * c)

    def _prepare_model(self, params: Optional[List[np.ndarray]], layer_units: List[int], l2: float,
                       incremental: bool, rs: np.random.RandomState) -> Sequential:
        """The network to train: a new one holding `params`, or ``model_`` (rebuilt when the
        penalty changed, keeping the optimizer state for partial_fit); a new optimizer except for
        partial_fit, as scikit-learn."""
        old: Optional[Sequential] = None if params is not None else self.model_
        if old is not None and math.isclose(self._l2, l2, rel_tol=0.0, abs_tol=0.0):
            model = old
        else:
            model = self._new_model(layer_units, l2, seed=int(rs.randint(np.iinfo(np.int32).max)))
            source = params if params is not None else [p.copy() for p in old.parameters()]  # type: ignore[union-attr]
            for view, value in zip(model.parameters(), source):
                view[...] = value
        if model is not old or not incremental:
            model.compile(loss=self._fm_loss, optimizer=self._optimizer())
            if old is not None and model is not old and incremental:  # keep partial_fit's optimizer state
                model.set_optimizer_state(old.optimizer_state())
                model.learning_rate = old.learning_rate
        self._l2 = l2
        return model

    # -------------------------------------------------------------- training
    def _fit(self, X: ArrayLike, y: ArrayLike, sample_weight: Optional[ArrayLike], incremental: bool,
             classes: Optional[ArrayLike] = None) -> Any:
        sizes = self._check_params()
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        X, y, n_outputs = self._validate_input(X, y, incremental, reset=first_pass, classes=classes)
        sw: Optional[np.ndarray] = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        n_features = X.shape[1]
        layer_units = [n_features, *sizes, n_outputs]
        if not first_pass and self.model_.output_dim != n_outputs:
            raise ValueError(
                f"y has {n_outputs} output(s), but the fitted network has {self.model_.output_dim}; "
                "fit from scratch (warm_start=False) to change it"
            )
        if not first_pass and [d.units for d in self.model_.layers if isinstance(d, Dense)] != layer_units[1:]:
            raise ValueError(
                f"hidden_layer_sizes={self.hidden_layer_sizes!r} differs from the fitted network's; "
                "fit from scratch (warm_start=False) to change it"
            )
        self._loss_scale = 2.0 / n_outputs if self._fm_loss == "mse" else 1.0
        rs = check_random_state(self.random_state)
        params = None
        if first_pass:
            self.n_iter_ = 0
            self.t_ = 0
            self.n_outputs_ = n_outputs
            self.n_layers_ = len(layer_units)
            self.out_activation_ = {"cross_entropy": "softmax", "binary_cross_entropy": "logistic"}.get(
                self._fm_loss, "identity")
            params = self._initial_parameters(layer_units, rs)
            self.loss_curve_: List[float] = []
            self._no_improvement_count = 0
            self._best_params = [p.copy() for p in params]
            if self.early_stopping:
                self.validation_scores_: Optional[List[float]] = []
                self.best_validation_score_: Optional[float] = -np.inf
                self.best_loss_: Optional[float] = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

        if self.solver == "lbfgs":  # the whole training set at once: see fastmlp._lbfgs
            return self._fit_lbfgs(X, y, sw, params, layer_units, first_pass, rs)
        if not hasattr(self, "loss_curve_"):  # warm start after an lbfgs fit: start the bookkeeping
            self.loss_curve_, self._no_improvement_count = [], 0
            self.best_loss_, self.validation_scores_, self.best_validation_score_ = None, None, None
        X_val = y_val = sw_val = None
        if self.early_stopping:
            stratify = y if self._fm_loss != "mse" else None
            arrays = [X, y] if sw is None else [X, y, sw]
            split = train_test_split(*arrays, random_state=rs, test_size=self.validation_fraction, stratify=stratify)
            X, X_val, y, y_val = split[:4]
            if sw is not None:
                sw, sw_val = split[4], split[5]
            if X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' or the size of your dataset."
                )
            X, y = np.ascontiguousarray(X), np.ascontiguousarray(y)
            if self.validation_scores_ is None:  # warm start from a fit without early stopping
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
        n = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n)
        else:
            if int(self.batch_size) > n:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped")
            batch_size = int(np.clip(int(self.batch_size), 1, n))
        # sklearn divides the penalty by each batch's weight sum: batch_size x the mean weight here
        mean_weight = 1.0 if sw is None else float(np.mean(sw))
        l2 = self._loss_scale * float(self.alpha) / (2.0 * batch_size * mean_weight) if mean_weight > 0 else 0.0
        model = self._prepare_model(params, layer_units, l2, incremental, rs)
        self.model_ = model
        if self.best_loss_ is None and not self.early_stopping:  # warm start from an early-stopped fit
            self.best_loss_ = np.inf

        self.n_iter_ = 0
        hook = _IterationEnd(self, X_val, y_val, sw_val, n, incremental)
        epochs = 1 if incremental else int(self.max_iter)
        try:
            model.fit(X, y, epochs=epochs, batch_size=batch_size, shuffle=bool(self.shuffle), callbacks=[hook],
                      verbose=0, sample_weight=None if sw is None else sw.astype(np.float32))
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        except FloatingPointError as exc:
            raise ValueError(
                "Solver produced non-finite parameter weights (the loss or its gradient became NaN or "
                f"infinite: {exc}). The input data may contain large values and need to be preprocessed, "
                "or learning_rate_init may be too large."
            ) from exc
        if not hook.converged and not incremental and self.n_iter_ == self.max_iter:
            warnings.warn(
                "Stochastic Optimizer: Maximum iterations (%d) reached and the optimization hasn't "
                "converged yet." % self.max_iter,
                ConvergenceWarning,
            )
        if self.early_stopping:  # restore the best weights
            for view, best in zip(model.parameters(), self._best_params):
                view[...] = best
        return self

    def _fit_lbfgs(self, X: np.ndarray, y: np.ndarray, sw: Optional[np.ndarray], params: Optional[List[np.ndarray]],
                   layer_units: List[int], first_pass: bool, rs: np.random.RandomState) -> Any:
        """solver="lbfgs": SciPy's L-BFGS-B on the whole set, as scikit-learn (no loss_curve_,
        best_loss_ or validation scores; early_stopping and the batch settings play no part)."""
        from ._lbfgs import fit_lbfgs

        if first_pass:  # scikit-learn sets these for the stochastic solvers only
            for name in ("loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_"):
                self.__dict__.pop(name, None)
        weight_sum = float(X.shape[0]) if sw is None else float(np.sum(sw))
        l2 = self._loss_scale * float(self.alpha) / (2.0 * weight_sum) if weight_sum > 0 else 0.0
        self.model_ = self._prepare_model(params, layer_units, l2, False, rs)
        self.n_iter_, self.loss_, _ = fit_lbfgs(
            self.model_, X, y, sw, max_iter=self.max_iter, max_fun=self.max_fun, tol=self.tol, verbose=self.verbose,
            loss_scale=self._loss_scale, alpha=float(self.alpha),
            squared_error_outputs=self.model_.output_dim if self._fm_loss == "mse" else 1)
        if not all(np.isfinite(p).all() for p in self.model_.parameters()):
            raise ValueError("Solver produced non-finite parameter weights. The input data may contain large "
                             "values and need to be preprocessed.")
        return self

    def _update_no_improvement_count(self, X_val: Optional[np.ndarray], y_val: Optional[np.ndarray],
                                     sw_val: Optional[np.ndarray]) -> None:
        """scikit-learn's stopping rule after an epoch, on the validation score with early_stopping,
        else on the training loss; keeps the best value (and, early stopping, its weights)."""
        if self.early_stopping:
            assert X_val is not None and y_val is not None and self.validation_scores_ is not None
            score = self._validation_score(X_val, y_val, sw_val)
            self.validation_scores_.append(score)
            if self.verbose:
                print("Validation score: %f" % score)
            assert self.best_validation_score_ is not None
            if self._count_no_improvement(score, self.best_validation_score_, self._score_name):
                self.best_validation_score_ = score
                self._best_params = [p.copy() for p in self.model_.parameters()]
        else:
            assert self.best_loss_ is not None
            if self._count_no_improvement(self.loss_curve_[-1], self.best_loss_, "loss"):
                self.best_loss_ = self.loss_curve_[-1]

    def _count_no_improvement(self, value: float, best: float, name: str) -> bool:
        """Counts `value` (the logged quantity `name`) as no improvement unless it beats `best` by
        more than tol; returns whether it beats `best` at all."""
        higher = higher_is_better(name)
        if value < best + self.tol if higher else value > best - self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        return value > best if higher else value < best

    # -------------------------------------------------------------- inference helpers
    def _outputs(self, X: ArrayLike) -> np.ndarray:
        """float64 (n, n_outputs_) network outputs (logits for the classifier) for validated X."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float32)
        return self.model_.predict(np.ascontiguousarray(X)).astype(np.float64)

    @property
    def coefs_(self) -> List[np.ndarray]:
        """Copies of the weight matrices in scikit-learn's layout: float32 (fan_in, fan_out) each."""
        check_is_fitted(self)
        return [np.array(w.T) for w in self.model_.parameters()[0::2]]

    @property
    def intercepts_(self) -> List[np.ndarray]:
        """Copies of the bias vectors: float32 (fan_out,) each."""
        check_is_fitted(self)
        return [np.array(b) for b in self.model_.parameters()[1::2]]


class MLPClassifier(ClassifierMixin, _BaseMLP):  # type: ignore[misc,unused-ignore]
    """Multi-layer perceptron classifier with scikit-learn's ``MLPClassifier`` interface, trained
    by fastmlp (see the module docstring for how the objective maps).

    Parameters: those of ``sklearn.neural_network.MLPClassifier``; ``solver`` is ``"adam"``,
    ``"sgd"`` or ``"lbfgs"``.

    Fitted attributes: ``classes_`` (n_classes,), ``n_features_in_``, ``model_`` (the trained
    ``fm.Sequential``; multiclass: n_classes logits, binary: one logit), ``loss_``, ``loss_curve_``,
    ``best_loss_``, ``validation_scores_``, ``best_validation_score_`` (not with lbfgs), ``n_iter_``, ``t_``,
    ``n_layers_``, ``n_outputs_``, ``out_activation_`` ("softmax" or "logistic"), and ``coefs_`` /
    ``intercepts_`` (copies, scikit-learn's layout).

    ``y``: one label per sample, any labels ``np.unique`` can sort (ints, strings, ...), at least two
    classes; multilabel and multi-output y raise ValueError.
    """

    _fm_loss = "cross_entropy"
    _score_name = "val_accuracy"

    def _validate_input(self, X: ArrayLike, y: ArrayLike, incremental: bool, reset: bool,
                        classes: Optional[ArrayLike] = None) -> Tuple[np.ndarray, np.ndarray, int]:
        X, y = validate_data(self, X, y, multi_output=True, dtype=np.float32, reset=reset)
        if y.ndim == 2 and y.shape[1] != 1:
            raise ValueError(
                f"{type(self).__name__} takes one label per sample, y of shape (n_samples,); got y of shape "
                f"{y.shape} (multilabel and multi-output classification are not supported)"
            )
        if y.ndim == 2:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if reset and incremental:  # the first partial_fit: classes= gives the classes
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self.classes_ = np.unique(np.asarray(classes))
        elif reset or not hasattr(self, "classes_"):
            self.classes_ = np.unique(y)
        else:
            found = np.unique(y)
            if incremental and classes is not None and not np.array_equal(np.unique(np.asarray(classes)),
                                                                          self.classes_):
                raise ValueError(
                    f"`classes={classes!r}` is not the same as on the first call to partial_fit, which was "
                    f"{self.classes_!r}"
                )
            if self.warm_start and not incremental:
                if set(found) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the previous call "
                        f"to fit. Previously got {self.classes_}, `y` has {found}"
                    )
            elif len(np.setdiff1d(found, self.classes_)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                                 f"'y' has {found}.")
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the data, but the data contains "
                f"only one class: {self.classes_[0]!r}"
            )
        index: np.ndarray = np.clip(np.asarray(np.searchsorted(self.classes_, y)), 0, len(self.classes_) - 1)
        if not np.array_equal(self.classes_[index], y):
            raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}.")
        if len(self.classes_) == 2:
            self._fm_loss = "binary_cross_entropy"
            return X, index.astype(np.float32), 1
        self._fm_loss = "cross_entropy"
        return X, index.astype(np.int64), len(self.classes_)

    def _validation_score(self, X: np.ndarray, y: np.ndarray, sample_weight: Optional[np.ndarray]) -> float:
        out = self.model_.predict(X)
        pred = (out[:, 0] > 0).astype(np.int64) if out.shape[1] == 1 else np.argmax(out, axis=1)
        if not np.isfinite(out).all():
            return float("nan")
        return float(accuracy_score(y.astype(np.int64), pred, sample_weight=sample_weight))

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: Optional[ArrayLike] = None) -> "MLPClassifier":
        """Trains on X (n_samples, n_features), real values (converted to float32), and labels y
        (n_samples,) for up to ``max_iter`` epochs (scikit-learn's stopping rule). Returns self.
        With ``warm_start`` it continues from the previous fit (same classes) with a new optimizer.

        sample_weight: optional (n_samples,) weights >= 0, not all zero; each batch's loss is the
        weighted mean, as scikit-learn's (its penalty divides by each batch's weight sum, here by
        batch_size times the mean weight)."""
        result: MLPClassifier = self._fit(X, y, sample_weight, incremental=False)
        return result

    @_if_stochastic
    def partial_fit(self, X: ArrayLike, y: ArrayLike, sample_weight: Optional[ArrayLike] = None,
                    classes: Optional[ArrayLike] = None) -> "MLPClassifier":
        """One epoch over (X, y), keeping the optimizer state between calls. ``classes`` (every
        label of the whole data set) is required on the first call and may be omitted later; y
        need not contain every class. sample_weight as in ``fit``. Returns self."""
        first = not hasattr(self, "classes_") or not hasattr(self, "model_")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if first:  # a fresh start, as scikit-learn's first partial_fit
            for attr in ("model_", "classes_"):
                if attr in self.__dict__:
                    delattr(self, attr)
        result: MLPClassifier = self._fit(X, y, sample_weight, incremental=True, classes=classes)
        return result

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities, float64 (n_samples, n_classes) in the order of ``classes_``:
        a softmax of the logits, or ``[1 - p, p]`` with ``p = sigmoid(logit)`` for two classes."""
        z = self._outputs(X)
        if z.shape[1] == 1:
            p = np.exp(-np.logaddexp(0.0, -z[:, 0]))  # sigmoid, stable for any sign
            return np.column_stack([1.0 - p, p])
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        result: np.ndarray = e / e.sum(axis=1, keepdims=True)
        return result

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """log(predict_proba(X)): float64 (n_samples, n_classes)."""
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            result: np.ndarray = np.log(proba)
        return result

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predicted labels (n_samples,) from ``classes_``: the most probable class."""
        proba = self.predict_proba(X)
        if proba.shape[1] == 2:
            index = (proba[:, 1] > 0.5).astype(np.int64)
        else:
            index = np.argmax(proba, axis=1)
        result: np.ndarray = self.classes_[index]
        return result

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        tags.input_tags.sparse = False
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):  # type: ignore[misc,unused-ignore]
    """Multi-layer perceptron regressor with scikit-learn's ``MLPRegressor`` interface (squared
    error), trained by fastmlp (see the module docstring for how the objective maps).

    Parameters: those of ``sklearn.neural_network.MLPRegressor`` except ``loss`` (always squared
    error); ``solver`` is ``"adam"``, ``"sgd"`` or ``"lbfgs"``.

    ``y``: (n_samples,) or (n_samples, n_outputs) real targets (converted to float32); ``predict``
    returns float64 of the same rank as the y given to fit (a (n, 1) y gives (n, 1) predictions).

    Fitted attributes: as MLPClassifier's, without ``classes_``; ``out_activation_`` is "identity".
    """

    _fm_loss = "mse"

    def _validate_input(self, X: ArrayLike, y: ArrayLike, incremental: bool, reset: bool,
                        classes: Optional[ArrayLike] = None) -> Tuple[np.ndarray, np.ndarray, int]:
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=np.float32, reset=reset)
        self._y_1d = y.ndim == 1
        y2 = np.ascontiguousarray(y.reshape(len(y), -1), dtype=np.float32)
        if not np.isfinite(y2).all():
            raise ValueError("y holds values too large for float32 (|y| > 3.4e38)")
        return X, y2, y2.shape[1]

    def _validation_score(self, X: np.ndarray, y: np.ndarray, sample_weight: Optional[np.ndarray]) -> float:
        out = self.model_.predict(X).astype(np.float64)
        if not np.isfinite(out).all():
            return float("nan")
        return float(r2_score(y, out, sample_weight=sample_weight))

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: Optional[ArrayLike] = None) -> "MLPRegressor":
        """Trains on X (n_samples, n_features) and y (n_samples,) or (n_samples, n_outputs), real
        values converted to float32, for up to ``max_iter`` epochs (scikit-learn's stopping rule).
        Returns self. With ``warm_start`` it continues from the previous fit with a new optimizer.
        sample_weight: optional (n_samples,) weights >= 0, as in ``MLPClassifier.fit``."""
        result: MLPRegressor = self._fit(X, y, sample_weight, incremental=False)
        return result

    @_if_stochastic
    def partial_fit(self, X: ArrayLike, y: ArrayLike, sample_weight: Optional[ArrayLike] = None) -> "MLPRegressor":
        """One epoch over (X, y), keeping the optimizer state between calls. Returns self."""
        result: MLPRegressor = self._fit(X, y, sample_weight, incremental=True)
        return result

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predictions, float64 (n_samples,) when fit saw a 1-D y, else (n_samples, n_outputs)."""
        out = self._outputs(X)
        return out[:, 0] if self._y_1d else out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.input_tags.sparse = False
        return tags
