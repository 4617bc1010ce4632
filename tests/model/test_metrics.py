"""fm.metrics against sklearn.metrics: the same values exactly (and the same warnings) on random
labels and targets over many seeds, plus the compile(metrics=[...]) names that use them."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sklearn.metrics as skm

import fastmlp as fm
from fastmlp import metrics as fmm

SEEDS = range(4)  # looped inside the tests: the grid is large and each case is cheap
# (n samples, classes in y_true, classes predicted): small n and narrow predictions give 0/0 cases
LABEL_GRID = [(1, 2, 2), (2, 2, 1), (7, 2, 2), (7, 3, 2), (13, 3, 3), (50, 5, 5), (50, 5, 2), (97, 4, 4), (31, 2, 1)]
AVERAGES = ["binary", "macro", "micro", "weighted", None]
ZERO_DIVISION = ["warn", 0.0, 1.0, np.nan]


def _labels(seed, n, k_true, k_pred, strings=False):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, k_true, n)
    p = rng.integers(0, k_pred, n)
    if strings:
        names = np.array(["cat", "dog", "pig", "cow", "emu"])
        return names[t], names[p]
    return t, p


def _call(fn, *args, **kwargs):
    """(value or exception type, warning categories by name) of fn(*args, **kwargs)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = fn(*args, **kwargs)
        except ValueError:
            value = ValueError
    # numpy's RuntimeWarnings (sklearn divides by zero where fastmlp avoids it) are not compared
    return value, sorted({w.category.__name__ for w in caught if not issubclass(w.category, RuntimeWarning)})


def _same(a, b):
    if a is ValueError or b is ValueError:
        return a is b
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype.kind == b.dtype.kind and np.array_equal(a, b, equal_nan=True)


def _check(name, *args, **kwargs):
    got, got_warn = _call(getattr(fmm, name), *args, **kwargs)
    want, want_warn = _call(getattr(skm, name), *args, **kwargs)
    assert _same(got, want), f"{name}{kwargs}: got {got!r}, sklearn {want!r}"
    assert got_warn == want_warn, f"{name}{kwargs}: warnings {got_warn}, sklearn {want_warn}"
    if want is not ValueError and np.ndim(want) == 0:
        assert type(got) is type(want)


def _grid():
    for seed in SEEDS:
        for shape in LABEL_GRID:
            yield seed, shape


@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize("zero_division", ZERO_DIVISION)
@pytest.mark.parametrize("name", ["precision_score", "recall_score", "f1_score"])
def test_prf_equals_sklearn(name, zero_division, average):
    for seed, shape in _grid():
        t, p = _labels(seed, *shape)
        _check(name, t, p, average=average, zero_division=zero_division)


@pytest.mark.parametrize("shape", LABEL_GRID)
@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize("name", ["precision_score", "recall_score", "f1_score"])
def test_prf_with_sample_weight_labels_and_pos_label_equals_sklearn(name, average, shape):
    for seed in range(3):
        _check_prf_options(name, average, shape, seed)


def _check_prf_options(name, average, shape, seed):
    t, p = _labels(seed, *shape)
    w = np.random.default_rng(100 + seed).uniform(0, 2, t.shape[0])
    _check(name, t, p, average=average, sample_weight=w, zero_division=0.0)
    _check(name, t, p, average=average, sample_weight=(w * 3).astype(np.int64), zero_division=1.0)
    if average != "binary":
        _check(name, t, p, average=average, labels=[0, 2, 1], zero_division=0.0)
        _check(name, t, p, average=average, labels=[1], zero_division=np.nan)
    else:
        _check(name, t, p, average=average, pos_label=0, zero_division=0.0)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("average", AVERAGES)
def test_prf_string_labels_equal_sklearn(average, seed):
    t, p = _labels(seed, 20, 3, 3, strings=True)
    _check("f1_score", t, p, average=average, zero_division=0.0)
    t2, p2 = _labels(seed, 20, 2, 2, strings=True)
    _check("precision_score", t2, p2, average=average, pos_label="dog", zero_division=0.0)


@pytest.mark.parametrize("shape", LABEL_GRID)
def test_accuracy_and_confusion_matrix_equal_sklearn(shape):
    for seed in SEEDS:
        _check_accuracy_and_confusion(shape, seed)


