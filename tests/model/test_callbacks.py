"""fit's options (validation_split, initial_epoch, verbose) and the callbacks, with Keras's semantics;
LearningRateScheduler against PyTorch with the same learning-rate sequence."""

from __future__ import annotations

import csv
import math
import os

import numpy as np
import pytest
import torch

import fastmlp as fm
from fastmlp.callbacks import CSVLogger, EarlyStopping, LearningRateScheduler, ModelCheckpoint, TerminateOnNaN

from torch_twin import torch_twin


def _data(seed=0, n=120, n_in=5, n_out=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_in)).astype(np.float32)
    y = (X[:, :n_out] @ rng.standard_normal((n_out, n_out))).argmax(1)
    return X, y


def _model(seed=0, n_in=5, n_out=3, lr=0.05, metrics=("accuracy",)):
    model = fm.Sequential([fm.Dense(8, activation="tanh"), fm.Dense(n_out)], input_dim=n_in, seed=seed)
    model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=lr), metrics=list(metrics))
    return model


class Recorder(fm.callbacks.Callback):
    """Copies of the parameters and logs at every epoch end, and the epochs begun."""

    def __init__(self):
        self.params, self.logs, self.begun = {}, {}, []

    def on_epoch_begin(self, epoch, logs=None):
        self.begun.append(epoch)

    def on_epoch_end(self, epoch, logs):
        self.params[epoch] = [p.copy() for p in self.model.parameters()]
        self.logs[epoch] = dict(logs)


