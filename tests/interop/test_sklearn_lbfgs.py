"""fastmlp.sklearn with solver="lbfgs": SciPy's L-BFGS-B on the C++ core's whole-set loss and
gradient, against scikit-learn's own lbfgs from the same start point on the same data.

Tolerances: fastmlp evaluates the objective in float32 (loss accumulated in float64), scikit-learn
in float64. At the same point the two losses agree to ~2e-7 relative and the gradients to ~1e-7
absolute (float32 rounding; checked below). L-BFGS-B amplifies any difference through its line
searches: on digits the weights agree to ~1e-7 for the first ~6 iterations and then drift apart
(1e-5 after 10, 1e-2 after 30; scikit-learn's own float32 run drifts from its float64 run the same
way, only from a later iteration on). So the path is compared over the first 5 iterations
(weights to 1e-5, loss to 1e-6 relative), and a converged fit by its results (accuracy, R^2,
final loss), not by its weights.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
pytest.importorskip("scipy")

from sklearn import neural_network as sk_nn  # noqa: E402
from sklearn.datasets import load_diabetes, load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from fastmlp import _lbfgs  # noqa: E402
from fastmlp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

no_convergence_warning = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _digits(binary: bool = False, n: int = 600):
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    if binary:
        keep = y < 2
        X, y = X[keep], y[keep]
    return X[:n], y[:n]


def _regression(outputs: int = 1, n: int = 300):
    X, y = load_diabetes(return_X_y=True)
    X, y = X[:n] / X[:n].std(axis=0), (y[:n] - y[:n].mean()) / y[:n].std()
    if outputs > 1:
        y = np.column_stack([y, 0.5 * y + X[:, 0]])
    return X, y


def _counts(n: int = 300):
    X, _ = _regression(1, n)
    rate = np.exp(0.4 * X[:, 0] - 0.3 * X[:, 2] + 0.5)
    return X, np.random.default_rng(0).poisson(rate).astype(float)


def _problem(target: str):
    if target == "poisson":
        return sk_nn.MLPRegressor, MLPRegressor, *_counts()
    if target == "binary":
        return sk_nn.MLPClassifier, MLPClassifier, *_digits(binary=True)
    if target == "multiclass":
        return sk_nn.MLPClassifier, MLPClassifier, *_digits()
    return sk_nn.MLPRegressor, MLPRegressor, *_regression(2 if target == "reg2" else 1)


def _fit_both(target, sample_weight=None, **params):
    ref_cls, our_cls, X, y = _problem(target)
    if target == "poisson":
        params["loss"] = "poisson"
    ref, ours = ref_cls(solver="lbfgs", **params), our_cls(solver="lbfgs", **params)
    ref.fit(X, y, sample_weight=sample_weight)
    ours.fit(X, y, sample_weight=sample_weight)
    return ref, ours, X, y


def _assert_same_weights(ref, ours, atol):
    for a, b in zip(ref.coefs_ + ref.intercepts_, ours.coefs_ + ours.intercepts_):
        assert a.shape == b.shape
        np.testing.assert_allclose(b, a, rtol=0, atol=atol)


# ------------------------------------------------------------------------------ the same path
@no_convergence_warning
@pytest.mark.parametrize("target", ["binary", "multiclass", "reg1", "reg2", "poisson"])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_first_iterations_follow_sklearn(target, activation):
    """Same start point (random_state), same data, 5 L-BFGS-B iterations: sklearn's n_iter_, loss_
    (reg2: two outputs, sklearn's loss averaged over them) and weights. alpha large enough to matter."""
    ref, ours, _, _ = _fit_both(target, hidden_layer_sizes=(16, 8), activation=activation, alpha=0.1,
                                random_state=0, max_iter=5)
    assert ours.n_iter_ == ref.n_iter_ == 5
    np.testing.assert_allclose(ours.loss_, ref.loss_, rtol=1e-6)
    _assert_same_weights(ref, ours, atol=1e-5)


@no_convergence_warning
@pytest.mark.parametrize("target", ["multiclass", "reg2"])
def test_loss_and_gradient_are_sklearns_at_the_same_point(target):
    """The objective handed to SciPy, at sklearn's point after 3 iterations: sklearn's
    _loss_grad_lbfgs to float32 rounding (loss 1e-6 relative, gradient 1e-6 of its largest entry)."""
    ref, ours, X, y = _fit_both(target, hidden_layer_sizes=(16,), alpha=0.1, random_state=0, max_iter=3)
    x = _lbfgs._pack([a for c, b in zip(ref.coefs_, ref.intercepts_) for a in (c.T, b)])
    Y = ref._label_binarizer.transform(y).astype(float) if target == "multiclass" else y
    n_layers = len(ref.coefs_) + 1
    ref_loss, ref_grad = ref._loss_grad_lbfgs(
        x.copy(), X, Y, None, [X] + [None] * (n_layers - 1), [None] * (n_layers - 1),
        [np.empty_like(c) for c in ref.coefs_], [np.empty_like(b) for b in ref.intercepts_])
    views = ours.model_.parameters()
    fun = _lbfgs.objective(ours.model_, X.astype(np.float32),
                           np.searchsorted(ours.classes_, y) if target == "multiclass" else y.astype(np.float32),
                           None, loss_scale=ours._loss_scale, alpha=0.1,
                           squared_error_outputs=2 if target == "reg2" else 1)
    loss, grad = fun(x)
    np.testing.assert_array_equal(_lbfgs._pack(views), x.astype(np.float32))  # x went into the model
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-6)
    np.testing.assert_allclose(grad, ref_grad, rtol=0, atol=1e-6 * np.abs(ref_grad).max())


