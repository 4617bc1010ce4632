"""Saving and loading models as safetensors files: the weights as tensors named
``layers.{i}.weight`` / ``layers.{i}.bias`` (PyTorch layout) and the architecture as JSON in the
file's metadata. Writes are atomic: a failed save leaves any previous file intact."""

from __future__ import annotations

import json
import os
import tempfile
from typing import TYPE_CHECKING, Dict, Union

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

if TYPE_CHECKING:
    from .model import Sequential

__all__ = ["save", "load", "FORMAT_NAME"]

FORMAT_NAME = "fastmlp"
FORMAT_VERSION = 1

PathLike = Union[str, "os.PathLike[str]"]


def _tensor_names(model: "Sequential") -> list:
    names = []
    for i, layer in enumerate(model.layers):
        if layer.get_config()["type"] == "Dense":
            names += [f"layers.{i}.weight", f"layers.{i}.bias"]
    return names


def save(model: "Sequential", path: PathLike) -> None:
    """Writes `model` (architecture and weights) to `path` atomically."""
    path = os.fspath(path)
    tensors: Dict[str, np.ndarray] = dict(zip(_tensor_names(model), model.parameters()))
    metadata = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "architecture": json.dumps(model.get_config()),
    }
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".fastmlp-", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def load(path: PathLike) -> "Sequential":
    """Reads a model written by ``save``. Raises ValueError if the file is not a fastmlp model or
    its tensors do not match the architecture it declares."""
    from .model import Sequential

    path = os.fspath(path)
    try:
        handle = safe_open(path, framework="np")
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise ValueError(f"{path!r} is not a readable safetensors file: {exc}") from None
    with handle as f:
        metadata = f.metadata() or {}
        if metadata.get("format") != FORMAT_NAME or "architecture" not in metadata:
            raise ValueError(f"{path!r} is a safetensors file but not a fastmlp model (no fastmlp metadata)")
        try:
            config = json.loads(metadata["architecture"])
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path!r} has corrupted architecture metadata: {exc}") from None
        model = Sequential.from_config(config)
        names = _tensor_names(model)
        stored = set(f.keys())
        if stored != set(names):
            raise ValueError(
                f"{path!r} holds tensors {sorted(stored)} but its architecture needs {names}"
            )
        for name, view in zip(names, model.parameters()):
            tensor = f.get_tensor(name)
            if tensor.dtype != np.float32 or tensor.shape != view.shape:
                raise ValueError(
                    f"{path!r}: tensor {name} is {tensor.dtype} {tensor.shape}, expected float32 {view.shape}"
                )
            view[...] = tensor
    return model