def _same_params(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


# ------------------------------------------------------------------------- fit options
@pytest.mark.parametrize("split,n", [(0.25, 120), (0.1, 37), (0.5, 2), (0.999, 1000), (0.3, 7)])
def test_validation_split_takes_the_last_rows_before_shuffling(split, n):
    X, y = _data(1, n=n)
    a, b = _model(3), _model(3)
    ha = a.fit(X, y, epochs=3, batch_size=8, validation_split=split, verbose=0)
    at = int(math.floor(n * (1 - split)))
    hb = b.fit(X[:at], y[:at], epochs=3, batch_size=8, validation_data=(X[at:], y[at:]), verbose=0)
    assert ha.history == hb.history and "val_loss" in ha.history
    assert _same_params(a.parameters(), b.parameters())


def test_validation_data_overrides_validation_split():
    X, y = _data(2)
    a, b = _model(), _model()
    ha = a.fit(X, y, epochs=2, validation_split=0.5, validation_data=(X[:10], y[:10]), verbose=0)
    hb = b.fit(X, y, epochs=2, validation_data=(X[:10], y[:10]), verbose=0)
    assert ha.history == hb.history


@pytest.mark.parametrize("split", [-0.1, 1.0, 1.5, float("nan")])
def test_validation_split_outside_0_1_is_rejected(split):
    X, y = _data()
    with pytest.raises(ValueError, match="validation_split"):
        _model().fit(X, y, validation_split=split, verbose=0)


def test_validation_split_that_leaves_nothing_is_rejected():
    X, y = _data(n=3)
    _model().fit(X, y, validation_split=0.1, verbose=0)  # floor(2.7) = 2 to train, 1 to validate: fine
    with pytest.raises(ValueError, match="validation_split"):
        _model().fit(X[:1], y[:1], validation_split=0.5, verbose=0)  # floor(0.5) = 0 to train


@pytest.mark.parametrize("initial,epochs", [(0, 3), (2, 5), (4, 5), (5, 5), (6, 5)])
def test_initial_epoch_numbers_the_epochs_and_trains_epochs_minus_initial(initial, epochs):
    X, y = _data(4)
    rec = Recorder()
    a = _model()
    history = a.fit(X, y, epochs=epochs, initial_epoch=initial, callbacks=[rec], verbose=0)
    expected = list(range(initial, epochs))
    assert history.epoch == expected and rec.begun == expected
    b = _model()
    b.fit(X, y, epochs=max(epochs - initial, 0), verbose=0)
    assert _same_params(a.parameters(), b.parameters())


def test_history_records_every_metric_per_epoch_in_order():
    X, y = _data(5)
    model = _model(metrics=["accuracy", "f1"])
    h = model.fit(X, y, epochs=4, validation_split=0.2, verbose=0)
    assert list(h.history) == ["loss", "accuracy", "f1", "val_loss", "val_accuracy", "val_f1"]
    assert all(len(v) == 4 for v in h.history.values()) and h.epoch == [0, 1, 2, 3]


def test_verbose_levels(capsys):
    X, y = _data(6)
    model = _model()
    model.fit(X, y, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""
    model.fit(X, y, epochs=2, verbose=2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("Epoch 2/2 - loss: ") and "accuracy: " in lines[1]
    assert lines[1].endswith(" samples/s (training)")
    model.fit(X, y, epochs=2, verbose=1, validation_split=0.2)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "100%" in out
    assert "val_accuracy: " in out and "samples/s" in out
    with pytest.raises(ValueError, match="verbose"):
        model.fit(X, y, verbose=3)


def test_progress_hook_reports_the_first_batch_running_loss():
    X, y = _data(7, n=64)
    model = _model()
    before = model.evaluate(X[:16], y[:16])["loss"]
    calls = []
    model._net.train_epoch(X, y, 16, False, progress=lambda samples, loss: calls.append((samples, loss)))
    # the first report comes after the first batch (then at most every 100 ms)
    assert calls and calls[0][0] == 16
    assert calls[0][1] == pytest.approx(before, rel=1e-6)
    assert all(0 < s <= 64 for s, _ in calls)


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_progress_hook_exception_stops_the_epoch_and_propagates(exc):
    X, y = _data(8, n=64)
    model = _model()

    def broken(samples, loss):
        raise exc("display failed")

    with pytest.raises(exc, match="display failed"):
        model._net.train_epoch(X, y, 8, True, progress=broken)
    # the model is still usable
    model.fit(X, y, epochs=1, verbose=0)


# ------------------------------------------------------------------------- EarlyStopping
@pytest.mark.parametrize("seed", range(4))
def test_early_stopping_restores_the_best_epochs_weights_exactly(seed):
    X, y = _data(seed)
    rec = Recorder()
    stop = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    model = _model(seed, lr=0.3)  # a large step: the validation loss goes up and down
    h = model.fit(X, y, epochs=25, batch_size=8, validation_split=0.3, callbacks=[rec, stop], verbose=0)
    val = h.history["val_loss"]
    best = int(np.argmin(val))
    assert stop.best_epoch == h.epoch[best] and stop.best == val[best]
    assert _same_params(model.parameters(), rec.params[h.epoch[best]])
    if stop.stopped_epoch is not None:
        assert len(val) == best + 3  # patience 2: two epochs without improvement, then stop


@pytest.mark.parametrize("patience", [0, 1, 3])
def test_early_stopping_patience_and_mode(patience):
    X, y = _data(9)
    # "loss" always falls here, so in mode "max" it never improves after the first epoch
    stop = EarlyStopping(monitor="loss", patience=patience, mode="max")
    h = _model().fit(X, y, epochs=10, callbacks=[stop], verbose=0)
    assert len(h.epoch) == max(patience, 1) + 1  # Keras: patience 0 also stops at the first miss
    assert stop.stopped_epoch == h.epoch[-1]


def test_early_stopping_min_delta_and_auto_mode_for_accuracy():
    X, y = _data(10)
    stop = EarlyStopping(monitor="accuracy", patience=0, min_delta=10.0)  # no gain of 10 is possible
    h = _model().fit(X, y, epochs=5, callbacks=[stop], verbose=0)
    assert len(h.epoch) == 2 and stop._maximise("val_accuracy") and stop._maximise("f1")
    assert not stop._maximise("val_loss") and not stop._maximise("mae")


# ------------------------------------------------------------------------- ModelCheckpoint
def test_model_checkpoint_every_epoch_files_load_with_that_epochs_weights(tmp_path):
    X, y = _data(11)
    rec = Recorder()
    ckpt = ModelCheckpoint(str(tmp_path / "m-{epoch:02d}-{val_loss:.3f}.safetensors"), monitor="val_loss")
    h = _model().fit(X, y, epochs=4, validation_split=0.25, callbacks=[rec, ckpt], verbose=0)
    for epoch, val in zip(h.epoch, h.history["val_loss"]):
        path = tmp_path / f"m-{epoch + 1:02d}-{val:.3f}.safetensors"
        loaded = fm.load(path)
        assert _same_params(loaded.parameters(), rec.params[epoch])
    assert len(os.listdir(tmp_path)) == 4


@pytest.mark.parametrize("monitor,mode", [("val_loss", "auto"), ("val_accuracy", "auto"), ("loss", "max"), ("val_loss", "min")])
def test_model_checkpoint_save_best_only_writes_only_improvements(tmp_path, monitor, mode):
    X, y = _data(12)
    rec = Recorder()
    ckpt = ModelCheckpoint(tmp_path / "e{epoch}.safetensors", monitor=monitor, save_best_only=True, mode=mode)
    h = _model(lr=0.3).fit(X, y, epochs=8, batch_size=8, validation_split=0.3, callbacks=[rec, ckpt], verbose=0)
    values = h.history[monitor]
    maximise = mode == "max" or (mode == "auto" and "acc" in monitor)
    expected, best = [], None
    for epoch, v in zip(h.epoch, values):
        if best is None or (v > best if maximise else v < best):
            expected.append(epoch)
            best = v
    assert sorted(os.listdir(tmp_path)) == sorted(f"e{e + 1}.safetensors" for e in expected)
    assert _same_params(fm.load(ckpt.last_path).parameters(), rec.params[expected[-1]])
    assert ckpt.best_epoch == expected[-1]


def test_model_checkpoint_unknown_field_names_the_logged_values(tmp_path):
    X, y = _data(13)
    with pytest.raises(KeyError, match="val_loss"):
        _model().fit(X, y, callbacks=[ModelCheckpoint(str(tmp_path / "{val_loss}.st"))], verbose=0)


# ------------------------------------------------------------------------- CSVLogger
def _read_csv(path, sep=","):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=sep))


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_csv_logger_writes_epoch_and_sorted_logs(tmp_path, sep):
    X, y = _data(14)
    path = tmp_path / "log.csv"
    h = _model(metrics=["accuracy", "f1"]).fit(
        X, y, epochs=3, validation_split=0.2, callbacks=[CSVLogger(path, separator=sep)], verbose=0
    )
    rows = _read_csv(path, sep)
    keys = sorted(h.history)
    assert rows[0] == ["epoch", *keys]
    assert len(rows) == 4
    for i, row in enumerate(rows[1:]):
        assert int(row[0]) == i
        assert [float(v) for v in row[1:]] == [h.history[k][i] for k in keys]  # repr round-trips exactly


def test_csv_logger_append_and_overwrite(tmp_path):
    X, y = _data(15)
    path = tmp_path / "log.csv"
    model = _model()
    model.fit(X, y, epochs=2, callbacks=[CSVLogger(path)], verbose=0)
    model.fit(X, y, epochs=4, initial_epoch=2, callbacks=[CSVLogger(path, append=True)], verbose=0)
    rows = _read_csv(path)
    assert rows[0] == ["epoch", "accuracy", "loss"]
    assert [r[0] for r in rows] == ["epoch", "0", "1", "2", "3"]
    model.fit(X, y, epochs=1, callbacks=[CSVLogger(path)], verbose=0)
    assert [r[0] for r in _read_csv(path)] == ["epoch", "0"]


# ------------------------------------------------------------------------- LearningRateScheduler
@pytest.mark.parametrize(
    "schedule",
    [
        lambda epoch: 0.2 * 0.5**epoch,
        lambda epoch: [0.1, 0.3, 0.0, 0.05, 0.2][epoch],
        lambda epoch: 0.05 * (epoch + 1),
    ],
)
@pytest.mark.parametrize("momentum,nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_learning_rate_scheduler_sgd_equals_torch_with_the_same_lr_sequence(schedule, momentum, nesterov):
    X, y = _data(16, n=40)
    model = fm.Sequential([fm.Dense(6, activation="tanh"), fm.Dense(3)], input_dim=5, seed=1)
    model.compile(loss="cross_entropy", optimizer=fm.optim.SGD(lr=1.0, momentum=momentum, nesterov=nesterov))
    net = torch_twin(model)
    opt = torch.optim.SGD(net.parameters(), lr=1.0, momentum=momentum, nesterov=nesterov)
    h = model.fit(X, y, epochs=5, batch_size=8, shuffle=False, callbacks=[LearningRateScheduler(schedule)], verbose=0)
    Xt, yt = torch.from_numpy(X.astype(np.float64)), torch.from_numpy(y)
    for epoch in range(5):
        for group in opt.param_groups:
            group["lr"] = float(np.float32(schedule(epoch)))
        for start in range(0, 40, 8):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(Xt[start:start + 8]), yt[start:start + 8]).backward()
            opt.step()
    assert h.history["learning_rate"] == [float(np.float32(schedule(e))) for e in range(5)]
    for p, tp in zip(model.parameters(), net.parameters()):
        np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-3, atol=1e-5)


