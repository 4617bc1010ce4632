"""fastmlp on a dask.distributed cluster (a LocalCluster of 2 worker processes, 1 thread each):
GridSearchCV and cross_val_score over fastmlp.sklearn estimators under
joblib.parallel_backend("dask") give exactly the local run's results, and models pickled to a
worker and back predict and train there bit for bit as they do here.

Exact equality holds because fastmlp's results do not depend on the process or on the thread
count (docs/architecture.md, Determinism); each worker runs fastmlp on 1 thread (the nanny starts
workers with OMP_NUM_THREADS=1), so the workers of a search do not oversubscribe the CPUs."""

from __future__ import annotations

import logging
import os
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
distributed = pytest.importorskip("dask.distributed")  # a guard only: the [test] extra installs it

import cloudpickle  # noqa: E402  (a dependency of dask.distributed)
import joblib  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score  # noqa: E402

import fastmlp as fm  # noqa: E402
from fastmlp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

# few epochs: the searches stop at max_iter; scikit-learn passes this filter to the workers too
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def client():
    # The functions below that run on a worker are sent by value: a worker cannot import this module.
    module = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(module)
    try:
        # No dashboard; the scheduler's HTTP server (health routes) on a free port, not on 8787,
        # which another cluster may hold (a "Port 8787 is already in use" warning, an error here).
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                      scheduler_kwargs={"dashboard_address": ":0"}, silence_logs=logging.ERROR,
                                      ) as cluster, distributed.Client(cluster) as c:
            yield c
    finally:
        cloudpickle.unregister_pickle_by_value(module)


def _classification(n=90, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    return X, np.argmax(X[:, :3] + 0.3 * rng.normal(size=(n, 3)), axis=1)


def _regression(n=90, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    return X, X @ rng.normal(size=5) + 0.1 * rng.normal(size=n)


_TIMES = ("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time")


def _assert_same_search(local, remote, X):
    assert local.cv_results_.keys() == remote.cv_results_.keys()
    for key, value in local.cv_results_.items():
        if key not in _TIMES:
            np.testing.assert_array_equal(remote.cv_results_[key], value, err_msg=key)
    assert remote.best_params_ == local.best_params_ and remote.best_score_ == local.best_score_
    assert remote.best_index_ == local.best_index_
    for a, b in zip(local.best_estimator_.coefs_ + local.best_estimator_.intercepts_,
                    remote.best_estimator_.coefs_ + remote.best_estimator_.intercepts_, strict=True):
        assert a.tobytes() == b.tobytes()
    assert local.best_estimator_.predict(X).tobytes() == remote.best_estimator_.predict(X).tobytes()


def _on_the_cluster(client, work):
    """work() under joblib's dask backend; fails unless tasks ran on the workers."""
    with distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"):
        result = work()
    assert stream.data, "no task ran on the cluster"
    return result


def test_a_worker_runs_fastmlp_on_one_thread_unless_told_otherwise(client):
    # The nanny sets OMP_NUM_THREADS=1 before a worker starts (distributed.nanny.pre-spawn-environ),
    # unless the environment that starts the cluster sets it; fastmlp's pool reads it at import.
    # FASTMLP_NUM_THREADS, inherited from here, would come first.
    omp = os.environ.get("OMP_NUM_THREADS", "1")
    assert list(client.run(os.environ.get, "OMP_NUM_THREADS").values()) == [omp, omp]
    expected = int(os.environ.get("FASTMLP_NUM_THREADS") or omp.split(",")[0])
    assert list(client.run(fm.get_num_threads).values()) == [expected, expected]


def test_grid_search_of_a_classifier_equals_the_local_one(client):
    X, y = _classification()
    grid = {"hidden_layer_sizes": [(4,), (8, 4)], "alpha": [1e-4, 1e-1], "solver": ["adam", "sgd"]}
    est = MLPClassifier(max_iter=12, batch_size=16, learning_rate_init=1e-2, random_state=0)
    search = lambda n_jobs: GridSearchCV(est, grid, cv=3, n_jobs=n_jobs, return_train_score=True)  # noqa: E731
    local = search(1).fit(X, y)
    remote = _on_the_cluster(client, lambda: search(None).fit(X, y))
    _assert_same_search(local, remote, X)
    np.testing.assert_array_equal(local.best_estimator_.predict_proba(X), remote.best_estimator_.predict_proba(X))
    # not a search whose scores are all equal
    assert len(set(local.cv_results_["mean_test_score"])) > 1


def test_grid_search_of_a_regressor_equals_the_local_one(client):
    X, y = _regression()
    grid = {"hidden_layer_sizes": [(6,), (12,)], "solver": ["adam", "lbfgs"], "early_stopping": [False, True]}
    est = MLPRegressor(max_iter=15, batch_size=16, learning_rate_init=1e-2, validation_fraction=0.2, random_state=3)
    search = lambda n_jobs: GridSearchCV(est, grid, cv=KFold(3, shuffle=True, random_state=0),  # noqa: E731
                                         scoring="neg_mean_squared_error", n_jobs=n_jobs)
    local = search(1).fit(X, y)
    remote = _on_the_cluster(client, lambda: search(None).fit(X, y))
    _assert_same_search(local, remote, X)
    assert len(set(local.cv_results_["mean_test_score"])) > 1


def test_cross_val_score_equals_the_local_one(client):
    X, y = _classification()
    est = MLPClassifier((8,), max_iter=10, batch_size=16, random_state=1)
    local = cross_val_score(est, X, y, cv=4, n_jobs=1)
    remote = _on_the_cluster(client, lambda: cross_val_score(est, X, y, cv=4))
    np.testing.assert_array_equal(remote, local)
    X, y = _regression()
    est = MLPRegressor((8,), max_iter=10, batch_size=16, random_state=1)
    np.testing.assert_array_equal(_on_the_cluster(client, lambda: cross_val_score(est, X, y, cv=4)),
                                  cross_val_score(est, X, y, cv=4, n_jobs=1))


# --------------------------------------------------------------------------- models between processes
def _assert_same_model(a, b):
    for x, y in zip(a.parameters() + a.buffers(), b.parameters() + b.buffers(), strict=True):
        assert x.tobytes() == y.tobytes()
    sa, sb = a.training_state(), b.training_state()
    assert (sa["epoch"], sa["rng_state"], sa["learning_rate"]) == (sb["epoch"], sb["rng_state"], sb["learning_rate"])
    assert sa["optimizer_state"].keys() == sb["optimizer_state"].keys()
    for key, value in sa["optimizer_state"].items():
        assert np.asarray(value).tobytes() == np.asarray(sb["optimizer_state"][key]).tobytes(), key


def _sequential(input_dim=5):
    model = fm.Sequential([fm.Dense(16, activation="relu"), fm.BatchNorm(), fm.Dropout(0.2), fm.Dense(3)],
                          input_dim=input_dim, seed=7)
    model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-2), metrics=["accuracy"],
                  lr_schedule=fm.schedules.StepLR(1, gamma=0.7))
    return model