def _check_accuracy_and_confusion(shape, seed):
    t, p = _labels(seed, *shape)
    w = np.random.default_rng(seed).uniform(0, 2, t.shape[0])
    _check("accuracy_score", t, p)
    _check("accuracy_score", t, p, normalize=False)
    _check("accuracy_score", t, p, sample_weight=w)
    _check("accuracy_score", t, p, normalize=False, sample_weight=w)
    for normalize in (None, "true", "pred", "all"):
        _check("confusion_matrix", t, p, normalize=normalize)
        _check("confusion_matrix", t, p, normalize=normalize, sample_weight=w)
        _check("confusion_matrix", t, p, normalize=normalize, labels=[2, 0, 1, 7])
    _check("confusion_matrix", t, p, sample_weight=np.ones(t.shape[0], dtype=np.int64) * 2)


@pytest.mark.parametrize("n,classes", [(1, 3), (5, 3), (40, 4), (40, 7), (13, 2)])
@pytest.mark.parametrize("k", [1, 2, 3, 6])
def test_top_k_accuracy_equals_sklearn(k, n, classes):
    for seed in SEEDS:
        _check_top_k(k, n, classes, seed)


def _check_top_k(k, n, classes, seed):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, classes, n)
    scores = rng.integers(0, 3, (n, classes)).astype(np.float64)  # many ties
    labels = np.arange(classes)
    _check("top_k_accuracy_score", t, scores, k=k, labels=labels)
    _check("top_k_accuracy_score", t, rng.standard_normal((n, classes)), k=k, labels=labels, normalize=False)
    _check("top_k_accuracy_score", t, scores, k=k)  # without labels: an error unless every class occurs
    _check("top_k_accuracy_score", t, scores, k=k, labels=labels, sample_weight=rng.uniform(0, 1, n))
    tb = rng.integers(0, 2, n)
    _check("top_k_accuracy_score", tb, rng.uniform(0, 1, n), k=k, labels=[0, 1])
    _check("top_k_accuracy_score", tb, rng.standard_normal(n), k=k, labels=[0, 1])


@pytest.mark.parametrize("shape", [(1,), (2,), (9,), (30, 1), (30, 3), (17, 2)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["mean_squared_error", "mean_absolute_error", "r2_score"])
def test_regression_metrics_equal_sklearn(name, dtype, shape):
    for seed in SEEDS:
        _check_regression(name, dtype, shape, seed)


def _check_regression(name, dtype, shape, seed):
    rng = np.random.default_rng(seed)
    t = rng.standard_normal(shape).astype(dtype)
    p = (t + rng.standard_normal(shape)).astype(dtype)
    w = rng.uniform(0, 2, shape[0])
    _check(name, t, p)
    _check(name, t, p, sample_weight=w)
    _check(name, t, p, multioutput="raw_values")
    if len(shape) == 2:
        _check(name, t, p, multioutput=rng.uniform(0, 1, shape[1]))
    if name == "r2_score":
        _check(name, t, p, multioutput="variance_weighted")
        const = np.zeros(shape, dtype=dtype)
        for force_finite in (True, False):
            _check(name, const, p, force_finite=force_finite)
            _check(name, const, const, force_finite=force_finite)
            _check(name, const, const, force_finite=force_finite, multioutput="variance_weighted")


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="average"):
        fm.metrics.f1_score([0, 1], [0, 1], average="mean")
    with pytest.raises(ValueError, match="zero_division"):
        fm.metrics.recall_score([0, 1], [0, 1], zero_division=2)
    with pytest.raises(ValueError, match="same length"):
        fm.metrics.accuracy_score([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="multiclass but average='binary'"):
        fm.metrics.precision_score([0, 1, 2], [0, 1, 1])
    with pytest.raises(ValueError, match="continuous"):
        fm.metrics.accuracy_score([0.5, 1.0], [0, 1])
    with pytest.raises(ValueError, match="same shape"):
        fm.metrics.r2_score(np.zeros((3, 2)), np.zeros((3, 1)))


# ------------------------------------------------------------------------- compile(metrics=[...])
def _classifier(metrics, n_in=6, n_out=4, seed=0):
    model = fm.Sequential([fm.Dense(9, activation="tanh"), fm.Dense(n_out)], input_dim=n_in, seed=seed)
    model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=0.01), metrics=metrics)
    return model


