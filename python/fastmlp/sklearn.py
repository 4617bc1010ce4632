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
  (sklearn's logistic output + binary log-loss); multilabel (an indicator matrix y): one output per
  label with binary cross-entropy on its logit (sklearn's logistic outputs + log-loss summed over
  the labels); regression: identity output, squared error, or with ``loss="poisson"`` fastmlp's
  ``poisson`` loss ``exp(z) - y z`` on the output z = log(mean) (sklearn's exp output + half Poisson
  deviance, the same gradient ``exp(z) - y``); ``predict`` returns ``exp(z)``.
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
  multilabel binary cross-entropy and ``poisson`` (means over every element) have
  ``c = 1 / n_outputs`` (scikit-learn sums over the labels / outputs); the other cross-entropies
  have ``c = 1``. To follow scikit-learn's steps, ``solver="sgd"`` runs with learning rate
  ``lr / c``, ``solver="adam"`` (invariant to the scale) with ``epsilon * c``, and ``loss_curve_``
  holds fastmlp's epoch loss divided by ``c`` (scikit-learn's loss, except for a squared error over
  k outputs, which scikit-learn reports divided by k). For ``poisson`` ``loss_curve_`` adds the
  term of scikit-learn's deviance that depends on y only, the (weighted) mean over the training
  samples of ``sum_j y log y - y``: its values are scikit-learn's.
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
  fit. With ``early_stopping=True`` a ``validation_fraction`` of the data (stratified where the
  network has one output: binary and single-class classification, as scikit-learn's rule)
  is held out, its score (accuracy / R²) goes to ``validation_scores_`` and drives the rule, and
  the best-scoring weights are restored at the end. Reaching ``max_iter`` epochs otherwise warns
  ``sklearn.exceptions.ConvergenceWarning``.

Differences: a regressor fit on y of shape (n, 1) predicts (n, 1) (scikit-learn warns and
predicts (n,)). The network computes in float32; predictions and probabilities have
scikit-learn's dtypes (float32 where fit and predict both got float32 X, else float64).
``coefs_`` / ``intercepts_`` are writable float32 views of ``model_``'s parameters (writing into
them or assigning them changes the model; scikit-learn's are float64 after a float64 fit).
Every parameter of scikit-learn's estimators exists with its name and default (``max_fun``, which
only ``solver="lbfgs"`` uses, is accepted with any solver; ``MLPRegressor``'s ``loss`` is
keyword-only here, scikit-learn's first positional parameter). ``n_iter_no_change=np.inf`` never
stops the fit before ``max_iter``. ``loss="poisson"`` refuses a negative y (ValueError, the text of
scikit-learn's Poisson trees; scikit-learn's MLPRegressor trains on it to NaN losses). Not
supported: multi-output classification (several labels of more than two classes per
sample; ValueError). A diverging fit (a NaN or infinite loss or gradient, which fastmlp's float32
reaches sooner than scikit-learn's float64) raises scikit-learn's ValueError ("Solver produced
non-finite parameter weights. ..."); with ``early_stopping=True`` it appends a nan validation score
(and a nan loss) for the diverging epoch, restores the best weights, warns ``ConvergenceWarning``
and returns, as scikit-learn, which trains on to ``max_iter`` with nan scores where fastmlp stops at
the diverging epoch.
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
from sklearn.utils.multiclass import (  # type: ignore[import-untyped,unused-ignore]
    check_classification_targets,
    type_of_target,
)
from sklearn.utils.validation import (  # type: ignore[import-untyped,unused-ignore]
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from . import optim as _optim
from ._compiled_metrics import higher_is_better
from ._sparse import is_sparse
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
_REGRESSION_LOSSES = ("squared_error", "poisson")
#: X dtypes kept by validation (scikit-learn's): others convert to the first
_FLOAT_DTYPES = (np.float64, np.float32)
# Sparse X is taken as any of these (scikit-learn's validation converts the rest to CSR) and given
# to the model as CSR rows, never densified.
_SPARSE_FORMATS = ["csr", "csc", "coo"]


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


def _poisson_deviance_offset(y: np.ndarray, sample_weight: Optional[np.ndarray]) -> float:
    """What scikit-learn's half Poisson deviance adds to fastmlp's poisson loss (summed over the
    outputs): the (weighted) mean over the training samples of ``sum_j y log y - y``, a constant of
    the fit that does not depend on the network (0 log 0 = 0)."""
    y64 = y.astype(np.float64)
    terms = y64 * np.log(np.maximum(y64, np.finfo(np.float64).tiny)) - y64  # y = 0: 0 * log(tiny) = 0
    return float(np.average(terms.sum(axis=1), weights=sample_weight))


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
        est.loss_ = float(logs["loss"]) / est._loss_scale + est._loss_offset
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


# ------------------------------------------------------------------------------ coefs_ / intercepts_
class _ParameterViews(List[np.ndarray]):
    """``coefs_`` / ``intercepts_``: a list of writable float32 views into ``model_``'s parameters
    in which item assignment writes into the model (checking the shape) instead of replacing the
    list's item."""

    def __init__(self, name: str, views: List[np.ndarray]) -> None:
        super().__init__(views)
        self._name = name

    def _checked(self, index: int, value: ArrayLike) -> np.ndarray:
        """`value` as an array of the shape of view `index`, else ValueError naming both."""
        view = list.__getitem__(self, index)
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"{self._name}[{index}] must be an array of real numbers of shape {view.shape}, got {value!r}"
            ) from None
        if arr.shape != view.shape:
            raise ValueError(
                f"{self._name}[{index}] must have shape {view.shape} (the fitted network's layer), "
                f"got an array of shape {arr.shape}"
            )
        return arr

    def assign(self, values: Sequence[ArrayLike]) -> None:
        """Writes every array of `values` into the model after checking them all."""
        if isinstance(values, np.ndarray) or not hasattr(values, "__len__"):
            raise ValueError(f"{self._name} must be a list of {len(self)} arrays (one per layer), got {values!r}")
        if len(values) != len(self):
            raise ValueError(
                f"{self._name} must be a list of {len(self)} arrays (one per layer), got {len(values)}; "
                "the number of layers is fixed by hidden_layer_sizes and fit"
            )
        checked = [self._checked(i, v) for i, v in enumerate(values)]
        for i, arr in enumerate(checked):
            list.__getitem__(self, i)[...] = arr

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, slice):
            positions = list(range(len(self)))[index]
            values = list(value)
            if len(values) != len(positions):
                raise ValueError(f"{self._name}[{index.start}:{index.stop}] takes {len(positions)} arrays, "
                                 f"got {len(values)}")
            checked = [self._checked(i, v) for i, v in zip(positions, values)]
            for i, arr in zip(positions, checked):
                list.__getitem__(self, i)[...] = arr
            return
        i = int(index) % len(self) if -len(self) <= int(index) < len(self) else int(index)
        if not 0 <= i < len(self):
            raise IndexError(f"{self._name} has {len(self)} arrays (one per layer), got index {index}")
        list.__getitem__(self, i)[...] = self._checked(i, value)

    def __reduce__(self) -> Any:  # pickles (and copies) as a plain list of arrays
        return (list, ([np.array(v) for v in self],))


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
    _loss_offset: float
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
        n_iter_no_change: Union[int, float] = 10,
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
        if not (isinstance(self.n_iter_no_change, (float, np.floating)) and self.n_iter_no_change == math.inf):
            if not is_int(self.n_iter_no_change) or int(self.n_iter_no_change) < 1:
                raise ValueError(
                    f"n_iter_no_change must be a positive integer or np.inf, got {self.n_iter_no_change!r}"
                )
        positive_int("max_fun", self.max_fun)  # used by solver="lbfgs" only, accepted for any solver
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
        if self._fm_loss == "mse":  # sklearn's squared error: half the sum over the outputs
            self._loss_scale = 2.0 / n_outputs
        elif self._fm_loss in ("binary_cross_entropy", "poisson"):  # sklearn's: the sum over the outputs
            self._loss_scale = 1.0 / n_outputs
        else:
            self._loss_scale = 1.0
        rs = check_random_state(self.random_state)
        params = None
        if first_pass:
            self.n_iter_ = 0
            self.t_ = 0
            self.n_outputs_ = n_outputs
            self.n_layers_ = len(layer_units)
            self.out_activation_ = {"cross_entropy": "softmax", "binary_cross_entropy": "logistic",
                                    "poisson": "exp"}.get(self._fm_loss, "identity")
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
            stratify = y if self._fm_loss not in ("mse", "poisson") and n_outputs == 1 else None  # scikit-learn's
            arrays = [X, y] if sw is None else [X, y, sw]
            split = train_test_split(*arrays, random_state=rs, test_size=self.validation_fraction, stratify=stratify)
            X, X_val, y, y_val = split[:4]
            if sw is not None:
                sw, sw_val = split[4], split[5]
            if X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' or the size of your dataset."
                )
            X, y = (X if is_sparse(X) else np.ascontiguousarray(X)), np.ascontiguousarray(y)
            if self.validation_scores_ is None:  # warm start from a fit without early stopping
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
        self._loss_offset = _poisson_deviance_offset(y, sw) if self._fm_loss == "poisson" else 0.0
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
            if not self.early_stopping:
                raise ValueError(
                    "Solver produced non-finite parameter weights. The input data may contain large values "
                    f"and need to be preprocessed. (fastmlp: {exc}; learning_rate_init may be too large.)"
                ) from exc
            # scikit-learn trains on through the divergence with nan validation scores and restores
            # the best weights at the end; fastmlp stops at the diverging epoch, recorded as nan
            self.n_iter_ += 1
            self.t_ += n
            self.loss_ = math.nan
            self.loss_curve_.append(math.nan)
            assert self.validation_scores_ is not None
            self.validation_scores_.append(math.nan)
            scores = np.asarray(self.validation_scores_, dtype=np.float64)
            kept = (f"the weights of the best validation score (iteration {int(np.nanargmax(scores)) + 1})"
                    if np.isfinite(scores).any() else "the initial weights (no finite validation score)")
            warnings.warn(
                f"Training diverged in iteration {self.n_iter_} (the loss or its gradient became NaN or "
                f"infinite: {exc}); {kept} are restored. The input data may contain large values and need "
                "to be preprocessed, or learning_rate_init may be too large.",
                ConvergenceWarning,
            )
            hook.converged = True  # no "Maximum iterations" warning on top
        if not hook.converged and not incremental and self.n_iter_ == self.max_iter:
            warnings.warn(
                "Stochastic Optimizer: Maximum iterations (%d) reached and the optimization hasn't "
                "converged yet." % self.max_iter,
                ConvergenceWarning,
            )
        if self.early_stopping:  # restore the best weights
            for view, best_params in zip(model.parameters(), self._best_params):
                view[...] = best_params
        return self

    def _fit_lbfgs(self, X: np.ndarray, y: np.ndarray, sw: Optional[np.ndarray], params: Optional[List[np.ndarray]],
                   layer_units: List[int], first_pass: bool, rs: np.random.RandomState) -> Any:
        """solver="lbfgs": SciPy's L-BFGS-B on the whole set, as scikit-learn (no loss_curve_,
        best_loss_ or validation scores; early_stopping and the batch settings play no part)."""
        from ._lbfgs import fit_lbfgs

        if first_pass:  # scikit-learn sets these for the stochastic solvers only
            for name in ("loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_"):
                self.__dict__.pop(name, None)
        self._loss_offset = _poisson_deviance_offset(y, sw) if self._fm_loss == "poisson" else 0.0
        weight_sum = float(X.shape[0]) if sw is None else float(np.sum(sw))
        l2 = self._loss_scale * float(self.alpha) / (2.0 * weight_sum) if weight_sum > 0 else 0.0
        self.model_ = self._prepare_model(params, layer_units, l2, False, rs)
        self.n_iter_, self.loss_, _ = fit_lbfgs(
            self.model_, X, y, sw, max_iter=self.max_iter, max_fun=self.max_fun, tol=self.tol, verbose=self.verbose,
            loss_scale=self._loss_scale, alpha=float(self.alpha),
            squared_error_outputs=self.model_.output_dim if self._fm_loss == "mse" else 1,
            loss_offset=self._loss_offset)
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
    def _float32_X(self, X: Any, reset: bool) -> Any:
        """X (validated as float64 or float32, scikit-learn's fit dtypes) as fastmlp's C-contiguous
        float32, a sparse X as CSR (the model takes its rows as they are, never densified); a fit
        (reset) records whether X was float32, which the predictions' dtype follows."""
        if reset:
            self._fit_float32 = X.dtype == np.float32
        if is_sparse(X):
            return X.tocsr()
        with np.errstate(over="ignore"):
            X32 = np.ascontiguousarray(X, dtype=np.float32)
        if X.dtype != np.float32 and not np.isfinite(X32).all():
            raise ValueError("X holds values too large for float32 (|X| > 3.4e38); scale the features")
        return X32

    def _outputs(self, X: ArrayLike) -> Tuple[np.ndarray, Any]:
        """(float64 (n, n_outputs_) network outputs (logits for the classifier) for validated X, the
        dtype of the predictions): float32 where fit and this X are float32, else float64, as
        scikit-learn's (whose weights have the fit's dtype)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=_FLOAT_DTYPES, accept_sparse=_SPARSE_FORMATS)
        dtype = np.float32 if getattr(self, "_fit_float32", False) and X.dtype == np.float32 else np.float64
        return self.model_.predict(self._float32_X(X, reset=False)).astype(np.float64), dtype

    @property
    def coefs_(self) -> List[np.ndarray]:
        """The weight matrices in scikit-learn's layout, (fan_in, fan_out) each: writable float32
        views of ``model_``'s weights (transposed, zero-copy), so ``coefs_[i][j, k] = v``,
        ``coefs_[i] = array`` and ``coefs_ = [arrays]`` change the model. float32 whatever X's
        dtype (scikit-learn's are float64 after a float64 fit). A later fit may build a new
        ``model_``; views taken before it then no longer reach the model."""
        check_is_fitted(self)
        return _ParameterViews("coefs_", [w.T for w in self.model_.parameters()[0::2]])

    @coefs_.setter
    def coefs_(self, values: Sequence[ArrayLike]) -> None:
        check_is_fitted(self)
        _ParameterViews("coefs_", [w.T for w in self.model_.parameters()[0::2]]).assign(values)

    @property
    def intercepts_(self) -> List[np.ndarray]:
        """The bias vectors, (fan_out,) each: writable float32 views of ``model_``'s biases, as
        ``coefs_``."""
        check_is_fitted(self)
        return _ParameterViews("intercepts_", list(self.model_.parameters()[1::2]))

    @intercepts_.setter
    def intercepts_(self, values: Sequence[ArrayLike]) -> None:
        check_is_fitted(self)
        _ParameterViews("intercepts_", list(self.model_.parameters()[1::2])).assign(values)


class MLPClassifier(ClassifierMixin, _BaseMLP):  # type: ignore[misc,unused-ignore]
    """Multi-layer perceptron classifier with scikit-learn's ``MLPClassifier`` interface, trained
    by fastmlp (see the module docstring for how the objective maps).

    Parameters: those of ``sklearn.neural_network.MLPClassifier``, same names and defaults;
    ``solver`` is ``"adam"``, ``"sgd"`` or ``"lbfgs"`` (SciPy's L-BFGS-B, which ``max_fun`` limits).

    Fitted attributes: ``classes_`` (n_classes,), ``n_features_in_``, ``model_`` (the trained
    ``fm.Sequential``; multiclass: n_classes logits, binary: one logit, multilabel: one logit per
    label), ``loss_``, ``loss_curve_``,
    ``best_loss_``, ``validation_scores_``, ``best_validation_score_`` (not with lbfgs), ``n_iter_``, ``t_``,
    ``n_layers_``, ``n_outputs_``, ``out_activation_`` ("softmax" or "logistic"), and ``coefs_`` /
    ``intercepts_`` (writable float32 views of ``model_``'s parameters, scikit-learn's layout).

    ``y``: one label per sample, any labels ``np.unique`` can sort (ints, strings, ...), or a
    multilabel indicator matrix (n_samples, n_labels) of 0/1 (``classes_`` is ``arange(n_labels)``,
    ``predict`` returns the int64 indicator matrix, ``predict_proba`` (n_samples, n_labels) one
    sigmoid per label); multi-output y (labels other than 0/1) raises ValueError. A single class
    fits as in scikit-learn: one logistic output trained toward 0, ``predict`` returns that
    class, ``predict_proba`` is ``(n, 2)`` ``[1 - p, p]``.
    """

    _fm_loss = "cross_entropy"
    _score_name = "val_accuracy"
    _multilabel: bool = False

    def _validate_input(self, X: ArrayLike, y: ArrayLike, incremental: bool, reset: bool,
                        classes: Optional[ArrayLike] = None) -> Tuple[np.ndarray, np.ndarray, int]:
        X, y = validate_data(self, X, y, multi_output=True, dtype=_FLOAT_DTYPES, reset=reset,
                             accept_sparse=_SPARSE_FORMATS)
        X = self._float32_X(X, reset)
        if y.ndim == 2 and y.shape[1] != 1:
            return X, self._multilabel_targets(y, incremental, reset, classes), y.shape[1]
        if not reset and getattr(self, "_multilabel", False):
            raise ValueError(
                f"y of shape {y.shape} has one label per sample, but {type(self).__name__} was fit on a "
                "multilabel indicator matrix; fit from scratch (warm_start=False) to change it"
            )
        self._multilabel = False
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
        index: np.ndarray = np.clip(np.asarray(np.searchsorted(self.classes_, y)), 0, len(self.classes_) - 1)
        if not np.array_equal(self.classes_[index], y):
            raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}.")
        if len(self.classes_) <= 2:  # one class: scikit-learn's one logistic output, trained toward 0
            self._fm_loss = "binary_cross_entropy"
            return X, index.astype(np.float32), 1
        self._fm_loss = "cross_entropy"
        return X, index.astype(np.int64), len(self.classes_)

    def _multilabel_targets(self, y: np.ndarray, incremental: bool, reset: bool,
                            classes: Optional[ArrayLike]) -> np.ndarray:
        """A multilabel indicator y (n_samples, n_labels) as float32 0/1 targets of n_labels logistic
        outputs (scikit-learn's: ``classes_`` is ``arange(n_labels)``, binary cross-entropy summed
        over the labels)."""
        kind = type_of_target(y)
        if kind != "multilabel-indicator":
            raise ValueError(
                f"y of shape {y.shape} must be a multilabel indicator matrix (one column per label, values "
                f"0/1 or False/True), got {kind} targets; multi-output classification (several labels "
                "of more than two classes per sample) is not supported"
            )
        n_labels = y.shape[1]
        labels = np.arange(n_labels)
        if reset:
            if incremental and (classes is None or not np.array_equal(np.unique(np.asarray(classes)), labels)):
                raise ValueError(
                    f"classes must be passed on the first call to partial_fit; for a multilabel y of "
                    f"{n_labels} columns it is range({n_labels}), got {classes!r}"
                )
            self.classes_ = labels
            self._multilabel = True
        elif not getattr(self, "_multilabel", False) or not np.array_equal(self.classes_, labels):
            raise ValueError(
                f"y is a multilabel indicator matrix of {n_labels} labels, but {type(self).__name__} was fit on "
                + (f"{len(self.classes_)} labels" if getattr(self, "_multilabel", False) else "one label per sample")
                + "; fit from scratch (warm_start=False) to change it"
            )
        self._fm_loss = "binary_cross_entropy"
        return np.ascontiguousarray(y != 0, dtype=np.float32)

    def _validation_score(self, X: np.ndarray, y: np.ndarray, sample_weight: Optional[np.ndarray]) -> float:
        out = self.model_.predict(X)
        if self._multilabel:  # subset accuracy of the indicator matrices, as scikit-learn's score
            if not np.isfinite(out).all():
                return float("nan")
            pred = (out > 0).astype(np.int64)
            return float(accuracy_score(y.astype(np.int64), pred, sample_weight=sample_weight))
        pred = (out[:, 0] > 0).astype(np.int64) if out.shape[1] == 1 else np.argmax(out, axis=1)
        if len(self.classes_) == 1:
            pred[:] = 0
        if not np.isfinite(out).all():
            return float("nan")
        return float(accuracy_score(y.astype(np.int64), pred, sample_weight=sample_weight))

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: Optional[ArrayLike] = None) -> "MLPClassifier":
        """Trains on X (n_samples, n_features), real values (converted to float32), and labels y
        (n_samples,) or a multilabel indicator matrix (n_samples, n_labels) for up to ``max_iter``
        epochs (scikit-learn's stopping rule). Returns self. With ``warm_start`` it continues from
        the previous fit (same classes) with a new optimizer.

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

    def _proba(self, X: ArrayLike) -> Tuple[np.ndarray, Any]:
        """(float64 class probabilities, the dtype predict_proba returns)."""
        z, dtype = self._outputs(X)
        if self._multilabel:  # one sigmoid per label
            return np.exp(-np.logaddexp(0.0, -z)), dtype
        if z.shape[1] == 1:
            p = np.exp(-np.logaddexp(0.0, -z[:, 0]))  # sigmoid, stable for any sign
            return np.column_stack([1.0 - p, p]), dtype
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True), dtype

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities (n_samples, n_classes) in the order of ``classes_``: a softmax of
        the logits, or ``[1 - p, p]`` with ``p = sigmoid(logit)`` for two classes (and one);
        multilabel: (n_samples, n_labels), each label's sigmoid. float32 where
        fit and X are float32, else float64 (scikit-learn's dtypes)."""
        proba, dtype = self._proba(X)
        result: np.ndarray = proba.astype(dtype, copy=False)
        return result

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """log(predict_proba(X)) (n_samples, n_classes), the dtype of predict_proba (the log is
        taken in float64)."""
        proba, dtype = self._proba(X)
        with np.errstate(divide="ignore"):
            result: np.ndarray = np.log(proba).astype(dtype, copy=False)
        return result

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predicted labels (n_samples,) from ``classes_``: the most probable class; multilabel:
        the int64 indicator matrix (n_samples, n_labels) of probabilities > 0.5."""
        proba, _ = self._proba(X)
        if self._multilabel:  # scikit-learn's indicator matrix (int64): probability > 0.5
            indicator: np.ndarray = (proba > 0.5).astype(np.int64)
            return indicator
        if len(self.classes_) == 1:  # scikit-learn's: always the one class, whatever the output
            index = np.zeros(len(proba), dtype=np.int64)
        elif proba.shape[1] == 2:
            index = (proba[:, 1] > 0.5).astype(np.int64)
        else:
            index = np.argmax(proba, axis=1)
        result: np.ndarray = self.classes_[index]
        return result

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.input_tags.sparse = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):  # type: ignore[misc,unused-ignore]
    """Multi-layer perceptron regressor with scikit-learn's ``MLPRegressor`` interface (squared
    error), trained by fastmlp (see the module docstring for how the objective maps).

    Parameters: those of ``sklearn.neural_network.MLPRegressor``, same names and defaults (``loss``
    is keyword-only here: ``"squared_error"`` or ``"poisson"``, y >= 0, log link); ``solver`` is
    ``"adam"``, ``"sgd"`` or ``"lbfgs"`` (SciPy's L-BFGS-B, which ``max_fun`` limits).

    ``y``: (n_samples,) or (n_samples, n_outputs) real targets (converted to float32); ``predict``
    returns float64 of the same rank as the y given to fit (a (n, 1) y gives (n, 1) predictions),
    for ``loss="poisson"`` the mean ``exp`` of the network's output (``model_.predict`` gives its log).

    Fitted attributes: as MLPClassifier's, without ``classes_``; ``out_activation_`` is "identity",
    "exp" for ``loss="poisson"``.
    """

    _fm_loss = "mse"

    def __init__(
        self,
        hidden_layer_sizes: Union[int, Sequence[int]] = (100,),
        activation: str = "relu",
        *,
        loss: str = "squared_error",
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
        n_iter_no_change: Union[int, float] = 10,
        max_fun: int = 15000,
    ) -> None:
        # scikit-learn's MLPRegressor takes `loss` as its first positional parameter; here it is
        # keyword-only so that MLPRegressor((64,)) keeps meaning hidden_layer_sizes=(64,)
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init, power_t=power_t,
            max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction, beta_1=beta_1,
            beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
        )
        self.loss = loss

    def _checked_params(self) -> List[int]:
        one_of("loss", self.loss, _REGRESSION_LOSSES)
        return super()._checked_params()

    def _validate_input(self, X: ArrayLike, y: ArrayLike, incremental: bool, reset: bool,
                        classes: Optional[ArrayLike] = None) -> Tuple[np.ndarray, np.ndarray, int]:
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=_FLOAT_DTYPES, reset=reset,
                             accept_sparse=_SPARSE_FORMATS)
        X = self._float32_X(X, reset)
        self._y_1d = y.ndim == 1
        y2 = np.ascontiguousarray(y.reshape(len(y), -1), dtype=np.float32)
        if not np.isfinite(y2).all():
            raise ValueError("y holds values too large for float32 (|y| > 3.4e38)")
        self._fm_loss = "poisson" if self.loss == "poisson" else "mse"
        if self._fm_loss == "poisson" and y2.size and float(y2.min()) < 0.0:
            raise ValueError("Some value(s) of y are negative which is not allowed for Poisson regression.")
        return X, y2, y2.shape[1]

    def _mean(self, out: np.ndarray) -> np.ndarray:
        """The prediction from the network outputs: exp(outputs) for loss="poisson" (log link)."""
        if self.out_activation_ != "exp":
            return out
        with np.errstate(over="ignore"):
            mean: np.ndarray = np.exp(out)
        return mean

    def _validation_score(self, X: np.ndarray, y: np.ndarray, sample_weight: Optional[np.ndarray]) -> float:
        pred = self._mean(self.model_.predict(X).astype(np.float64))
        if not np.isfinite(pred).all():  # as scikit-learn's _score_with_function
            return float("nan")
        return float(r2_score(y, pred, sample_weight=sample_weight))

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
        """Predictions (n_samples,) when fit saw a 1-D y, else (n_samples, n_outputs); for
        loss="poisson" the predicted mean exp(outputs), as scikit-learn's; float32 where fit and X
        are float32, else float64 (scikit-learn's dtypes)."""
        out, dtype = self._outputs(X)
        result: np.ndarray = self._mean(out).astype(dtype, copy=False)
        return result[:, 0] if self._y_1d else result

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.input_tags.sparse = True
        return tags
