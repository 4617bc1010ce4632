"""Extreme values through the whole model API (predict, evaluate, train_step, fit), checked against
float64 NumPy references written out here:

- cross_entropy on logits of about +-1e4 (all huge, all very negative, mixed, saturated):
  the loss is finite and equals a float64 log-sum-exp of the logits ``predict`` returns; the
  softmax probabilities fastmlp computes (read back from the last bias gradient of a 1-row batch:
  p - onehot) are finite, sum to 1 and match float64; a training step leaves finite weights.
- sigmoid and tanh on pre-activations of +-1e4 give exactly 0/1 and -1/+1, and their (zero)
  gradients keep the weights finite.
- mse with outputs of 1e4 and 1e19 (where the squared error overflows float32) is finite and
  matches float64; training that blows up ends with FloatingPointError and finite weights.

The weights are written through the writable ``parameters()`` views. Most models use identity
weights (``W = I``, ``b = 0``), so that the layer's pre-activations are exactly the inputs.
"""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm

FLT_MIN = float(np.finfo(np.float32).tiny)  # FTZ/DAZ may flush results below this (README)


# ----------------------------------------------------------------------------- float64 references
def lse_cross_entropy(logits, labels):
    """Per-row softmax cross-entropy, float64, log-sum-exp shifted by the row maximum."""
    z = np.asarray(logits, dtype=np.float64)
    m = z.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
    return lse - z[np.arange(len(z)), labels]


def softmax64(logits):
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def sigmoid64(x):
    x = np.asarray(x, dtype=np.float64)
    return np.where(x >= 0, 1.0 / (1.0 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1.0 + np.exp(-np.abs(x))))


# ----------------------------------------------------------------------------- helpers
def identity_model(width, activation=None, head=None, seed=0):
    """Dense(width, activation) with W = I, b = 0 (pre-activations = inputs), optionally followed
    by a Dense(head) layer left at its seeded initial weights."""
    layers = [fm.Dense(width, activation=activation)] + ([fm.Dense(head)] if head else [])
    model = fm.Sequential(layers, input_dim=width, seed=seed)
    W, b = model.parameters()[:2]
    W[...] = np.eye(width, dtype=np.float32)
    b[...] = 0.0
    return model


def all_finite(arrays):
    return all(np.isfinite(a).all() for a in arrays)


# Rows of logits, label per row.
LOGIT_ROWS = [
    ([1e4, 1e4, 1e4, 1e4], 2),                   # all equal and huge: uniform softmax
    ([-1e4, -1e4, -1e4, -1e4], 0),               # all equal and very negative: exp() underflows naively
    ([1e4, 1e4 + 1.0, 1e4 - 3.0, 1e4 + 0.5], 2),  # huge with small gaps: exp() overflows naively
    ([-1e4, -1e4 + 2.0, -1e4 - 1.0, -1e4 + 0.25], 3),
    ([1e4, -1e4, 0.0, 5e3], 1),                  # label on the smallest: loss ~ 2e4
    ([1e4, -1e4, 0.0, 5e3], 0),                  # label on the largest: loss ~ 0
    ([-9999.5, 9999.75, -0.125, 10000.0], 1),     # two near-equal maxima
]


@pytest.fixture
def logits_and_labels():
    X = np.array([row for row, _ in LOGIT_ROWS], dtype=np.float32)
    y = np.array([label for _, label in LOGIT_ROWS], dtype=np.int64)
    return X, y


# ----------------------------------------------------------------------------- cross_entropy
def test_predict_returns_the_huge_logits(logits_and_labels):
    X, _ = logits_and_labels
    model = identity_model(4)
    out = model.predict(X)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out, X)  # x * 1 + 0 * others + 0 is exact in float32