def test_a_converged_fit_is_as_good_as_sklearns():
    """To convergence (default tol, gradient test): no ConvergenceWarning for either, both fit the
    digits training set, and held-out accuracy and the final loss are alike (different minima of
    the same non-convex problem: see the module docstring)."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    params = dict(hidden_layer_sizes=(32,), random_state=0, solver="lbfgs")
    ref = sk_nn.MLPClassifier(**params).fit(X[:1200], y[:1200])
    ours = MLPClassifier(**params).fit(X[:1200], y[:1200])
    assert ref.n_iter_ < 200 and ours.n_iter_ < 200
    assert ours.score(X[:1200], y[:1200]) == ref.score(X[:1200], y[:1200]) == 1.0
    assert abs(ours.score(X[1200:], y[1200:]) - ref.score(X[1200:], y[1200:])) < 0.03
    assert ours.loss_ < 10 * ref.loss_ and ref.loss_ < 10 * ours.loss_


def test_a_converged_regression_scores_as_sklearns():
    ref, ours, X, y = _fit_both("reg1", hidden_layer_sizes=(8,), random_state=0, max_iter=3000)
    assert abs(ours.score(X, y) - ref.score(X, y)) < 0.01


# ------------------------------------------------------------------------------ max_iter, max_fun, tol
def _warning_messages(fit):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit()
    return [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]


def test_max_iter_reached_warns_as_sklearn():
    X, y = _digits()
    params = dict(solver="lbfgs", hidden_layer_sizes=(8,), random_state=0, max_iter=4)
    ref, ours = sk_nn.MLPClassifier(**params), MLPClassifier(**params)
    expected = _warning_messages(lambda: ref.fit(X, y))
    got = _warning_messages(lambda: ours.fit(X, y))
    assert len(got) == 1 and got == expected
    assert "TOTAL NO. OF ITERATIONS REACHED LIMIT" in got[0] and "max_iter=4" in got[0]
    assert ours.n_iter_ == ref.n_iter_ == 4


def test_max_fun_limits_the_function_evaluations():
    X, y = _digits()
    params = dict(solver="lbfgs", hidden_layer_sizes=(8,), random_state=0, max_fun=6)
    ref, ours = sk_nn.MLPClassifier(**params), MLPClassifier(**params)
    expected = _warning_messages(lambda: ref.fit(X, y))
    got = _warning_messages(lambda: ours.fit(X, y))
    assert len(got) == 1 and got == expected
    assert "F,G EVALUATIONS EXCEEDS LIMIT" in got[0]
    assert ours.n_iter_ == ref.n_iter_ < 6


def test_tol_is_the_projected_gradient_tolerance():
    """tol is SciPy's gtol: a fit stops once every gradient entry is below it. A tol above the
    initial gradient stops at once; a moderate one stops where sklearn's does."""
    X, y = _digits()
    for tol, expected_iter in ((10.0, 0), (1e-2, None)):
        params = dict(solver="lbfgs", hidden_layer_sizes=(8,), random_state=0, tol=tol)
        ref, ours = sk_nn.MLPClassifier(**params).fit(X, y), MLPClassifier(**params).fit(X, y)
        assert ours.n_iter_ == ref.n_iter_
        if expected_iter is not None:
            assert ours.n_iter_ == expected_iter
    assert 0 < ours.n_iter_ < 200


def test_max_fun_must_be_a_positive_integer():
    X, y = _digits()
    with pytest.raises(ValueError, match="max_fun must be a positive integer, got 0"):
        MLPClassifier(solver="lbfgs", max_fun=0).fit(X, y)


