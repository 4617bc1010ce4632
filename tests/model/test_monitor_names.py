"""A monitor that fit does not log is an error, not a silent fallback (issue 15).

EarlyStopping, ModelCheckpoint(save_best_only=True) and ReduceLROnPlateau used to watch "loss"
when their ``monitor`` was misspelt ("val_acuracy") or absent ("val_loss" without validation
data). Each now raises ValueError at the end of the first epoch, naming itself, the monitor, the
values fit logs and the fix; a metric alias ("val_acc") watches its canonical name."""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm


def _data(seed=0, n=96):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 0.8).astype(np.int64)
    return X, y


def _model(schedule=None, metrics=("accuracy",)):
    model = fm.Sequential([fm.Dense(8, activation="tanh"), fm.Dense(3)], input_dim=5, seed=0)
    model.compile(loss="cross_entropy", optimizer=fm.optim.SGD(lr=0.1), metrics=list(metrics), lr_schedule=schedule)
    return model


class Epochs(fm.callbacks.Callback):
    """Counts the epochs begun and ended and the train ends (placed first, it sees every epoch)."""

    def __init__(self):
        self.begun, self.ended, self.train_ends = [], [], 0

    def on_epoch_begin(self, epoch, logs=None):
        self.begun.append(epoch)

    def on_epoch_end(self, epoch, logs):
        self.ended.append(epoch)

    def on_train_end(self, logs=None):
        self.train_ends += 1


# Each monitoring class, built for a monitor: (name in the message, callbacks, compile's lr_schedule)
def _early_stopping(monitor, tmp_path):
    return [fm.callbacks.EarlyStopping(monitor=monitor, patience=2, restore_best_weights=True)], None


def _checkpoint(monitor, tmp_path):
    return [fm.callbacks.ModelCheckpoint(tmp_path / "best.safetensors", monitor=monitor, save_best_only=True)], None


def _plateau_callback(monitor, tmp_path):
    return [fm.schedules.ReduceLROnPlateau(monitor=monitor, patience=0, factor=0.5)], None


def _plateau_compiled(monitor, tmp_path):
    return [], fm.schedules.ReduceLROnPlateau(monitor=monitor, patience=0, factor=0.5)


MONITORS = {
    "EarlyStopping": _early_stopping,
    "ModelCheckpoint": _checkpoint,
    "ReduceLROnPlateau": _plateau_callback,
    "ReduceLROnPlateau-in-compile": _plateau_compiled,
}


def _fit_with(kind, monitor, tmp_path, validation=True, metrics=("accuracy",), epochs=6):
    """The user's steps: a model, a monitoring callback or schedule, fit. Returns (model, the
    epoch counter, the error fit raised or None, the history or None)."""
    callbacks, schedule = MONITORS[kind](monitor, tmp_path)
    model = _model(schedule, metrics)
    counter = Epochs()
    X, y = _data()
    extra = {"validation_split": 0.25} if validation else {}
    try:
        history = model.fit(X, y, epochs=epochs, batch_size=16, callbacks=[counter, *callbacks], verbose=0, **extra)
    except ValueError as exc:
        return model, counter, exc, None
    return model, counter, None, history


def _one_epoch_weights(validation=True):
    """The weights after exactly one epoch of the same fit, without any monitor."""
    model = _model()
    X, y = _data()
    extra = {"validation_split": 0.25} if validation else {}
    model.fit(X, y, epochs=1, batch_size=16, verbose=0, **extra)
    return model.parameters()


def _after_one_epoch(model, counter, validation=True):
    assert counter.begun == [0] and counter.ended == [0] and counter.train_ends == 1
    for got, want in zip(model.parameters(), _one_epoch_weights(validation), strict=True):
        assert np.array_equal(got, want)


@pytest.mark.parametrize("kind", sorted(MONITORS))
def test_a_misspelt_monitor_raises_after_the_first_epoch_naming_the_logged_values(kind, tmp_path):
    model, counter, exc, _ = _fit_with(kind, "val_acuracy", tmp_path)
    assert exc is not None, "fit trained on without a word"
    message = str(exc)
    owner = kind.split("-")[0]
    assert message.startswith(f"{owner}(monitor='val_acuracy'): fit logs no 'val_acuracy'; "
                              "the logged values are 'loss', 'accuracy', 'val_loss', 'val_accuracy'.")
    assert message.endswith("Did you mean 'val_accuracy'?")
    _after_one_epoch(model, counter)


@pytest.mark.parametrize("kind", sorted(MONITORS))
def test_val_loss_without_validation_data_says_to_pass_it(kind, tmp_path):
    model, counter, exc, _ = _fit_with(kind, "val_loss", tmp_path, validation=False)
    assert exc is not None
    owner = kind.split("-")[0]
    assert str(exc) == (
        f"{owner}(monitor='val_loss'): fit logs no 'val_loss'; the logged values are 'loss', 'accuracy'. "
        "Pass validation_data= or validation_split= to fit ('val_' values are logged only with validation "
        "data), or monitor='loss'."
    )
    _after_one_epoch(model, counter, validation=False)


@pytest.mark.parametrize("kind", sorted(MONITORS))
def test_a_metric_that_was_not_compiled_says_to_compile_it(kind, tmp_path):
    _, counter, exc, _ = _fit_with(kind, "val_f1", tmp_path)
    assert exc is not None and counter.ended == [0]
    assert "fit logs no 'val_f1'" in str(exc)
    assert str(exc).endswith("Add 'f1' to compile(metrics=[...]), or monitor='val_loss'.")