def test_learning_rate_scheduler_keeps_the_optimizer_state():
    # a schedule that returns the current rate must change nothing (Adam's moments and step count kept)
    X, y = _data(17)
    a, b = _model(lr=0.01), _model(lr=0.01)
    seen = []

    def same(epoch, lr):
        seen.append((epoch, lr))
        return lr

    a.fit(X, y, epochs=3, callbacks=[LearningRateScheduler(same)], verbose=0)
    b.fit(X, y, epochs=3, verbose=0)
    assert _same_params(a.parameters(), b.parameters())
    assert seen == [(e, float(np.float32(0.01))) for e in range(3)]


@pytest.mark.parametrize("bad,error", [(lambda e: -1.0, ValueError), (lambda e: "0.1", TypeError), (lambda e: float("nan"), ValueError)])
def test_learning_rate_scheduler_rejects_bad_rates(bad, error):
    X, y = _data(18)
    with pytest.raises(error, match="learning rate|schedule"):
        _model().fit(X, y, callbacks=[LearningRateScheduler(bad)], verbose=0)


# ------------------------------------------------------------------------- TerminateOnNaN
def _diverging():
    """X row 70 overflows the first layer: the 3rd batch of 32 (no shuffling) diverges."""
    rng = np.random.default_rng(0)
    X = np.abs(rng.standard_normal((160, 32))).astype(np.float32)
    y = rng.standard_normal((160, 1)).astype(np.float32)
    X[70, :] = 3e38
    model = fm.Sequential([fm.Dense(17, activation="relu"), fm.Dense(1)], input_dim=32, seed=0)
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=1e-3, momentum=0.9), metrics=["mae"])
    for p in model.parameters():
        p[...] = 0.1
    return model, X, y