# ------------------------------------------------------------------------------ estimator behaviour
@no_convergence_warning
def test_warm_start_continues_from_the_current_weights():
    """A second fit with warm_start starts a new L-BFGS-B run from the weights of the first, as
    sklearn: n_iter_ counts the second run only; the weights follow sklearn's."""
    X, y = _digits()
    params = dict(solver="lbfgs", hidden_layer_sizes=(8,), random_state=0, max_iter=3, warm_start=True)
    ref, ours = sk_nn.MLPClassifier(**params), MLPClassifier(**params)
    ref.fit(X, y).fit(X, y)
    ours.fit(X, y).fit(X, y)
    assert ours.n_iter_ == ref.n_iter_ == 3
    np.testing.assert_allclose(ours.loss_, ref.loss_, rtol=1e-6)
    _assert_same_weights(ref, ours, atol=1e-5)
    cold = MLPClassifier(**{**params, "warm_start": False}).fit(X, y)
    assert cold.loss_ > ours.loss_


@no_convergence_warning
@pytest.mark.parametrize("target", ["multiclass", "reg1"])
def test_sample_weight_follows_sklearn(target):
    """sklearn's weighted loss (weighted mean, the penalty divided by the weight sum)."""
    _, _, X, _ = _problem(target)
    weights = np.random.default_rng(0).uniform(0.0, 3.0, size=len(X))
    ref, ours, _, _ = _fit_both(target, sample_weight=weights, hidden_layer_sizes=(8,), alpha=0.1,
                                random_state=0, max_iter=5)
    assert ours.n_iter_ == ref.n_iter_ == 5
    np.testing.assert_allclose(ours.loss_, ref.loss_, rtol=1e-6)
    _assert_same_weights(ref, ours, atol=1e-5)


def test_fitted_attributes_are_sklearns():
    """lbfgs sets no loss_curve_, best_loss_ or validation scores (sklearn sets them for the
    stochastic solvers only); t_ stays 0; early_stopping plays no part."""
    X, y = _digits(n=200)
    params = dict(solver="lbfgs", hidden_layer_sizes=(8,), random_state=0, max_iter=2000, early_stopping=True)
    ref, ours = sk_nn.MLPClassifier(**params).fit(X, y), MLPClassifier(**params).fit(X, y)
    public = {name for name in vars(ref) if name.endswith("_") and not name.startswith("_")}
    for name in public:
        assert hasattr(ours, name), name
    for name in ("loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_"):
        assert not hasattr(ref, name) and not hasattr(ours, name), name
    assert ours.t_ == ref.t_ == 0


def test_partial_fit_is_not_available():
    """sklearn: partial_fit exists for the stochastic solvers only (hasattr is False)."""
    with pytest.raises(AttributeError) as expected:
        sk_nn.MLPClassifier(solver="lbfgs").partial_fit(*_digits(n=50))
    for est in (MLPClassifier(solver="lbfgs"), MLPRegressor(solver="lbfgs")):
        assert not hasattr(est, "partial_fit")
        with pytest.raises(AttributeError) as got:
            est.partial_fit(*_digits(n=50))
        name = type(est).__name__
        assert str(got.value) == str(expected.value).replace("MLPClassifier", name)
        assert "lbfgs is not stochastic" in str(got.value.__cause__)
    assert hasattr(MLPClassifier(solver="adam"), "partial_fit")


def test_verbose_prints_what_sklearn_prints(capfd):
    X, y = _digits(n=200)
    params = dict(solver="lbfgs", hidden_layer_sizes=(8,), random_state=0, max_iter=2000, verbose=True)
    sk_nn.MLPClassifier(**params).fit(X, y)
    expected = capfd.readouterr()
    MLPClassifier(**params).fit(X, y)
    got = capfd.readouterr()
    assert got.out == expected.out and got.err == expected.err


def test_switching_a_fitted_adam_model_to_lbfgs_with_warm_start():
    X, y = _digits(n=200)
    est = MLPClassifier(hidden_layer_sizes=(8,), random_state=0, max_iter=5, warm_start=True)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    before = est.loss_
    est.set_params(solver="lbfgs", max_iter=2000).fit(X, y)
    assert est.loss_ < before
    assert est.score(X, y) == 1.0


@no_convergence_warning
@pytest.mark.parametrize("early_stopping", [False, True])
def test_switching_from_lbfgs_to_adam_with_warm_start(early_stopping):
    """scikit-learn 1.9 raises AttributeError here (its stochastic bookkeeping, loss_curve_, was
    never set by the lbfgs fit); fastmlp starts the bookkeeping and continues from the weights."""
    X, y = _digits(n=200)
    est = MLPClassifier(solver="lbfgs", hidden_layer_sizes=(8,), random_state=0, max_iter=5, warm_start=True)
    est.fit(X, y)
    lbfgs_loss = est.loss_  # ~1.94; a fresh start's first epoch: ~2.46
    est.set_params(solver="adam", max_iter=3, early_stopping=early_stopping).fit(X, y)
    assert est.n_iter_ == 3 and len(est.loss_curve_) == 3
    if early_stopping:  # trained on 90% of the data
        assert len(est.validation_scores_) == 3 and abs(est.loss_curve_[0] - lbfgs_loss) < 0.05
    else:  # one full batch (batch_size "auto" = 200): the first epoch's loss is the lbfgs fit's final loss
        assert est.loss_curve_[0] == pytest.approx(lbfgs_loss, rel=1e-6)
        assert est.best_loss_ == min(est.loss_curve_)
    assert np.all(np.diff(est.loss_curve_) < 0)


