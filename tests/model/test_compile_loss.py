"""compile has no default loss (issue 15): ``compile()`` used to train mean squared error, also on
class labels, without a word."""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm


def _data(seed=0, n=96):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5).astype(np.int64)


def test_compile_without_a_loss_refuses_instead_of_training_mse_on_class_labels():
    X, y = _data()
    model = fm.Sequential([fm.Dense(8, activation="relu"), fm.Dense(3)], input_dim=5, seed=0)
    for call in (lambda: model.compile(), lambda: model.compile(optimizer="adam", metrics=["accuracy"])):
        with pytest.raises(ValueError) as info:
            call()
        message = str(info.value)
        assert message.startswith("compile needs a loss: pass loss=..., e.g. loss='cross_entropy' for class "
                                  "labels, 'binary_cross_entropy' for 0/1 targets, 'mse' for regression; see "
                                  "fm.losses.NAMES")
        assert str(fm.losses.NAMES) in message
        assert not model.compiled
        with pytest.raises(RuntimeError, match=r"call model.compile\(loss=\.\.\., optimizer=\.\.\.\) before fit"):
            model.fit(X, y, epochs=1, verbose=0)


def test_compile_takes_the_loss_first_positionally():
    model = fm.Sequential([fm.Dense(1)], input_dim=3, seed=0)
    model.compile("mse")
    assert isinstance(model.loss, fm.losses.MSE) and model.optimizer is not None
    model.compile("mae", "sgd")
    assert isinstance(model.loss, fm.losses.MAE) and isinstance(model.optimizer, fm.optim.SGD)