def test_divergence_raises_without_terminate_on_nan():
    model, X, y = _diverging()
    with pytest.raises(FloatingPointError, match="epoch 1, step 3"):
        model.fit(X, y, epochs=2, batch_size=32, shuffle=False, verbose=0)


def test_terminate_on_nan_stops_cleanly_with_the_weights_before_the_diverging_step(tmp_path):
    model, X, y = _diverging()
    term = TerminateOnNaN()
    path = tmp_path / "log.csv"
    h = model.fit(X, y, epochs=3, batch_size=32, shuffle=False, validation_data=(X[:8], y[:8]),
                  callbacks=[term, CSVLogger(path)], verbose=0)
    assert term.stopped_epoch == 0 and h.epoch == [0]
    assert set(h.history) == {"loss", "mae", "val_loss", "val_mae"}
    assert all(math.isnan(v[0]) for v in h.history.values())
    twin, _, _ = _diverging()
    twin.train_step(X[:32], y[:32])
    twin.train_step(X[32:64], y[32:64])
    assert _same_params(model.parameters(), twin.parameters())
    assert _read_csv(path)[1][1:] == ["nan"] * 4


def test_terminate_on_nan_stops_on_a_nan_epoch_loss():
    class NaNLoss(fm.callbacks.Callback):
        def on_epoch_end(self, epoch, logs):
            if epoch == 1:
                logs["loss"] = float("nan")

    X, y = _data(19)
    term = TerminateOnNaN()
    h = _model().fit(X, y, epochs=5, callbacks=[NaNLoss(), term], verbose=0)
    assert term.stopped_epoch == 1 and h.epoch == [0, 1]


def test_on_train_end_runs_when_fit_raises():
    ended = []

    class End(fm.callbacks.Callback):
        def on_train_end(self, logs=None):
            ended.append(True)

    model, X, y = _diverging()
    with pytest.raises(FloatingPointError):
        model.fit(X, y, epochs=1, batch_size=32, shuffle=False, callbacks=[End()], verbose=0)
    assert ended == [True]


@pytest.mark.parametrize(
    "make,error,match",
    [
        (lambda: LearningRateScheduler(0.1), TypeError, "schedule"),
        (lambda: CSVLogger("x.csv", separator=";;"), ValueError, "separator"),
        (lambda: CSVLogger(3), TypeError, "filename"),
        (lambda: ModelCheckpoint(None), TypeError, "filepath"),
        (lambda: ModelCheckpoint(""), ValueError, "filepath"),
        (lambda: ModelCheckpoint("m.st", mode="best"), ValueError, "mode"),
        (lambda: ModelCheckpoint("m.st", monitor=1), TypeError, "monitor"),
        (lambda: EarlyStopping(mode="up"), ValueError, "mode"),
    ],
)
def test_callback_arguments_are_validated(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"initial_epoch": -1}, ValueError, "initial_epoch"),
        ({"initial_epoch": 1.5}, ValueError, "initial_epoch"),
        ({"validation_split": "0.1"}, TypeError, "validation_split"),
        ({"verbose": "yes"}, ValueError, "verbose"),
    ],
)
def test_fit_arguments_are_validated(kwargs, error, match):
    X, y = _data()
    with pytest.raises(error, match=match):
        _model().fit(X, y, **kwargs)
