"""The per-epoch progress bar of ``fit(verbose=1)``, drawn with tqdm (imported only when used)."""

from __future__ import annotations

import sys
from typing import Any


class _ProgressBar:
    """A tqdm bar over an epoch's samples. ``report`` is handed to the C++ epoch loop, which calls
    it (with the GIL) at most every 100 ms with the samples trained on so far and the running mean
    loss; ``finish`` completes it with the epoch's logs."""

    def __init__(self, desc: str, total: int) -> None:
        try:
            from tqdm import tqdm
        except ImportError:  # pragma: no cover - tqdm is a declared dependency
            raise ImportError(
                "fit(verbose=1) draws its progress bar with tqdm, which is not installed: "
                "pip install tqdm, or pass verbose=2 (one line per epoch) or verbose=0"
            ) from None
        self._bar: Any = tqdm(
            total=total, desc=desc, unit="sample", file=sys.stdout, leave=True, mininterval=0.1, dynamic_ncols=True
        )

    def report(self, samples: int, loss: float) -> None:
        self._bar.update(samples - self._bar.n)
        self._bar.set_postfix_str(f"loss: {loss:.4f}", refresh=False)

    def finish(self, samples: int, text: str) -> None:
        self._bar.update(samples - self._bar.n)
        self._bar.set_postfix_str(text, refresh=False)
        self._bar.close()

    def close(self) -> None:
        self._bar.close()
