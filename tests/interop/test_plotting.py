"""fm.plot_history (python/fastmlp/plotting.py): PNG files of training curves, drawn without pyplot."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
import matplotlib.image  # noqa: E402

import fastmlp as fm  # noqa: E402
from fastmlp.plotting import plot_history  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _fit_history(metrics: List[str], validation: bool = True, epochs: int = 3) -> fm.callbacks.History:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 5)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    model = fm.Sequential([fm.Dense(8, "relu"), fm.Dense(2)], seed=0)
    model.compile(loss="cross_entropy", optimizer="adam", metrics=metrics)
    return model.fit(X, y, epochs=epochs, batch_size=16, verbose=0, validation_split=0.25 if validation else 0.0)


def _check_png(path: Path, width: int, height: int) -> np.ndarray:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    # IHDR: the first chunk, width and height as big-endian uint32 at bytes 16..24
    assert data[12:16] == b"IHDR"
    assert int.from_bytes(data[16:20], "big") == width and int.from_bytes(data[20:24], "big") == height
    image = matplotlib.image.imread(str(path))
    assert image.shape[:2] == (height, width)
    return image


def test_history_from_fit(tmp_path: Path) -> None:
    history = _fit_history(["accuracy", "f1"])
    assert set(history.history) == {"loss", "accuracy", "f1", "val_loss", "val_accuracy", "val_f1"}
    path = tmp_path / "history.png"
    figure = plot_history(history, path)
    image = _check_png(path, 640, 3 * 320)
    assert len(figure.axes) == 3  # loss, accuracy, f1
    assert [ax.get_title() for ax in figure.axes] == ["loss", "accuracy", "f1"]
    for ax, name in zip(figure.axes, ["loss", "accuracy", "f1"]):
        lines = ax.get_lines()
        assert [line.get_label() for line in lines] == ["training", "validation"]
        np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3])
        np.testing.assert_allclose(lines[0].get_ydata(), history.history[name])
        np.testing.assert_allclose(lines[1].get_ydata(), history.history["val_" + name])
    # something was drawn: not a blank image
    assert image[..., :3].std() > 0.05


def test_dict_of_lists_size_and_order(tmp_path: Path) -> None:
    curves: Dict[str, Any] = {
        "val_mae": [3.0, 2.0],
        "mae": (2.5, 1.5),
        "learning_rate": np.array([0.1, 0.01]),
        "loss": [1.0, np.float32(0.5)],
    }
    path = tmp_path / "c.PNG"
    figure = plot_history(curves, str(path), subplot_size=(4, 2.5), dpi=50, title="run 1")
    _check_png(path, 200, 3 * 125)
    assert [ax.get_title() for ax in figure.axes] == ["loss", "mae", "learning_rate"]
    assert [len(ax.get_lines()) for ax in figure.axes] == [1, 2, 1]
    assert "run 1" in [text.get_text() for text in figure.texts]  # the suptitle


def test_resumed_history_uses_its_epoch_numbers(tmp_path: Path) -> None:
    history = fm.callbacks.History()
    for epoch, loss in [(5, 0.9), (6, 0.7)]:
        history.on_epoch_end(epoch, {"loss": loss})
    figure = plot_history(history, tmp_path / "r.png")
    np.testing.assert_array_equal(figure.axes[0].get_lines()[0].get_xdata(), [6, 7])


def test_single_epoch_and_non_finite_values(tmp_path: Path) -> None:
    figure = plot_history({"loss": [0.3]}, tmp_path / "one.png")
    assert len(figure.axes) == 1 and figure.axes[0].get_lines()[0].get_marker() == "o"
    figure = plot_history({"loss": [1.0, float("nan"), float("inf")], "val_loss": [np.nan] * 3}, tmp_path / "nan.png")
    ydata = figure.axes[0].get_lines()[0].get_ydata()
    assert ydata[0] == 1.0 and np.isnan(ydata[1:]).all()
    _check_png(tmp_path / "nan.png", 640, 320)


def test_keras_like_object_and_overwrite(tmp_path: Path) -> None:
    class KerasHistory:
        history = {"loss": [2.0, 1.0], "val_loss": [2.5, 1.5]}

    path = tmp_path / "k.png"
    path.write_bytes(b"old")
    plot_history(KerasHistory(), path)
    _check_png(path, 640, 320)


def test_no_pyplot_and_backend_untouched(tmp_path: Path) -> None:
    code = textwrap.dedent(
        f"""
        import sys, matplotlib
        matplotlib.use("svg")
        from fastmlp.plotting import plot_history
        plot_history({{"loss": [1, 2], "accuracy": [0.1, 0.2]}}, {str(tmp_path / "p.png")!r})
        assert "matplotlib.pyplot" not in sys.modules
        assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_threads_draw_at_once(tmp_path: Path) -> None:
    errors: List[BaseException] = []

    def draw(i: int) -> None:
        try:
            plot_history({"loss": list(np.linspace(1, 0, 5 + i)), "val_loss": [1.0] * (5 + i)}, tmp_path / f"{i}.png")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=draw, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i in range(4):
        _check_png(tmp_path / f"{i}.png", 640, 320)


@pytest.mark.parametrize(
    "history, exc, match",
    [
        ({}, ValueError, r"history is empty"),
        (fm.callbacks.History(), ValueError, r"history is empty"),
        ({"loss": [], "val_loss": []}, ValueError, r"no epochs"),
        ([1.0, 2.0], TypeError, r"history must be the History returned by fit.*got list"),
        ({"loss": "0.5"}, TypeError, r"history\['loss'\] must be a list"),
        ({"loss": 0.5}, TypeError, r"history\['loss'\] must be a list"),
        ({"loss": [0.5, "x"]}, TypeError, r"history\['loss'\]\[1\] must be a number, got 'x'"),
        ({"loss": [0.5, None]}, TypeError, r"history\['loss'\]\[1\] must be a number, got None"),
        ({"loss": [True]}, TypeError, r"must be a number, got True"),
        ({1: [0.5]}, TypeError, r"history keys must be"),
    ],
)
def test_bad_history(tmp_path: Path, history: Any, exc: type, match: str) -> None:
    path = tmp_path / "x.png"
    with pytest.raises(exc, match=match):
        plot_history(history, path)
    assert not path.exists()


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"path": "out.jpg"}, ValueError, r"path must name a .png file, got 'out.jpg'"),
        ({"path": 3}, TypeError, r"path must be a str or os.PathLike"),
        ({"path": os.path.join("no", "such", "dir", "a.png")}, ValueError, r"folder .* does not exist"),
        ({"dpi": 0}, ValueError, r"dpi must be an integer in \[1, 1000\], got 0"),
        ({"dpi": 72.5}, ValueError, r"dpi must be an int"),
        ({"subplot_size": (0, 3)}, ValueError, r"subplot_size must be \(width, height\)"),
        ({"subplot_size": (4,)}, ValueError, r"subplot_size"),
        ({"title": 5}, TypeError, r"title must be a str or None, got int"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: Dict[str, Any], exc: type, match: str, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    args: Dict[str, Any] = {"path": "ok.png", **kwargs}
    path = args.pop("path")
    with pytest.raises(exc, match=match):
        plot_history({"loss": [1.0, 0.5]}, path, **args)
    assert os.listdir(tmp_path) == []
