"""fastmlp.sklearn.MLPRegressor(loss="poisson") against scikit-learn's own MLPRegressor(loss="poisson")
(issue 20): the same initial weights, data and full-batch unshuffled solver give the same weights,
loss_curve_ (scikit-learn's half Poisson deviance, its y-only term included) and predictions exp(z),
to float32 rounding; negative y is refused with scikit-learn's Poisson text."""

from __future__ import annotations

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn import neural_network as sk_nn  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402

from fastmlp.sklearn import MLPRegressor  # noqa: E402

no_convergence_warning = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _counts(n=60, outputs=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    rate = np.exp(0.4 * X @ rng.normal(size=(5, outputs)) + 0.5)
    y = rng.poisson(rate).astype(float)
    y[:3] = 0.0
    return X, (y[:, 0] if outputs == 1 else y)


SOLVERS = [
    dict(solver="sgd", momentum=0.0, learning_rate_init=0.01),
    dict(solver="sgd", learning_rate_init=0.01),  # momentum 0.9, Nesterov
    dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.05),
    dict(solver="adam", learning_rate_init=0.01),
]


@no_convergence_warning
@pytest.mark.parametrize("outputs", [1, 3])
@pytest.mark.parametrize("solver", SOLVERS, ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_full_batch_poisson_training_follows_sklearn(outputs, solver):
    """Tolerances: fastmlp trains in float32, scikit-learn in float64. After 5 SGD steps the weights
    agree to 1e-6 absolute, the loss curve to 1e-5 relative and the predictions (exp of the output)
    to 1e-5 relative; Adam's weights to 3e-4 (PyTorch's epsilon placement, see test_sklearn.py)."""
    X, y = _counts(outputs=outputs)
    params = dict(hidden_layer_sizes=(7, 4), activation="tanh", alpha=0.5, batch_size=60, shuffle=False,
                  random_state=3, max_iter=5, tol=0.0, **solver)
    ref = sk_nn.MLPRegressor(loss="poisson", **params).fit(X, y)
    ours = MLPRegressor(loss="poisson", **params).fit(X, y)
    assert ours.n_iter_ == ref.n_iter_ == 5
    assert ours.out_activation_ == ref.out_activation_ == "exp"
    adam = solver["solver"] == "adam"
    for a, b in zip(ref.coefs_ + ref.intercepts_, ours.coefs_ + ours.intercepts_):
        np.testing.assert_allclose(b, a, rtol=0, atol=3e-4 if adam else 1e-6)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-5)
    assert ours.loss_ == ours.loss_curve_[-1]
    pred, ref_pred = ours.predict(X), ref.predict(X)
    assert pred.shape == ref_pred.shape and pred.dtype == np.float64
    np.testing.assert_allclose(pred, ref_pred, rtol=1e-3 if adam else 1e-5)
    # predict is the mean exp(z) of the network's output z
    z = ours.model_.predict(X.astype(np.float32)).astype(np.float64)
    np.testing.assert_allclose(pred, np.exp(z[:, 0] if outputs == 1 else z), rtol=1e-12)
    assert ours.score(X, y) == pytest.approx(r2_score(y, pred), rel=1e-12)


@no_convergence_warning
def test_sample_weighted_poisson_training_follows_sklearn():
    X, y = _counts(seed=2)
    sw = np.random.default_rng(5).integers(0, 4, size=60).astype(float)
    params = dict(hidden_layer_sizes=(7,), activation="tanh", alpha=0.5, batch_size=60, shuffle=False,
                  random_state=1, max_iter=5, tol=0.0, solver="sgd", learning_rate_init=0.01)
    ref = sk_nn.MLPRegressor(loss="poisson", **params).fit(X, y, sample_weight=sw)
    ours = MLPRegressor(loss="poisson", **params).fit(X, y, sample_weight=sw)
    for a, b in zip(ref.coefs_ + ref.intercepts_, ours.coefs_ + ours.intercepts_):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-5)


@no_convergence_warning
def test_minibatch_poisson_fit_learns_like_sklearn():
    """Shuffled mini-batches differ from scikit-learn's (another generator), so the two fits are
    compared by their outcome: both reach a similar deviance and R² on the training data."""
    X, y = _counts(n=400, seed=4)
    params = dict(hidden_layer_sizes=(16,), random_state=0, max_iter=60, learning_rate_init=0.01)
    ref = sk_nn.MLPRegressor(loss="poisson", **params).fit(X, y)
    ours = MLPRegressor(loss="poisson", **params).fit(X, y)
    assert ours.loss_curve_[-1] == pytest.approx(ref.loss_curve_[-1], rel=0.1)
    assert ours.score(X, y) == pytest.approx(ref.score(X, y), abs=0.1)
    assert ours.loss_curve_[-1] < ours.loss_curve_[0]


@no_convergence_warning
def test_poisson_early_stopping_scores_the_mean():
    X, y = _counts(n=200, seed=6)
    est = MLPRegressor(loss="poisson", early_stopping=True, random_state=0, max_iter=15, n_iter_no_change=100,
                       learning_rate_init=0.01).fit(X, y)
    assert len(est.validation_scores_) == 15 and np.isfinite(est.validation_scores_).all()
    assert est.best_validation_score_ == max(est.validation_scores_)
    # the best weights are restored: their R² of exp(z) on the held-out part is the best score
    ref = sk_nn.MLPRegressor(loss="poisson", early_stopping=True, random_state=0, max_iter=15,
                             n_iter_no_change=100, learning_rate_init=0.01).fit(X, y)
    assert est.best_validation_score_ == pytest.approx(ref.best_validation_score_, abs=0.15)


@no_convergence_warning
def test_negative_y_is_refused_with_sklearn_s_poisson_text():
    X, y = _counts()
    y[5] = -1.0
    with pytest.raises(ValueError, match=r"^Some value\(s\) of y are negative which is not allowed for Poisson "
                                         r"regression\.$"):
        MLPRegressor(loss="poisson", max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="negative"):
        MLPRegressor(loss="poisson").partial_fit(X, y)
    MLPRegressor(loss="squared_error", max_iter=2, tol=1.0).fit(X, y)  # squared error takes any y


@no_convergence_warning
def test_poisson_partial_fit_warm_start_and_squared_error_switch():
    X, y = _counts(seed=8)
    est = MLPRegressor(loss="poisson", hidden_layer_sizes=(5,), random_state=0, batch_size=60, shuffle=False)
    for _ in range(3):
        est.partial_fit(X, y)
    full = MLPRegressor(loss="poisson", hidden_layer_sizes=(5,), random_state=0, batch_size=60, shuffle=False,
                        max_iter=3, tol=0.0).fit(X, y)
    assert est.loss_curve_ == full.loss_curve_
    np.testing.assert_array_equal(est.predict(X), full.predict(X))
    # the same estimator refit with squared error: identity output, mse
    est.set_params(loss="squared_error", max_iter=2).fit(X, y)
    assert est.out_activation_ == "identity" and est.model_.loss.name == "mse"
    np.testing.assert_array_equal(est.predict(X), est.model_.predict(X.astype(np.float32))[:, 0])


@no_convergence_warning
def test_an_overflowing_mean_scores_nan_as_sklearn():
    X, y = _counts(seed=9)
    est = MLPRegressor(loss="poisson", hidden_layer_sizes=(3,), max_iter=1, random_state=0).fit(X, y)
    est.model_.parameters()[-1][...] = 800.0  # output bias: exp(800) overflows float64
    assert np.isinf(est.predict(X)).all()  # as scikit-learn's exp output
    assert np.isnan(est._validation_score(X.astype(np.float32), y, None))