def test_cross_entropy_on_huge_logits_matches_log_sum_exp(logits_and_labels):
    X, y = logits_and_labels
    model = identity_model(4)
    model.compile(loss="cross_entropy", optimizer=fm.optim.SGD(lr=1e-6), metrics=["accuracy"])
    logits = model.predict(X)
    per_row = lse_cross_entropy(logits, y)
    assert np.isfinite(per_row).all()
    # one row at a time, so a wrong small loss is not hidden under a 2e4 one
    for i in range(len(X)):
        got = model.evaluate(X[i:i + 1], y[i:i + 1])["loss"]
        assert np.isfinite(got), (i, got)
        np.testing.assert_allclose(got, per_row[i], rtol=1e-5, atol=1e-6, err_msg=f"row {i}")
    scores = model.evaluate(X, y)
    np.testing.assert_allclose(scores["loss"], per_row.mean(), rtol=1e-5)
    np.testing.assert_allclose(scores["accuracy"], np.mean(np.argmax(logits, axis=1) == y))
    # train_step returns the loss before its update: the same value
    loss = model.train_step(X, y)
    np.testing.assert_allclose(loss, per_row.mean(), rtol=1e-5)
    assert all_finite(model.parameters()) and all_finite(model.gradients())


def test_softmax_probabilities_on_huge_logits_are_finite_and_sum_to_one(logits_and_labels):
    """fastmlp has no softmax output (predict returns logits); its fused softmax is observable
    through the gradient: for a 1-row batch, d loss / d b_last = softmax(z) - onehot(label)."""
    X, y = logits_and_labels
    model = identity_model(4)
    model.compile(loss="cross_entropy", optimizer=fm.optim.SGD(lr=0.0))
    expected = softmax64(X)
    for i in range(len(X)):
        model.train_step(X[i:i + 1], y[i:i + 1])
        p = model.gradients()[1].astype(np.float64)
        p[y[i]] += 1.0
        assert np.isfinite(p).all(), (i, p)
        assert (p >= 0).all() and (p <= 1).all(), (i, p)
        np.testing.assert_allclose(p.sum(), 1.0, atol=1e-6, err_msg=f"row {i}")
        np.testing.assert_allclose(p, expected[i], atol=1e-6, err_msg=f"row {i}")
    # with lr = 0 the weights did not move
    np.testing.assert_array_equal(model.parameters()[0], np.eye(4, dtype=np.float32))


