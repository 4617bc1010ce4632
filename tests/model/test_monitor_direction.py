"""One "higher is better" rule for every monitor: EarlyStopping, ModelCheckpoint,
ReduceLROnPlateau and the scikit-learn wrappers agree on which logged values to maximise.
Regression: ReduceLROnPlateau(mode="auto") used to maximise only names containing "acc", so on
monitor="val_f1" it minimised while EarlyStopping maximised."""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm
from fastmlp._compiled_metrics import higher_is_better, maximise

UP = ["accuracy", "val_accuracy", "acc", "f1", "val_f1", "f1_micro", "val_precision_weighted", "recall_macro",
      "top_k_accuracy", "val_top_3_accuracy", "r2", "val_r2"]
DOWN = ["loss", "val_loss", "mse", "val_mse", "mae", "val_mae", "learning_rate"]


@pytest.mark.parametrize("name", UP + DOWN)
def test_every_monitor_follows_the_one_rule(name):
    expected = name in UP
    assert higher_is_better(name) is expected
    assert maximise(name, "auto") is expected
    assert maximise(name, "max") and not maximise(name, "min")
    assert fm.callbacks.EarlyStopping(monitor=name)._maximise(name) is expected


def _plateau(values, monitor="val_f1", mode="auto"):
    """The lr of a ReduceLROnPlateau (base 1.0, patience 0) stepped with these monitored values."""
    schedule = fm.schedules.ReduceLROnPlateau(monitor=monitor, mode=mode, patience=0, factor=0.5, threshold=0.0)
    schedule.base_lr = schedule.lr = 1.0
    for epoch, value in enumerate(values):
        schedule.on_epoch_end(epoch, {"loss": 1.0, monitor: value})
    return schedule


@pytest.mark.parametrize("monitor", ["val_f1", "val_precision", "val_recall_macro", "val_r2", "val_accuracy"])
def test_reduce_lr_on_plateau_maximises_what_early_stopping_maximises(monitor):
    rising = _plateau([0.5, 0.6, 0.7, 0.8], monitor)
    assert rising.lr == 1.0 and rising.best == 0.8 and rising.num_bad_epochs == 0  # minimised, it halved 3 times
    falling = _plateau([0.8, 0.7, 0.6], monitor)
    assert falling.lr == 0.25 and falling.best == 0.8
    assert _plateau([0.5, 0.6, 0.7], monitor, mode="min").lr == 0.25
    assert _plateau([3.0, 2.0, 1.0], "val_loss").lr == 1.0


def test_in_fit_early_stopping_checkpoint_and_plateau_pick_the_same_best_f1(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 5)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1).astype(np.int64)
    model = fm.Sequential([fm.Dense(8, activation="tanh"), fm.Dense(3)], input_dim=5, seed=0)
    plateau = fm.schedules.ReduceLROnPlateau(monitor="val_f1", patience=100, threshold=0.0)
    model.compile(loss="cross_entropy", optimizer=fm.optim.SGD(lr=0.2), metrics=["f1"], lr_schedule=plateau)
    stop = fm.callbacks.EarlyStopping(monitor="val_f1", patience=100)
    checkpoint = fm.callbacks.ModelCheckpoint(tmp_path / "best.safetensors", monitor="val_f1", save_best_only=True)
    history = model.fit(X[:80], y[:80], epochs=8, batch_size=16, validation_data=(X[80:], y[80:]), verbose=0,
                        callbacks=[stop, checkpoint])
    scores = history.history["val_f1"]
    assert len(set(scores)) > 1  # the score moved, so min and max differ
    assert stop.best == checkpoint.best == plateau.best == max(scores)


def test_the_sklearn_wrappers_score_in_the_same_direction():
    pytest.importorskip("sklearn")
    from fastmlp.sklearn import MLPClassifier, MLPRegressor

    assert higher_is_better(MLPClassifier._score_name) and higher_is_better(MLPRegressor._score_name)
    assert not higher_is_better("loss")
