"""Training curves: ``fm.plot_history(history, "history.png")`` draws what ``fit`` logged.

matplotlib is an optional dependency (``pip install 'fastmlp[plot]'``), imported only when a plot is
drawn. The figure is drawn with ``matplotlib.figure.Figure`` and the Agg canvas directly, never
through ``pyplot``: it works from any thread, in a process without a display, and leaves the
user's matplotlib backend and pyplot state untouched.
"""

from __future__ import annotations

import math
import numbers
import os
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ._validation import check_path, int_in, is_int, real_number

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_history"]

_PathLike = Union[str, "os.PathLike[str]"]


def _import_matplotlib() -> Tuple[Any, Any]:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "plot_history needs matplotlib: pip install matplotlib (or pip install 'fastmlp[plot]')"
        ) from None
    return Figure, FigureCanvasAgg


def _curves(history: Any) -> Tuple[Dict[str, List[float]], Optional[List[int]]]:
    """The validated {name: per-epoch values} of a History, a Keras-like object with a ``history``
    dict, or a plain dict; and History's epoch indices when they match the curves."""
    epochs: Optional[List[int]] = None
    source: Any = history
    if not isinstance(history, Mapping):
        source = getattr(history, "history", None)
        if not isinstance(source, Mapping):
            raise TypeError(
                "history must be the History returned by fit (or any object with a .history dict) or a dict "
                f"of per-epoch value lists such as {{'loss': [0.9, 0.5]}}, got {type(history).__name__}"
            )
        raw_epochs = getattr(history, "epoch", None)
        if isinstance(raw_epochs, (list, tuple)) and all(is_int(e) for e in raw_epochs):
            epochs = [int(e) for e in raw_epochs]
    if not source:
        raise ValueError("history is empty: it has no logged values to plot (did fit run for at least one epoch?)")
    curves: Dict[str, List[float]] = {}
    for key, values in source.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"history keys must be non-empty metric names (str), got {key!r}")
        if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__iter__"):
            raise TypeError(
                f"history[{key!r}] must be a list of per-epoch numbers, got {type(values).__name__}"
            )
        floats: List[float] = []
        for i, value in enumerate(list(values)):
            value = real_number(f"history[{key!r}][{i}]", value)
            floats.append(value if math.isfinite(value) else math.nan)  # NaN/inf epochs are gaps
        curves[key] = floats
    if all(len(v) == 0 for v in curves.values()):
        raise ValueError(f"history has no epochs: every list is empty (keys {sorted(curves)})")
    if epochs is not None and any(len(v) != len(epochs) for v in curves.values()):
        epochs = None
    return curves, epochs


def _groups(names: Sequence[str]) -> List[Tuple[str, Optional[str], Optional[str]]]:
    """(title, training key, validation key) per subplot: "loss" first, then the order of first
    appearance; "val_x" shares x's subplot."""
    titles: List[str] = []
    for name in names:
        base = name[4:] if name.startswith("val_") and len(name) > 4 else name
        if base not in titles:
            titles.append(base)
    if "loss" in titles:
        titles.remove("loss")
        titles.insert(0, "loss")
    present = set(names)
    return [
        (title, title if title in present else None, f"val_{title}" if f"val_{title}" in present else None)
        for title in titles
    ]


def plot_history(
    history: Any,
    path: _PathLike,
    *,
    title: Optional[str] = None,
    subplot_size: Tuple[float, float] = (6.4, 3.2),
    dpi: int = 100,
) -> "Figure":
    """Draws the loss and every logged metric, one subplot per quantity stacked vertically, to a PNG.

    Each subplot shows the training curve (``"loss"``, ``"accuracy"``, ...) and, when present, its
    validation curve (``"val_loss"``, ...) on the same axes against the epoch (1-based; with a
    ``History`` the epochs it logged, so a resumed ``fit(initial_epoch=...)`` starts where it
    resumed). Non-finite values (an epoch stopped by ``TerminateOnNaN``) are left as gaps. Other
    logged values such as ``"learning_rate"`` get their own subplot.

    Args:
        history: the ``History`` returned by ``fm.Sequential.fit`` (or any object whose
            ``.history`` is such a dict), or a dict ``{name: [value per epoch, ...]}`` of real numbers.
        path: the PNG file to write (str or path-like ending in ``.png``; its folder must exist).
            An existing file is replaced.
        title: optional figure title.
        subplot_size: (width, height) of each subplot in inches, both > 0.
        dpi: pixels per inch, a positive int. The image is ``round(width * dpi)`` pixels wide and
            ``round(height * dpi * subplots)`` high.

    Returns:
        The ``matplotlib.figure.Figure`` that was saved (``figure.axes`` has one axes per
        subplot); it is not registered with pyplot.

    Raises:
        ValueError: empty history (no keys, or no epochs), a path not ending in ``.png``, a folder
            that does not exist, bad ``subplot_size``/``dpi``.
        TypeError: history of the wrong type or holding non-numeric values.
        ImportError: matplotlib is not installed.
    """
    curves, epochs = _curves(history)
    path_str = check_path("path", path)
    if not path_str.lower().endswith(".png"):
        raise ValueError(f"path must name a .png file, got {path_str!r}")
    folder = os.path.dirname(os.path.abspath(path_str))
    if not os.path.isdir(folder):
        raise ValueError(f"path's folder {folder!r} does not exist (path {path_str!r})")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str or None, got {type(title).__name__}")
    if (
        not isinstance(subplot_size, (tuple, list))
        or len(subplot_size) != 2
        or not all(isinstance(s, numbers.Real) and not isinstance(s, bool) for s in subplot_size)
        or not all(0 < float(s) < 1000 for s in subplot_size)
    ):
        raise ValueError(
            f"subplot_size must be (width, height) in inches, two numbers in (0, 1000), got {subplot_size!r}"
        )
    dpi = int_in("dpi", dpi, 1, 1000)
    width, height = float(subplot_size[0]), float(subplot_size[1])
    groups = _groups(list(curves))

    figure_class, canvas_class = _import_matplotlib()
    figure: "Figure" = figure_class(figsize=(width, height * len(groups)), dpi=int(dpi), layout="constrained")
    canvas_class(figure)
    axes = figure.subplots(len(groups), 1, squeeze=False)[:, 0]
    for ax, (name, train_key, val_key) in zip(axes, groups):
        for key, label, style in ((train_key, "training", "-"), (val_key, "validation", "--")):
            if key is None:
                continue
            values = curves[key]
            x = [e + 1 for e in epochs] if epochs is not None else list(range(1, len(values) + 1))
            ax.plot(x, values, style, marker="o" if len(values) == 1 else None, label=label)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best")
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title is not None:
        figure.suptitle(title)
    figure.savefig(path_str, format="png", dpi=int(dpi))
    return figure
