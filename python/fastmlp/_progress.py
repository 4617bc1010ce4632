"""What ``fit`` prints: the per-epoch progress bar of ``verbose=1`` (drawn with tqdm, imported only
when used) and the epoch's logs, wrapped to the terminal's width, or the one line per epoch of
``verbose=2``.

The width is ``shutil.get_terminal_size().columns``: the ``COLUMNS`` environment variable, else the
terminal's width, else 80 (stdout not a terminal: CI logs, pipes, notebooks). Lines are at most
``width - 1`` characters, as tqdm draws them, so that no terminal wraps them on its own.

The logs are ``name: value`` items joined by `` - `` as Keras prints them; one training speed closes
them: ``N samples/s (training)``, the samples of the epoch over the seconds of its training loop
(forward, backward and update of every batch), not counting the validation and the metrics computed
after it. ``verbose=1`` prints them on one line when they fit, else the validation values start a
line under the training ones and lines break between items, never inside one, so that every value
shows in full; ``verbose=2`` keeps each epoch on one line (a log file's line).
"""

from __future__ import annotations

import math
import shutil
import sys
from typing import Any, Dict, List

__all__ = ["_ProgressBar", "epoch_line", "log_items", "terminal_width", "wrap_items"]

#: the bar's layout: no tqdm rate (the one speed shown is the epoch's, in the logs), the running loss
_BAR_FORMAT = "{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]"
#: the indentation of the logs under the bar
_INDENT = "  "


def terminal_width() -> int:
    """The columns a printed line may use: the terminal's width (``COLUMNS`` first, 80 when stdout
    is not a terminal) less one, at least 20."""
    return max(shutil.get_terminal_size().columns - 1, 20)


def _value(value: float) -> str:
    """A log value as Keras's progress bar shows it: 4 decimals, or 4 significant digits in
    scientific notation below 1e-3 (a loss of 2e-05 is not "0.0000")."""
    if value != 0.0 and math.isfinite(value) and abs(value) < 1e-3:
        return f"{value:.4e}"
    return f"{value:.4f}"


def log_items(logs: Dict[str, float], samples_per_s: float) -> List[List[str]]:
    """The epoch's logs as ``name: value`` items in two groups, the training values and the
    validation ("val_") values, the training speed closing the last group."""
    train = [f"{k}: {_value(v)}" for k, v in logs.items() if not k.startswith("val_")]
    validation = [f"{k}: {_value(v)}" for k, v in logs.items() if k.startswith("val_")]
    speed = f"{samples_per_s:,.0f} samples/s (training)"
    return [train, validation + [speed]] if validation else [train + [speed]]


def wrap_items(groups: List[List[str]], width: int, indent: str = _INDENT) -> List[str]:
    """The items joined by " - " into lines of at most `width` characters, each starting with
    `indent`: one line when all fit; else each group starts a line (the validation values under
    the training ones) and lines break between items only (an item longer than a line gets a line
    of its own)."""
    items = [item for group in groups for item in group]
    if len(indent) + len(" - ".join(items)) <= width:
        return [indent + " - ".join(items)] if items else []
    lines: List[str] = []
    for group in groups:
        line = ""
        for item in group:
            if line and len(line) + len(" - ") + len(item) <= width:
                line += " - " + item
                continue
            if line:
                lines.append(line)
            line = indent + item
        if line:
            lines.append(line)
    return lines


def epoch_line(epoch: int, epochs: int, logs: Dict[str, float], samples_per_s: float) -> str:
    """``verbose=2``: the epoch's one line, ``Epoch 3/10 - loss: ... - N samples/s (training)``."""
    items = [item for group in log_items(logs, samples_per_s) for item in group]
    return " - ".join([f"Epoch {epoch + 1}/{epochs}", *items])


class _ProgressBar:
    """A tqdm bar over an epoch's samples, as wide as the terminal. ``report`` is handed to the C++
    epoch loop, which calls it (with the GIL) at most every 100 ms with the samples trained on so
    far and the running mean loss; ``finish`` completes it and prints the epoch's logs under it."""

    def __init__(self, desc: str, total: int) -> None:
        try:
            from tqdm import tqdm
        except ImportError:  # pragma: no cover - tqdm is a declared dependency
            raise ImportError(
                "fit(verbose=1) draws its progress bar with tqdm, which is not installed: "
                "pip install tqdm, or pass verbose=2 (one line per epoch) or verbose=0"
            ) from None
        self._file = sys.stdout
        self._bar: Any = tqdm(
            total=total, desc=desc, unit="sample", file=self._file, leave=True, mininterval=0.1,
            ncols=terminal_width(), bar_format=_BAR_FORMAT,
        )

    def report(self, samples: int, loss: float) -> None:
        self._bar.ncols = terminal_width()  # follows a resized terminal
        self._bar.set_postfix_str(f"loss: {_value(loss)}", refresh=False)
        self._bar.update(samples - self._bar.n)

    def finish(self, samples: int, logs: Dict[str, float], samples_per_s: float) -> None:
        """Completes the bar (with the epoch's loss) and prints the logs under it, wrapped."""
        width = terminal_width()
        self._bar.ncols = width
        if "loss" in logs:
            self._bar.set_postfix_str(f"loss: {_value(logs['loss'])}", refresh=False)
        self._bar.update(samples - self._bar.n)
        self._bar.close()
        for line in wrap_items(log_items(logs, samples_per_s), width):
            print(line, file=self._file)
        self._file.flush()

    def close(self) -> None:
        self._bar.close()