def _train(model, X, y, epochs):
    model.fit(X, y, epochs=epochs, batch_size=16, verbose=0, initial_epoch=model.epoch)
    return model


def test_a_trained_sequential_predicts_on_a_worker_as_here(client):
    X, y = _classification()
    model = _train(_sequential(), X, y, 3)
    there = client.submit(fm.Sequential.predict, model, X).result()
    assert there.tobytes() == model.predict(X).tobytes()
    # a bound method pickles its model with it
    assert client.submit(model.predict, X).result().tobytes() == model.predict(X).tobytes()
    evaluated = client.submit(fm.Sequential.evaluate, model, X, y).result()
    assert evaluated == model.evaluate(X, y)


def test_a_sequential_trained_on_a_worker_comes_back_as_trained_here(client):
    X, y = _classification()
    # sent compiled but untrained, trained there for 2 epochs, brought back
    back = client.submit(_train, _sequential(), X, y, 2).result()
    here = _train(_sequential(), X, y, 2)
    _assert_same_model(back, here)
    assert back.predict(X).tobytes() == here.predict(X).tobytes()
    # a second trip: resumed there from its optimizer state, generators and schedule, as here
    back = client.submit(_train, back, X, y, 4).result()
    _assert_same_model(back, _train(here, X, y, 4))
    # sent unbuilt (compiled, no input width yet): built from X there, as here
    unbuilt = _sequential(input_dim=None)
    assert not unbuilt.built
    _assert_same_model(client.submit(_train, unbuilt, X, y, 2).result(), _train(_sequential(None), X, y, 2))


def _fit_quietly(est, X, y):
    """est.fit on a worker, without the ConvergenceWarning that fit's few epochs raise there (this
    module's filter does not reach a worker outside scikit-learn's own Parallel)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_a_fitted_estimator_travels_to_a_worker_and_back_exactly(client, kind):
    if kind == "classifier":
        X, y = _classification()
        est = MLPClassifier((8,), max_iter=10, batch_size=16, random_state=2)
    else:
        X, y = _regression()
        est = MLPRegressor((8,), max_iter=10, batch_size=16, random_state=2)
    fitted = clone(est).fit(X, y)
    method = "predict_proba" if kind == "classifier" else "predict"
    there = client.submit(getattr(type(est), method), fitted, X).result()
    assert there.tobytes() == getattr(fitted, method)(X).tobytes()
    # fitted there, it is the estimator fitted here; a partial_fit there continues as one here
    back = client.submit(_fit_quietly, clone(est), X, y).result()
    assert back.loss_curve_ == fitted.loss_curve_ and back.n_iter_ == fitted.n_iter_
    for a, b in zip(back.coefs_ + back.intercepts_, fitted.coefs_ + fitted.intercepts_, strict=True):
        assert a.tobytes() == b.tobytes()
    back = client.submit(type(est).partial_fit, back, X, y).result()
    fitted.partial_fit(X, y)
    assert back.predict(X).tobytes() == fitted.predict(X).tobytes() and back.loss_curve_ == fitted.loss_curve_