# ------------------------------------------------------------------------------ the objective's plumbing
def _compiled_model(outputs: int, loss: str, seed: int = 0):
    import fastmlp as fm

    model = fm.Sequential([fm.Dense(7, activation="relu", kernel_regularizer=fm.regularizers.L2(0.01)),
                           fm.Dense(outputs, kernel_regularizer=fm.regularizers.L2(0.01))], input_dim=5, seed=seed)
    model.compile(loss=loss, optimizer=fm.optim.SGD(lr=0.1))
    return model


@pytest.mark.parametrize("loss_scale", [1.0, 2.0 / 3.0])
def test_layout_copies_equal_pack_and_unpack(loss_scale):
    """_Layout.pack / unpack (no intermediate arrays) give exactly _pack / _unpack's values."""
    model = _compiled_model(3, "mse")
    views = model.parameters()
    layout = _lbfgs._Layout([v.shape for v in views])
    x = np.random.default_rng(1).normal(size=layout.size)
    assert layout.size == _lbfgs._pack(views).size == model.num_params
    layout.unpack(x, views)
    ours = [v.copy() for v in views]
    _lbfgs._unpack(x, views)
    assert all(np.array_equal(a, b) for a, b in zip(ours, views))
    out = np.full(layout.size, np.nan)
    layout.pack(views, out)
    np.testing.assert_array_equal(out, _lbfgs._pack(views))


@pytest.mark.parametrize("target", ["labels", "mse3", "weighted"])
def test_objective_equals_loss_and_gradients_bit_for_bit(target):
    """Each evaluation is loss_and_gradients at x, divided by loss_scale, packed in scikit-learn's
    order: the same bits (the data are validated once, the gradients copied straight into a new
    float64 vector); a new gradient array every call (SciPy keeps the ones it is given)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 5))
    sw = rng.uniform(0.5, 2.0, size=40) if target == "weighted" else None
    if target == "mse3":
        model, y, loss_scale, k = _compiled_model(3, "mse"), rng.normal(size=(40, 3)), 2.0 / 3.0, 3
    else:
        model, y, loss_scale, k = _compiled_model(4, "cross_entropy"), rng.integers(0, 4, size=40), 1.0, 1
    fun = _lbfgs.objective(model, X, y, sw, loss_scale=loss_scale, alpha=0.01, squared_error_outputs=k,
                           loss_offset=0.25)
    views = model.parameters()
    grads_seen = []
    for step in range(3):
        x = _lbfgs._pack(views) + 0.01 * step * rng.normal(size=model.num_params)
        value, grad = fun(x)
        grads_seen.append(grad)
        assert grad.dtype == np.float64 and grad.flags.c_contiguous
        loss, grads = model.loss_and_gradients(X, y, sample_weight=None if sw is None else sw.astype(np.float32))
        expected = loss / loss_scale
        if k > 1:
            penalty = 0.005 * sum(float(np.dot(w.ravel(), w.ravel())) for w in views[0::2]) / len(X)
            expected = (expected - penalty) / k + penalty
        assert value == expected + 0.25
        np.testing.assert_array_equal(grad, _lbfgs._pack(grads) / loss_scale)
    assert len({id(g) for g in grads_seen}) == 3 and not np.array_equal(grads_seen[0], grads_seen[2])


def test_objective_checks_its_data_once_when_it_is_made():
    """Bad data, or an uncompiled model, fail when the objective is made (as loss_and_gradients
    would), not at the first evaluation."""
    import fastmlp as fm

    X, y = np.zeros((6, 5)), np.array([0, 1, 2, 3, 0, 1])
    model = _compiled_model(4, "cross_entropy")
    with pytest.raises(ValueError, match="X"):
        _lbfgs.objective(model, X[:, :3], y, None, loss_scale=1.0, alpha=0.0)
    with pytest.raises(ValueError):
        _lbfgs.objective(model, X, y + 4, None, loss_scale=1.0, alpha=0.0)
    with pytest.raises(ValueError):
        _lbfgs.objective(model, X, y, np.zeros(6), loss_scale=1.0, alpha=0.0)
    with pytest.raises(RuntimeError, match="compile"):
        _lbfgs.objective(fm.Sequential([fm.Dense(4)], input_dim=5), X, y, None, loss_scale=1.0, alpha=0.0)
