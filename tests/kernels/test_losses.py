"""Losses at kernel level (fastmlp._core.loss) and through model.evaluate, plus the metrics,
against the float64 reference."""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import _core

import reference as ref

MSE_SHAPES = [(1, 1), (1, 7), (3, 2), (13, 1), (17, 5), (33, 13), (65, 3)]
CE_SHAPES = [(1, 1), (1, 2), (2, 3), (7, 3), (13, 10), (31, 17), (65, 2)]


@pytest.mark.parametrize("batch,out", MSE_SHAPES)
def test_mse_value_and_gradient(batch, out):
    rng = np.random.default_rng(batch * 100 + out)
    pred = rng.standard_normal((batch, out)).astype(np.float32)
    target = rng.standard_normal((batch, out)).astype(np.float32)
    value, grad = _core.loss("mse", pred, target)
    rvalue, rgrad = ref.mse(pred, target)
    assert isinstance(value, float)
    assert grad.shape == pred.shape and grad.dtype == np.float32
    np.testing.assert_allclose(value, rvalue, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(grad, rgrad, rtol=1e-5, atol=1e-7 / (batch * out))


@pytest.mark.parametrize("batch,classes", CE_SHAPES)
def test_cross_entropy_value_and_gradient(batch, classes):
    rng = np.random.default_rng(batch * 1000 + classes)
    logits = (3.0 * rng.standard_normal((batch, classes))).astype(np.float32)
    labels = rng.integers(0, classes, size=batch).astype(np.int64)
    value, grad = _core.loss("cross_entropy", logits, labels)
    rvalue, rgrad = ref.cross_entropy(logits, labels)
    assert isinstance(value, float)
    assert grad.shape == logits.shape and grad.dtype == np.float32
    np.testing.assert_allclose(value, rvalue, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad, rgrad, rtol=1e-5, atol=1e-7)
    # gradient rows of the mean loss sum to zero (softmax minus one-hot, divided by batch)
    np.testing.assert_allclose(grad.astype(np.float64).sum(axis=1), 0.0, atol=1e-6)


def test_cross_entropy_with_huge_logits_is_finite_and_stable():
    rng = np.random.default_rng(42)
    batch, classes = 33, 7
    logits = rng.choice(np.array([-1e4, 1e4], dtype=np.float32), size=(batch, classes))
    logits += rng.uniform(-5.0, 5.0, size=(batch, classes)).astype(np.float32)
    logits[0, :] = 1e4  # all equal huge logits: softmax is uniform
    logits[1, :] = -1e4  # all equal very negative logits
    labels = rng.integers(0, classes, size=batch).astype(np.int64)
    value, grad = _core.loss("cross_entropy", logits, labels)
    rvalue, rgrad = ref.cross_entropy(logits, labels)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(value, rvalue, rtol=1e-5)
    np.testing.assert_allclose(grad, rgrad, rtol=1e-4, atol=1e-6)


def test_cross_entropy_of_a_confident_correct_prediction_is_near_zero():
    logits = np.array([[50.0, -50.0, 0.0], [0.0, 0.0, 80.0]], dtype=np.float32)
    labels = np.array([0, 2], dtype=np.int64)
    value, grad = _core.loss("cross_entropy", logits, labels)
    rvalue, rgrad = ref.cross_entropy(logits, labels)
    assert 0.0 <= value < 1e-6
    np.testing.assert_allclose(value, rvalue, atol=1e-7)
    np.testing.assert_allclose(grad, rgrad, atol=1e-7)


def test_unknown_loss_name_in_core_is_value_error():
    with pytest.raises(ValueError):
        _core.loss("hinge", np.zeros((2, 2), np.float32), np.zeros((2, 2), np.float32))


# --------------------------------------------------------------------------- through the model
def _model(n_in, hidden, n_out, loss, metrics, seed=0):
    model = fm.Sequential([fm.Dense(hidden, activation="tanh"), fm.Dense(n_out)], input_dim=n_in, seed=seed)
    model.compile(loss=loss, optimizer=fm.optim.SGD(lr=0.0), metrics=metrics)
    return model


@pytest.mark.parametrize("n", [1, 2, 17, 65])
def test_evaluate_cross_entropy_and_accuracy(n):
    rng = np.random.default_rng(n)
    model = _model(13, 7, 3, "cross_entropy", ["accuracy"], seed=n)
    X = rng.standard_normal((n, 13)).astype(np.float32)
    y = rng.integers(0, 3, size=n)
    scores = model.evaluate(X, y)
    assert set(scores) == {"loss", "accuracy"}
    layers = ref.layers_from_params(model.parameters(), ["tanh", None])
    logits = ref.mlp_predict(layers, X)
    np.testing.assert_allclose(scores["loss"], ref.cross_entropy(logits, y)[0], rtol=1e-5, atol=1e-6)
    # accuracy against the model's own predictions (ties on near-equal logits are not an issue here)
    assert scores["accuracy"] == pytest.approx(ref.accuracy(model.predict(X), y), abs=1e-12)
    assert scores["accuracy"] == pytest.approx(ref.accuracy(logits, y), abs=1.0 / n + 1e-12)


@pytest.mark.parametrize("n,n_out", [(1, 1), (7, 3), (31, 2)])
def test_evaluate_mse_with_mae_and_mse_metrics(n, n_out):
    rng = np.random.default_rng(100 + n)
    model = _model(5, 17, n_out, "mse", ["mae", "mse"], seed=n)
    X = rng.standard_normal((n, 5)).astype(np.float32)
    Y = rng.standard_normal((n, n_out)).astype(np.float32)
    scores = model.evaluate(X, Y)
    assert set(scores) == {"loss", "mae", "mse"}
    layers = ref.layers_from_params(model.parameters(), ["tanh", None])
    pred = ref.mlp_predict(layers, X)
    np.testing.assert_allclose(scores["loss"], ref.mse(pred, Y)[0], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(scores["mse"], ref.mse_metric(pred, Y), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(scores["mae"], ref.mae_metric(pred, Y), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("targets", ["labels", "probabilities"])
@pytest.mark.parametrize("classes", [63, 64])
def test_cross_entropy_rows_of_up_to_64_classes_equal_wider_rows_bit_for_bit(targets, classes):
    """Rows of up to 64 logits reuse the exp() values of their log-sum-exp for the gradient, wider
    rows compute them again: the same bits. A row with one more logit of -1e30 (exp() gives 0,
    nothing changes) takes the other path and must give the same value and gradient."""
    rng = np.random.default_rng(classes)
    z = (3.0 * rng.standard_normal((9, classes))).astype(np.float32)
    wide = np.hstack([z, np.full((9, 65 - classes + 1), -1e30, np.float32)])  # 65 or 66 columns: not cached
    labels = rng.integers(0, classes, size=9).astype(np.int64)
    if targets == "labels":
        y, y_wide = labels, labels
    else:
        y = rng.dirichlet(np.ones(classes), size=9).astype(np.float32)
        y_wide = np.hstack([y, np.zeros((9, wide.shape[1] - classes), np.float32)])
    value, grad = _core.loss("cross_entropy", z, y)
    value_wide, grad_wide = _core.loss("cross_entropy", wide, y_wide)
    assert value == value_wide
    np.testing.assert_array_equal(grad, grad_wide[:, :classes])
    assert not np.any(grad_wide[:, classes:])


@pytest.mark.parametrize("options", [{}, {"label_smoothing": 0.1}, {"weights": True}])
def test_cross_entropy_of_a_large_batch_is_the_same_on_1_2_and_3_threads(options):
    """From 2 x 8192 logits on, the rows are split over the pool's threads; each row is computed as
    on one thread and the loss statistics are summed in row order: the same bits (value and
    gradient) whatever the thread count. 5,000 x 10 logits: split on 2 and 3 threads."""
    rng = np.random.default_rng(3)
    z = (4.0 * rng.standard_normal((5000, 10))).astype(np.float32)
    labels = rng.integers(0, 10, size=5000).astype(np.int64)
    kwargs = {"label_smoothing": options.get("label_smoothing", 0.0)}
    if options.get("weights"):
        kwargs["sample_weight"] = rng.uniform(0.0, 2.0, size=5000).astype(np.float32)
        kwargs["class_weight"] = rng.uniform(0.5, 2.0, size=10).astype(np.float32)
    results = []
    for threads in (1, 2, 3):
        fm.set_num_threads(threads)
        results.append(_core.loss("cross_entropy", z, labels, **kwargs))
    for value, grad in results[1:]:
        assert value == results[0][0]
        np.testing.assert_array_equal(grad, results[0][1])
    rvalue, _ = ref.cross_entropy(z, labels) if not options else (results[0][0], None)
    np.testing.assert_allclose(results[0][0], rvalue, rtol=1e-6)