def test_cross_entropy_gradients_on_huge_logits_match_float64(logits_and_labels):
    X, y = logits_and_labels
    model = identity_model(4)
    model.compile(loss="cross_entropy", optimizer=fm.optim.SGD(lr=0.0))
    model.train_step(X, y)
    dz = softmax64(X)
    dz[np.arange(len(y)), y] -= 1.0
    dz /= len(y)
    dW, db = model.gradients()
    ref_dW = dz.T @ X.astype(np.float64)
    assert np.isfinite(dW).all() and np.isfinite(db).all()
    np.testing.assert_allclose(db, dz.sum(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dW, ref_dW, rtol=1e-5, atol=1e-5 * np.abs(ref_dW).max())


def test_two_layer_model_with_huge_logits_trains_to_finite_weights():
    """A hidden tanh layer and a last layer scaled so the logits reach about +-1e4."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 10)).astype(np.float32)
    y = rng.integers(0, 5, 64)
    model = fm.Sequential([fm.Dense(16, activation="tanh"), fm.Dense(5)], input_dim=10, seed=3)
    W2, b2 = model.parameters()[2:]
    W2[...] = rng.choice([-1.0, 1.0], size=W2.shape).astype(np.float32) * np.float32(1e4 / 16)
    b2[...] = 0.0
    model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-3))
    logits = model.predict(X)
    assert np.isfinite(logits).all() and np.abs(logits).max() > 3e3
    expected = lse_cross_entropy(logits, y).mean()
    assert np.isfinite(expected) and expected > 100
    np.testing.assert_allclose(model.evaluate(X, y)["loss"], expected, rtol=1e-5)
    np.testing.assert_allclose(model.train_step(X, y), expected, rtol=1e-5)
    assert all_finite(model.gradients()) and all_finite(model.parameters())
    history = model.fit(X, y, epochs=3, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert all_finite(model.parameters())
    assert np.isfinite(model.predict(X)).all()


# ----------------------------------------------------------------------------- sigmoid / tanh
PRE_ACTIVATIONS = np.array([[-1e4, -1e3, -100.0, -30.0, -1.0, 0.0, 1.0, 30.0, 100.0, 1e3, 1e4, -5e3]],
                           dtype=np.float32)
SATURATED = np.abs(PRE_ACTIVATIONS[0]) >= 1e3


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_saturating_activation_outputs_are_exact(activation):
    width = PRE_ACTIVATIONS.shape[1]
    model = identity_model(width, activation)
    out = model.predict(np.repeat(PRE_ACTIVATIONS, 3, axis=0))
    ref = sigmoid64(PRE_ACTIVATIONS) if activation == "sigmoid" else np.tanh(PRE_ACTIVATIONS.astype(np.float64))
    ref = np.repeat(ref, 3, axis=0)
    assert np.isfinite(out).all()
    # exact at +-1e3 and beyond: float64 gives exactly 0, 1 (sigmoid) or -1, 1 (tanh) there
    np.testing.assert_array_equal(out[:, SATURATED], ref[:, SATURATED].astype(np.float32))
    assert set(np.unique(out[:, SATURATED])) <= ({0.0, 1.0} if activation == "sigmoid" else {-1.0, 1.0})
    np.testing.assert_allclose(out, ref, rtol=1e-6, atol=FLT_MIN)


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_saturated_activations_give_finite_gradients_and_weights(activation, loss):
    width = PRE_ACTIVATIONS.shape[1]
    rng = np.random.default_rng(1)
    X = np.repeat(PRE_ACTIVATIONS, 8, axis=0) * rng.choice([-1.0, 1.0], size=(8, 1)).astype(np.float32)
    y = rng.integers(0, 3, len(X)) if loss == "cross_entropy" else rng.standard_normal((len(X), 3)).astype(np.float32)
    model = identity_model(width, activation, head=3, seed=2)
    model.compile(loss=loss, optimizer=fm.optim.Adam(lr=1e-2))
    W1, b1, W2, b2 = (p.astype(np.float64) for p in model.parameters())
    # float64 forward and backward of the same 2-layer model
    h = sigmoid64(X) if activation == "sigmoid" else np.tanh(X.astype(np.float64))
    z = h @ W2.T + b2
    if loss == "cross_entropy":
        ref_loss = lse_cross_entropy(z, y).mean()
        dz = softmax64(z)
        dz[np.arange(len(y)), y] -= 1.0
        dz /= len(y)
    else:
        d = z - y
        ref_loss = np.mean(d * d)
        dz = 2.0 * d / d.size
    dh = (dz @ W2) * (h * (1.0 - h) if activation == "sigmoid" else 1.0 - h * h)
    ref_grads = [dh.T @ X.astype(np.float64), dh.sum(axis=0), dz.T @ h, dz.sum(axis=0)]

    got_loss = model.train_step(X, y)
    np.testing.assert_allclose(got_loss, ref_loss, rtol=1e-5)
    grads = model.gradients()
    assert all_finite(grads) and all_finite(model.parameters())
    for i, (g, r) in enumerate(zip(grads, ref_grads)):
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-5 * max(np.abs(r).max(), 1e-3), err_msg=f"gradient {i}")
    # a unit saturated on every row passes no gradient back: its weight row and bias get exactly 0
    np.testing.assert_array_equal(grads[0][SATURATED], 0.0)
    np.testing.assert_array_equal(grads[1][SATURATED], 0.0)
    assert np.abs(grads[0][~SATURATED]).max() > 0 and np.abs(grads[2]).max() > 0
    for _ in range(20):
        model.train_step(X, y)
    assert all_finite(model.parameters()) and np.isfinite(model.predict(X)).all()


# ----------------------------------------------------------------------------- mse
@pytest.mark.parametrize("scale", [1e4, 1e19, 3e19])
def test_mse_with_large_outputs_is_finite_or_a_clear_error(scale):
    """At 1e19 and 3e19 the squared error (up to ~1e40) is beyond float32; fastmlp accumulates
    it in double, so the loss stays finite and exact. At 3e19 the float32 weight gradient
    overflows too: train_step must then refuse the step with FloatingPointError and leave the
    weights as they were, not write inf/NaN into them."""
    rng = np.random.default_rng(2)
    X = (rng.uniform(0.5, 2.0, (16, 3)) * rng.choice([-1, 1], (16, 3)) * scale).astype(np.float32)
    Y = np.zeros((16, 3), dtype=np.float32)
    model = identity_model(3)
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=1e-30), metrics=["mse", "mae"])
    out = model.predict(X)
    np.testing.assert_array_equal(out, X)
    d = out.astype(np.float64) - Y
    scores = model.evaluate(X, Y)
    assert all(np.isfinite(v) for v in scores.values()), scores
    np.testing.assert_allclose(scores["loss"], np.mean(d * d), rtol=1e-5)
    np.testing.assert_allclose(scores["mse"], np.mean(d * d), rtol=1e-5)
    np.testing.assert_allclose(scores["mae"], np.mean(np.abs(d)), rtol=1e-5)

    ref_dz = 2.0 * d / d.size
    ref_dW = ref_dz.T @ X.astype(np.float64)
    flt_max = float(np.finfo(np.float32).max)
    before = [p.copy() for p in model.parameters()]
    if np.abs(ref_dW).max() > 1.01 * flt_max:  # the gradient cannot be represented
        with pytest.raises(FloatingPointError, match="gradient overflowed"):
            model.train_step(X, Y)
        for a, b in zip(before, model.parameters()):
            np.testing.assert_array_equal(a, b)
        return
    assert np.abs(ref_dW).max() < 0.5 * flt_max  # not a borderline case
    np.testing.assert_allclose(model.train_step(X, Y), np.mean(d * d), rtol=1e-5)
    dW, db = model.gradients()
    assert np.isfinite(dW).all() and np.isfinite(db).all()
    np.testing.assert_allclose(db, ref_dz.sum(axis=0), rtol=1e-5)
    np.testing.assert_allclose(dW, ref_dW, rtol=1e-5, atol=1e-5 * np.abs(ref_dW).max())
    assert all_finite(model.parameters())


def test_mse_divergence_is_a_clear_error_with_finite_weights():
    """SGD with a learning rate far too large on 1e4-sized data: either the weights stay finite, or
    a FloatingPointError stops training and leaves the weights from before the failing step."""
    rng = np.random.default_rng(3)
    X = (rng.standard_normal((32, 4)) * 1e4).astype(np.float32)
    Y = (rng.standard_normal((32, 2)) * 1e4).astype(np.float32)
    model = fm.Sequential([fm.Dense(8), fm.Dense(2)], input_dim=4, seed=0)
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=1.0))
    raised = False
    for _ in range(50):
        before = [p.copy() for p in model.parameters()]
        try:
            loss = model.train_step(X, Y)
        except FloatingPointError as exc:
            assert "no update was made" in str(exc)
            raised = True
            for a, b in zip(before, model.parameters()):
                np.testing.assert_array_equal(a, b)
            break
        assert np.isfinite(loss)
    assert raised, "lr=1 on 1e4-sized data was expected to diverge"
    assert all_finite(model.parameters())

    fresh = fm.Sequential([fm.Dense(8), fm.Dense(2)], input_dim=4, seed=0)
    fresh.compile(loss="mse", optimizer=fm.optim.SGD(lr=1.0))
    with pytest.raises(FloatingPointError, match="diverged at epoch"):
        fresh.fit(X, Y, epochs=50, batch_size=8, verbose=0)
    assert all_finite(fresh.parameters())
