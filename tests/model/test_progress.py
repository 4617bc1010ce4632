"""What ``fit`` prints. verbose=1: a progress bar per epoch as wide as the terminal (COLUMNS, else
80 when stdout is not a terminal), then the epoch's logs under it wrapped between items, so that no
value is cut; verbose=2: one line per epoch with the same logs. Both show one speed per epoch,
"N samples/s (training)", measured over the training loop only."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import _progress

METRICS = ["accuracy", "precision", "recall", "f1_weighted", "top_2_accuracy", "top_k_accuracy"]
SPEED = re.compile(r"^([0-9,]+) samples/s \(training\)$")


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 6)).astype(np.float32), rng.integers(0, 4, n)


def _model(metrics=METRICS):
    model = fm.Sequential([fm.Dense(16, activation="relu"), fm.Dense(4)], input_dim=6, seed=0)
    model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-2), metrics=metrics)
    return model


def _pieces(text):
    """What the terminal ends up showing: tqdm redraws with carriage returns."""
    return [piece for piece in re.split(r"[\r\n]", text) if piece]


def _epochs_of_verbose_1(out):
    """{epoch number: the log lines printed under that epoch's finished bar}."""
    epochs, current = {}, None
    for line in out.split("\n"):
        last = line.split("\r")[-1]
        bar = re.match(r"Epoch (\d+)/\d+ 100%\|", last)
        if bar:
            current = int(bar.group(1))
            epochs[current] = []
        elif current is not None and last:
            epochs[current].append(last)
    return epochs


def _items(lines):
    """"name: value" items and the speed, from log lines."""
    return [item for line in lines for item in line.strip().split(" - ")]


def _check_logged(items, logs):
    """Every name and value of `logs` is one whole item, as 4 decimals; one speed item, last."""
    assert SPEED.match(items[-1]), items
    shown = dict(item.split(": ") for item in items[:-1])
    assert list(shown) == list(logs)
    for name, value in logs.items():
        assert re.fullmatch(r"-?\d+\.\d{4}", shown[name]), (name, shown[name])
        assert abs(float(shown[name]) - value) <= 5e-5, name


@pytest.mark.parametrize("columns", [80, 60])
def test_verbose_1_fits_the_width_and_shows_every_final_value_in_full(capsys, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    X, y = _data()
    history = _model().fit(X, y, epochs=3, batch_size=16, validation_split=0.25, verbose=1)
    captured = capsys.readouterr()
    assert captured.err == ""  # the bar's file is stdout
    out = captured.out
    pieces = _pieces(out)
    assert pieces and max(len(p) for p in pieces) <= columns, max(pieces, key=len)
    assert max(len(p) for p in pieces) >= columns - 5  # the bar does use the width
    epochs = _epochs_of_verbose_1(out)
    assert sorted(epochs) == [1, 2, 3]
    for i, lines in epochs.items():
        logs = {key: values[i - 1] for key, values in history.history.items()}
        assert len("  " + " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())) > columns  # it had to wrap
        assert all(line.startswith("  ") and not line.startswith("   ") for line in lines)
        _check_logged(_items(lines), logs)
        # the validation values start a line of their own, under the training ones
        assert not any("val_" in line and not line.startswith("  val_") for line in lines)
        assert sum(line.startswith("  val_loss: ") for line in lines) == 1
    # one speed per epoch, labelled; tqdm's own rate ("sample/s", "it/s") is not drawn
    assert len(re.findall(r"/s\b", out)) == 3 and out.count(" samples/s (training)") == 3


def test_verbose_1_prints_the_logs_on_one_line_when_they_fit(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    X, y = _data()
    history = _model(["accuracy"]).fit(X, y, epochs=2, validation_split=0.25, verbose=1)
    epochs = _epochs_of_verbose_1(capsys.readouterr().out)
    for i, lines in epochs.items():
        assert len(lines) == 1
        _check_logged(_items(lines), {key: values[i - 1] for key, values in history.history.items()})


def test_verbose_1_bar_during_the_epoch_fits_and_shows_the_running_loss(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    bar = _progress._ProgressBar("Epoch 7/100", 60000)
    bar._bar.mininterval = 0  # draw every report
    bar.report(12345, 1.23456)
    monkeypatch.setenv("COLUMNS", "65")  # the terminal was made narrower
    bar.report(23456, 0.98765)
    bar.close()
    pieces = _pieces(capsys.readouterr().out)
    drawn = [p for p in pieces if "12345/60000" in p]
    assert drawn and len(drawn[-1]) == 79 and drawn[-1].startswith("Epoch 7/100  21%|")
    assert drawn[-1].endswith(", loss: 1.2346]")
    narrow = [p for p in pieces if "23456/60000" in p]
    # (tqdm pads the redrawn line with spaces over the longer one before it)
    assert narrow and len(narrow[-1].rstrip()) == 64 and narrow[-1].rstrip().endswith(", loss: 0.9877]")


def test_verbose_2_prints_one_line_per_epoch_with_every_value(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    X, y = _data()
    history = _model().fit(X, y, epochs=4, batch_size=32, validation_split=0.25, verbose=2)
    out = capsys.readouterr().out
    assert "\r" not in out and out.endswith("\n")
    lines = out.split("\n")[:-1]
    assert len(lines) == 4
    for i, line in enumerate(lines):
        assert line.startswith(f"Epoch {i + 1}/4 - loss: ")
        assert len(line) > 80  # a log file's line: never wrapped
        _check_logged(line.split(" - ")[1:], {key: values[i] for key, values in history.history.items()})
        assert all(f" - val_{m}: " in line for m in ["loss", *METRICS])


def test_the_speed_counts_the_training_loop_not_the_validation(capsys, monkeypatch):
    X, y = _data(n=2000)
    model = _model(["accuracy"])
    evaluate = model._evaluate_arrays

    def slow_validation(*args, **kwargs):
        time.sleep(0.5)
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(model, "_evaluate_arrays", slow_validation)
    model.fit(X, y, epochs=2, batch_size=200, validation_data=(X[:10], y[:10]), verbose=2)
    lines = capsys.readouterr().out.splitlines()
    for line in lines:
        speed = int(SPEED.match(line.split(" - ")[-1]).group(1).replace(",", ""))
        # counting the 0.5 s of validation would give at most 4,000 samples/s
        assert speed > 20_000, line


def test_log_values_and_wrapping_rules():
    line = _progress.epoch_line(2, 10, {"loss": 2.5e-05, "mae": 0.0, "mse": -0.00012, "r2": 0.98765}, 123456.4)
    assert line == "Epoch 3/10 - loss: 2.5000e-05 - mae: 0.0000 - mse: -1.2000e-04 - r2: 0.9877 - 123,456 samples/s (training)"
    assert _progress.epoch_line(0, 1, {"loss": float("nan")}, float("inf")) == "Epoch 1/1 - loss: nan - inf samples/s (training)"
    groups = [["loss: 1.0000", "a_very_long_metric_name_that_does_not_fit: 0.5000"], ["val_loss: 1.0000", "9 samples/s (training)"]]
    assert _progress.wrap_items(groups, 30) == [
        "  loss: 1.0000",
        "  a_very_long_metric_name_that_does_not_fit: 0.5000",  # alone on its line, not cut
        "  val_loss: 1.0000",
        "  9 samples/s (training)",
    ]
    assert _progress.wrap_items(groups, 200) == ["  " + " - ".join(groups[0] + groups[1])]