@pytest.mark.parametrize("kind", sorted(MONITORS))
@pytest.mark.parametrize("monitor", ["val_accuracy", "val_loss", "accuracy", "loss"])
def test_logged_monitors_still_work(kind, monitor, tmp_path):
    _, counter, exc, history = _fit_with(kind, monitor, tmp_path)
    assert exc is None and history is not None
    assert counter.ended == history.epoch and len(history.epoch) >= 2


def _watched(kind, monitor, tmp_path):
    """What the monitoring object made of the fit: its best value and its outcome."""
    tmp_path.mkdir()
    callbacks, schedule = MONITORS[kind](monitor, tmp_path)
    model = _model(schedule)
    X, y = _data()
    history = model.fit(X, y, epochs=6, batch_size=16, callbacks=callbacks, verbose=0, validation_split=0.25)
    watcher = callbacks[0] if callbacks else schedule
    outcome = {"EarlyStopping": lambda w: w.stopped_epoch, "ModelCheckpoint": lambda w: w.best_epoch}.get(
        kind, lambda w: w.lr)(watcher)
    return watcher.best, outcome, history.history


@pytest.mark.parametrize("kind", sorted(MONITORS))
@pytest.mark.parametrize("alias,canonical", [("val_acc", "val_accuracy"), ("acc", "accuracy"),
                                             ("val_sparse_categorical_accuracy", "val_accuracy")])
def test_a_metric_alias_monitors_the_canonical_logged_value(kind, alias, canonical, tmp_path):
    got = _watched(kind, alias, tmp_path / "a")
    want = _watched(kind, canonical, tmp_path / "b")
    assert got == want
    assert got[0] == max(got[2][canonical])  # "acc" names are maximised, as "accuracy"


def test_aliases_of_regression_metrics_resolve_too():
    model = fm.Sequential([fm.Dense(1)], input_dim=3, seed=0)
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.05), metrics=["mean_absolute_error"])
    X = np.random.default_rng(0).standard_normal((40, 3)).astype(np.float32)
    Y = X.sum(axis=1, keepdims=True)
    stop = fm.callbacks.EarlyStopping(monitor="val_mean_absolute_error", patience=100)
    history = model.fit(X, Y, epochs=4, batch_size=40, validation_split=0.25, callbacks=[stop], verbose=0)
    assert "val_mae" in history.history and stop.best == min(history.history["val_mae"])


def test_restore_best_weights_does_not_mask_the_error_and_the_model_stays_usable(tmp_path):
    model, counter, exc, _ = _fit_with("EarlyStopping", "val_acuracy", tmp_path)
    assert isinstance(exc, ValueError) and "Did you mean 'val_accuracy'" in str(exc)
    assert counter.train_ends == 1  # fit's finally ran on_train_end, which did not raise over it
    X, y = _data()
    stop = fm.callbacks.EarlyStopping(monitor="val_accuracy", patience=1, restore_best_weights=True)
    history = model.fit(X, y, epochs=4, batch_size=16, validation_split=0.25, callbacks=[stop], verbose=0)
    assert stop.best == max(history.history["val_accuracy"])


def test_model_checkpoint_without_save_best_only_does_not_use_monitor(tmp_path):
    # Keras's rule: the monitor is read only to decide what is best
    model = _model()
    X, y = _data()
    ckpt = fm.callbacks.ModelCheckpoint(tmp_path / "e{epoch}.safetensors", monitor="val_acuracy")
    history = model.fit(X, y, epochs=2, batch_size=16, callbacks=[ckpt], verbose=0)
    assert history.epoch == [0, 1] and ckpt.last_path == str(tmp_path / "e2.safetensors")


@pytest.mark.parametrize("logs,monitor,fragments", [
    # a misspelt val_ name without validation data: the close name and how to get val_ values
    ({"loss": 1.0, "accuracy": 0.5}, "val_acuracy",
     ("Did you mean 'val_accuracy'?", "To monitor 'val_' values, pass validation_data= or validation_split= to fit.")),
    # neither validation data nor the metric
    ({"loss": 1.0}, "val_accuracy",
     ("Pass validation_data= or validation_split= to fit", "and add 'accuracy' to compile(metrics=[...]), "
      "or monitor='loss'.")),
    # the training value of a monitored val_ metric is the alternative
    ({"loss": 1.0, "accuracy": 0.5}, "val_accuracy", ("or monitor='accuracy'.",)),
    ({"loss": 1.0, "val_loss": 1.0}, "accuracy", ("Add 'accuracy' to compile(metrics=[...]), or monitor='loss'.",)),
    ({"loss": 1.0, "val_loss": 1.0}, "xyz", ("the logged values are 'loss', 'val_loss'. Monitor one of the logged values.",)),
    ({"loss": 1.0}, "learning_rate", ("'learning_rate' is logged by fm.callbacks.LearningRateScheduler: put "
                                      "ReduceLROnPlateau after it in callbacks.",)),
])
def test_the_message_names_the_fix(logs, monitor, fragments):
    schedule = fm.schedules.ReduceLROnPlateau(monitor=monitor)
    schedule.base_lr = schedule.lr = 1.0
    with pytest.raises(ValueError) as info:
        schedule.on_epoch_end(0, logs)
    for fragment in fragments:
        assert fragment in str(info.value)
    assert schedule.last_step == 0 and schedule.best is None  # nothing was stepped


def test_a_monitor_after_learning_rate_scheduler_can_watch_the_learning_rate():
    model = _model()
    X, y = _data()
    stop = fm.callbacks.EarlyStopping(monitor="learning_rate", patience=1)
    schedule = fm.callbacks.LearningRateScheduler(lambda epoch: 0.1)
    history = model.fit(X, y, epochs=5, batch_size=16, callbacks=[schedule, stop], verbose=0)
    assert len(history.epoch) == 2  # a constant lr never improves: patience 1 stops after the second epoch
