"""The Sequential model: a stack of layers trained by the C++ core."""

from __future__ import annotations

import math
import os
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from . import losses as _losses
from . import metrics as _metrics
from . import optim as _optim
from ._validation import (
    as_features,
    as_targets,
    check_model_size,
    non_negative_int,
    not_an_instance_error,
    positive_int,
)
from .callbacks import Callback, History
from .layers import Dense, Layer, from_config

__all__ = ["Sequential"]

ArrayLike = Any


class Sequential:
    """A feed-forward network: ``layers`` applied in order.

    Args:
        layers: ``fm.Dense``, ``fm.Dropout``, ``fm.LayerNorm`` and ``fm.BatchNorm`` layers; the last
            Dense gives the output width.
        input_dim: number of input features. If None, it is taken from the first ``fit``,
            ``train_step``, ``predict`` or ``evaluate`` call.
        seed: seeds the initial weights, the shuffling and the dropout masks (all reproducible).
    """

    def __init__(self, layers: Sequence[Layer], input_dim: Optional[int] = None, seed: int = 0) -> None:
        if isinstance(layers, (Layer, str, bytes)) or not hasattr(layers, "__iter__"):
            raise TypeError(
                f"layers must be a list of fm layers such as [fm.Dense(10)], got {type(layers).__name__}"
            )
        self.layers: List[Layer] = list(layers)
        if not self.layers:
            raise ValueError("layers must contain at least one layer")
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise not_an_instance_error(f"layers[{i}]", layer, "an fm layer such as fm.Dense(10)")
        if not any(isinstance(layer, Dense) for layer in self.layers):
            raise ValueError("layers must contain at least one fm.Dense layer")
        self.seed = non_negative_int("seed", seed, below=2**64, below_text="2**64")
        self.input_dim: Optional[int] = None
        self.stop_training = False
        self._net: Optional[Any] = None
        self._loss: Optional[_losses.Loss] = None
        self._optimizer: Optional[_optim.Optimizer] = None
        self._metrics: List[str] = []
        if input_dim is not None:
            self._build(positive_int("input_dim", input_dim))

    # ---------------------------------------------------------------- building
    def _build(self, input_dim: int) -> None:
        check_model_size(input_dim, [layer.units for layer in self.layers if isinstance(layer, Dense)])
        self._net = _core.Network(input_dim, [layer._core_spec() for layer in self.layers], self.seed)
        self.input_dim = input_dim
        if self._loss is not None and self._optimizer is not None:
            self._apply_compile()

    def _ensure_built(self, X: ArrayLike, name: str = "X") -> np.ndarray:
        if self._net is None:
            arr = as_features(X, None, name)
            self._build(arr.shape[1])
            return arr
        return as_features(X, self.input_dim, name)

    def _apply_compile(self) -> None:
        assert self._net is not None and self._loss is not None and self._optimizer is not None
        self._net.set_loss(self._loss.name)
        self._optimizer._install(self._net)

    @property
    def output_dim(self) -> int:
        for layer in reversed(self.layers):
            if isinstance(layer, Dense):
                return layer.units
        raise AssertionError("unreachable: a Sequential always has a Dense layer")

    def compile(
        self,
        loss: Union[str, _losses.Loss] = "mse",
        optimizer: Union[str, _optim.Optimizer] = "adam",
        metrics: Optional[Sequence[str]] = None,
    ) -> None:
        """Chooses the loss (``"mse"``, ``"cross_entropy"`` or an ``fm.losses`` object), the optimizer
        (``fm.optim.SGD(...)``, ``fm.optim.Adam(...)`` or their names) and the metrics reported by
        ``fit`` and ``evaluate`` (``"accuracy"`` for cross_entropy; ``"mse"``, ``"mae"`` for mse).
        Re-compiling resets the optimizer state."""
        loss_obj = _losses.get(loss)
        opt_obj = _optim.get(optimizer)
        if metrics is None:
            metrics = []
        elif isinstance(metrics, (str, bytes)) or not isinstance(metrics, (list, tuple)):
            raise TypeError(
                f"metrics must be a list of names such as ['accuracy'], got {type(metrics).__name__} {metrics!r}"
            )
        self._metrics = _metrics.resolve(list(metrics), loss_obj.classification, loss_obj.name)
        self._loss, self._optimizer = loss_obj, opt_obj
        if self._net is not None:
            self._apply_compile()

    def _require_compiled(self, what: str) -> None:
        """Checked before X, so that a failed call on an unbuilt model does not build it."""
        if self._loss is None or self._optimizer is None:
            raise RuntimeError(f"call model.compile(loss=..., optimizer=...) before {what}")

    def _targets(self, y: ArrayLike, n: int, name: str = "y", x_name: str = "X") -> np.ndarray:
        assert self._loss is not None
        return as_targets(y, self._loss.classification, n, self.output_dim, name, x_name)

    # ---------------------------------------------------------------- training
    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        epochs: int = 1,
        batch_size: int = 32,
        shuffle: bool = True,
        validation_data: Optional[Tuple[ArrayLike, ArrayLike]] = None,
        callbacks: Optional[Sequence[Callback]] = None,
        verbose: int = 1,
    ) -> History:
        """Trains for `epochs` passes over (X, y) in mini-batches of `batch_size` (the last batch may
        be smaller), reshuffling every epoch when `shuffle`. Each epoch runs entirely in C++ with
        the GIL released; Ctrl-C stops it within a fraction of a second with KeyboardInterrupt,
        leaving the model usable.

        Args:
            X: (n, input_dim) features; converted to float32 once.
            y: (n,) integer labels for cross_entropy, (n, outputs) floats for mse.
            validation_data: optional (X_val, y_val) evaluated after each epoch ("val_" logs).
            callbacks: e.g. ``[fm.callbacks.EarlyStopping(patience=3)]``.
            verbose: 0 silent, 1 one line per epoch.

        Returns:
            History with per-epoch "loss", metrics, and "val_loss"/"val_<metric>".

        Raises:
            FloatingPointError: a batch loss or its gradient became NaN or infinite (divergence); the
                message names the epoch and step, and the model keeps the weights and optimizer
                state from before that step.
        """
        self._require_compiled("fit")
        X = self._ensure_built(X)
        net = self._net
        y = self._targets(y, X.shape[0])
        epochs = non_negative_int("epochs", epochs)
        batch_size = positive_int("batch_size", batch_size)
        validation = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                got = (
                    f"a {type(validation_data).__name__} of length {len(validation_data)}"
                    if isinstance(validation_data, (tuple, list))
                    else type(validation_data).__name__
                )
                raise ValueError(f"validation_data must be a tuple (X_val, y_val), got {got}")
            Xv = as_features(validation_data[0], self.input_dim, "validation_data[0]")
            yv = self._targets(validation_data[1], Xv.shape[0], "validation_data[1]", "validation_data[0]")
            validation = (Xv, yv)
        if callbacks is None:
            callbacks = []
        elif isinstance(callbacks, Callback) or not isinstance(callbacks, (list, tuple)):
            raise TypeError(
                f"callbacks must be a list of fm.callbacks.Callback objects, got {type(callbacks).__name__}"
            )
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise not_an_instance_error("callbacks", cb, "fm.callbacks.Callback objects")

        history = History()
        all_callbacks: List[Callback] = [history, *callbacks]
        for cb in all_callbacks:
            cb.set_model(self)
            cb.on_train_begin()
        self.stop_training = False
        for epoch in range(epochs):
            start = time.perf_counter()
            stats = net.train_epoch(X, y, batch_size, bool(shuffle))
            elapsed = time.perf_counter() - start
            if stats["diverged"]:
                for cb in all_callbacks:
                    cb.on_train_end()
                raise FloatingPointError(
                    f"training diverged at epoch {epoch + 1}, step {stats['steps']}: the batch loss or its "
                    "gradient is NaN or infinite. The weights are those before that step. Lower the learning rate, scale the "
                    "inputs, or check the data."
                )
            logs = _metrics.from_stats(stats, self._metrics, self.output_dim)
            if validation is not None:
                val_stats = net.evaluate(*validation)
                for key, value in _metrics.from_stats(val_stats, self._metrics, self.output_dim).items():
                    logs["val_" + key] = value
            if verbose:
                shown = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
                rate = stats["samples"] / elapsed if elapsed > 0 else float("inf")
                print(f"Epoch {epoch + 1}/{epochs} - {shown} - {rate:,.0f} samples/s", file=sys.stdout, flush=True)
            for cb in all_callbacks:
                cb.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for cb in all_callbacks:
            cb.on_train_end()
        return history

    def train_step(self, x: ArrayLike, y: ArrayLike) -> float:
        """One forward, backward and optimizer update on the batch (x, y), in one C++ call.
        Returns the batch's mean loss before the update; ``gradients()`` then holds its gradient.
        Raises FloatingPointError, without updating, when that loss or its gradient is NaN or infinite."""
        self._require_compiled("train_step")
        x = self._ensure_built(x, "x")
        stats = self._net.train_step(x, self._targets(y, x.shape[0], x_name="x"))
        loss = float(stats["loss"])
        if stats["diverged"]:
            what = f"the batch loss is {loss}" if not math.isfinite(loss) else (
                f"the batch loss is finite ({loss:.6g}) but its gradient overflowed to NaN or infinity"
            )
            raise FloatingPointError(
                f"{what}: no update was made and the weights are unchanged. "
                "Lower the learning rate, scale the inputs, or check the data."
            )
        return loss

    # ---------------------------------------------------------------- inference
    def predict(self, X: ArrayLike) -> np.ndarray:
        """Network outputs (logits for cross_entropy) for X (n, input_dim): float32 (n, outputs).
        Dropout is off."""
        X = self._ensure_built(X)
        assert self._net is not None
        return self._net.predict(X)

    def evaluate(self, X: ArrayLike, y: ArrayLike) -> Dict[str, float]:
        """{"loss": mean loss, <metric>: value, ...} over (X, y), dropout off."""
        self._require_compiled("evaluate")
        X = self._ensure_built(X)
        stats = self._net.evaluate(X, self._targets(y, X.shape[0]))
        return _metrics.from_stats(stats, self._metrics, self.output_dim)

    # ---------------------------------------------------------------- state
    def _require_built(self) -> Any:
        if self._net is None:
            raise RuntimeError("the model has no weights yet: give Sequential an input_dim or call fit first")
        return self._net

    def parameters(self) -> List[np.ndarray]:
        """Zero-copy, writable float32 views of the parameters in PyTorch layout:
        ``[W0 (out, in), b0 (out,), W1, b1, ...]``. Writing into a view changes the model."""
        return self._require_built().parameters()

    def buffers(self) -> List[np.ndarray]:
        """Zero-copy, writable float32 views of the non-trainable state: per ``fm.BatchNorm`` layer
        with running statistics, ``running_mean (features,)`` then ``running_var (features,)``,
        layer by layer (``[]`` without such layers). Saved and loaded with the model."""
        return self._require_built().buffers()

    def gradients(self) -> List[np.ndarray]:
        """The last ``train_step``/``fit`` batch's gradients of the mean loss, laid out as
        ``parameters()`` (zero-copy views)."""
        return self._require_built().gradients()

    @property
    def num_params(self) -> int:
        return int(self._require_built().num_params)

    def get_config(self) -> Dict[str, Any]:
        """The architecture as a JSON-friendly dictionary (what ``save`` stores)."""
        return {
            "input_dim": self.input_dim,
            "seed": self.seed,
            "layers": [layer.get_config() for layer in self.layers],
        }

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Sequential":
        try:
            layers = [from_config(c) for c in config["layers"]]
            return cls(layers, input_dim=config["input_dim"], seed=config.get("seed", 0))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"invalid model configuration: {exc!r}") from None

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes the architecture and weights to a safetensors file, atomically."""
        from .io import save

        self._require_built()
        save(self, path)

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential([{inner}], input_dim={self.input_dim}, seed={self.seed})"
