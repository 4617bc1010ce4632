"""evaluate raises FloatingPointError on a NaN or infinite loss, as fit does, with a message that
says what to do; the model is left as it was."""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm


def _overflowing(loss):
    """A model whose forward pass overflows float32 on ordinary inputs (diverged weights)."""
    model = fm.Sequential([fm.Dense(4, activation="relu"), fm.Dense(2)], input_dim=3, seed=0)
    model.compile(loss=loss, metrics=["accuracy"] if loss == "cross_entropy" else ["mae"])
    for p in model.parameters():
        p[...] = 1e30
    return model


@pytest.mark.parametrize("loss, y", [("cross_entropy", np.array([0, 1, 1])), ("mse", np.zeros((3, 2), np.float32)),
                                     ("huber", np.ones((3, 2), np.float32))])
def test_a_non_finite_loss_raises_floating_point_error(loss, y):
    X = np.ones((3, 3), np.float32)
    model = _overflowing(loss)
    assert not np.isfinite(model.predict(X)).all()  # the forward pass overflows
    before = [p.copy() for p in model.parameters()]
    with pytest.raises(FloatingPointError, match="evaluate: the loss is (nan|inf).*lower learning rate.*scale the inputs"):
        model.evaluate(X, y)
    with pytest.raises(FloatingPointError):
        model.evaluate(X, y, sample_weight=np.ones(3))
    for p, b in zip(model.parameters(), before):
        assert np.array_equal(p, b)


def test_a_finite_loss_is_returned_as_before_and_fit_still_logs_a_non_finite_val_loss():
    X = np.ones((3, 3), np.float32)
    y = np.zeros((3, 2), np.float32)
    model = fm.Sequential([fm.Dense(2)], input_dim=3, seed=0)
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.0))
    for p in model.parameters():
        p[...] = 10.0  # 3 inputs of 3e38 overflow, inputs of 1 do not
    assert np.isfinite(model.evaluate(X, y)["loss"])
    # validation inside fit keeps logging the value (callbacks such as EarlyStopping see it)
    history = model.fit(X, y, epochs=1, verbose=0, validation_data=(np.full((3, 3), 3e38, np.float32), y))
    assert not np.isfinite(history.history["val_loss"][0])
    with pytest.raises(FloatingPointError):
        model.evaluate(np.full((3, 3), 3e38, np.float32), y)