def _class_data(seed, n=90, n_in=6, n_out=4):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, n_in)).astype(np.float32), rng.integers(0, n_out, n)


PREDICTION_METRICS = [
    ("f1", lambda y, out: skm.f1_score(y, out.argmax(1), average="macro", zero_division=0)),
    ("f1_micro", lambda y, out: skm.f1_score(y, out.argmax(1), average="micro", zero_division=0)),
    ("f1_weighted", lambda y, out: skm.f1_score(y, out.argmax(1), average="weighted", zero_division=0)),
    ("precision", lambda y, out: skm.precision_score(y, out.argmax(1), average="macro", zero_division=0)),
    ("precision_weighted", lambda y, out: skm.precision_score(y, out.argmax(1), average="weighted", zero_division=0)),
    ("recall", lambda y, out: skm.recall_score(y, out.argmax(1), average="macro", zero_division=0)),
    ("recall_micro", lambda y, out: skm.recall_score(y, out.argmax(1), average="micro", zero_division=0)),
    ("top_2_accuracy", lambda y, out: skm.top_k_accuracy_score(y, out, k=2, labels=range(4))),
    ("top_3_accuracy", lambda y, out: skm.top_k_accuracy_score(y, out, k=3, labels=range(4))),
]


@pytest.mark.parametrize("name,reference", PREDICTION_METRICS, ids=[m for m, _ in PREDICTION_METRICS])
@pytest.mark.parametrize("seed", range(3))
def test_compiled_prediction_metrics_equal_sklearn_on_predictions(name, reference, seed):
    X, y = _class_data(seed)
    Xv, yv = _class_data(seed + 10, n=37)
    model = _classifier(["accuracy", name], seed=seed)
    history = model.fit(X, y, epochs=2, batch_size=16, validation_data=(Xv, yv), verbose=0)
    # after the last epoch: the training value is from a predict pass with the final weights
    assert history.history[name][-1] == pytest.approx(reference(y, model.predict(X)), abs=0)
    assert history.history["val_" + name][-1] == pytest.approx(reference(yv, model.predict(Xv)), abs=0)
    assert model.evaluate(Xv, yv)[name] == pytest.approx(reference(yv, model.predict(Xv)), abs=0)
    assert list(model.evaluate(Xv, yv)) == ["loss", "accuracy", name]


@pytest.mark.parametrize("seed", range(3))
def test_compiled_r2_equals_sklearn_and_core_metrics_stay_in_cpp(seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((64, 5)).astype(np.float32)
    y = rng.standard_normal((64, 2)).astype(np.float32)
    model = fm.Sequential([fm.Dense(8, activation="relu"), fm.Dense(2)], input_dim=5, seed=seed)
    model.compile(loss="mse", optimizer="adam", metrics=["mae", "r2", "mse"])
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    out = model.predict(X)
    logs = model.evaluate(X, y)
    assert list(logs) == ["loss", "mae", "r2", "mse"]
    assert logs["r2"] == pytest.approx(skm.r2_score(y, out), abs=0)
    assert logs["mae"] == pytest.approx(skm.mean_absolute_error(y.astype(np.float64), out.astype(np.float64)), rel=1e-6)
    assert logs["mse"] == pytest.approx(skm.mean_squared_error(y.astype(np.float64), out.astype(np.float64)), rel=1e-6)


@pytest.mark.parametrize(
    "metrics,loss,message",
    [
        (["f1"], "mse", "classification"),
        (["r2"], "cross_entropy", "regression"),
        (["top_k_acc"], "cross_entropy", "unknown metric|top_k_acc"),
        (["f1_samples"], "cross_entropy", "f1_samples"),
    ],
)
def test_compile_rejects_metrics_the_loss_cannot_support(metrics, loss, message):
    model = fm.Sequential([fm.Dense(3)], input_dim=2)
    with pytest.raises(ValueError, match=message):
        model.compile(loss=loss, metrics=metrics)


def test_compile_metric_aliases():
    model = fm.Sequential([fm.Dense(3)], input_dim=2)
    model.compile(loss="cross_entropy", metrics=["f1_score", "top_k_categorical_accuracy", "acc"])
    assert model._metrics == ["f1", "top_k_accuracy", "accuracy"]
