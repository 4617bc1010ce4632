"""fastmlp.sklearn on sparse X (scipy.sparse CSR/CSC/COO, matrices and arrays): trained without
densifying, and the same model, bit for bit, as on the densified X. (check_estimator's own sparse
checks run in test_sklearn.py: the estimators declare sparse input.)"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

pytest.importorskip("sklearn")
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from fastmlp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

RNG = np.random.default_rng(7)
X_SPARSE = sp.random(300, 400, density=0.03, format="csr", random_state=3, dtype=np.float64)
X_DENSE = X_SPARSE.toarray()
Y_CLASS = (np.asarray(X_SPARSE[:, :40].sum(axis=1)).ravel() > 0.4).astype(int) + (np.arange(300) % 2)
Y_REG = np.asarray(X_SPARSE[:, :20].sum(axis=1)).ravel() + 0.1 * RNG.standard_normal(300)

SETTINGS = [
    dict(solver="adam"),
    dict(solver="sgd", momentum=0.9, nesterovs_momentum=True),
    dict(solver="adam", early_stopping=True, validation_fraction=0.2),
    dict(solver="lbfgs", max_iter=15),
]


def fitted(cls, X, y, **kw):
    params = dict(hidden_layer_sizes=(17,), max_iter=4, random_state=0, alpha=1e-3)
    params.update(kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return cls(**params).fit(X, y)


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items()))
@pytest.mark.parametrize("cls,y", [(MLPClassifier, Y_CLASS), (MLPRegressor, Y_REG)], ids=["classifier", "regressor"])
def test_sparse_and_dense_x_give_the_same_model(cls, y, settings):
    a = fitted(cls, X_SPARSE, y, **settings)
    b = fitted(cls, X_DENSE, y, **settings)
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(p, q)
    assert a.n_iter_ == b.n_iter_
    np.testing.assert_array_equal(a.predict(X_SPARSE), b.predict(X_DENSE))
    np.testing.assert_array_equal(a.predict(X_SPARSE.tocsc()), b.predict(X_DENSE))
    if cls is MLPClassifier:
        np.testing.assert_array_equal(a.predict_proba(sp.coo_array(X_SPARSE)), b.predict_proba(X_DENSE))
    assert a.n_iter_ >= 2


def test_partial_fit_and_warm_start_take_sparse_x():
    a = MLPClassifier(hidden_layer_sizes=(9,), random_state=1)
    b = MLPClassifier(hidden_layer_sizes=(9,), random_state=1)
    for _ in range(3):
        a.partial_fit(X_SPARSE, Y_CLASS, classes=[0, 1, 2])
        b.partial_fit(X_DENSE, Y_CLASS, classes=[0, 1, 2])
    np.testing.assert_array_equal(a.predict_proba(X_SPARSE), b.predict_proba(X_DENSE))


def test_float32_sparse_x_predicts_float32_as_dense_float32_does():
    X32 = X_SPARSE.astype(np.float32)
    model = fitted(MLPClassifier, X32, Y_CLASS)
    assert model.predict_proba(X32).dtype == np.float32
    assert model.predict_proba(X_SPARSE).dtype == np.float64
    np.testing.assert_array_equal(model.predict_proba(X32), fitted(MLPClassifier, X32.toarray(), Y_CLASS)
                                  .predict_proba(X32.toarray()))


def test_sparse_x_with_the_wrong_feature_count_is_refused():
    model = fitted(MLPRegressor, X_SPARSE, Y_REG)
    with pytest.raises(ValueError, match="features"):
        model.predict(X_SPARSE[:, :399])
