"""The training state a checkpoint holds besides the architecture and weights: loss, optimizer
configuration and state, metrics, gradient clipping, the learning rate in use, the optimizer step
and epoch counters, and the shuffling/dropout generator states.

It is stored in a safetensors file as the ``training`` metadata value (JSON) and one float32
tensor ``optimizer.<state name>`` of shape (num_params,) per optimizer state buffer (PyTorch's
state names). Restoring all of it makes training continue bit for bit as if it had never stopped.
Schedules (``compile(lr_schedule=...)``) are not part of it: pass them again after loading.

Everything read from a file is checked here with messages naming the field; the caller turns
``ValueError`` into its own "cannot load" error.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Dict, List, Tuple

from . import losses as _losses
from . import optim as _optim

if TYPE_CHECKING:
    from .model import Sequential

KEY = "training"
TENSOR_PREFIX = "optimizer."
_OPTIMIZERS = {cls.__name__: cls for cls in (_optim.SGD, _optim.Adam, _optim.AdamW, _optim.RMSprop, _optim.Adagrad)}
_LOSSES = {cls.name: cls for cls in (_losses.MSE, _losses.MAE, _losses.Huber, _losses.CrossEntropy,
                                      _losses.BinaryCrossEntropy)}
_FIELDS = ("loss", "optimizer", "metrics", "clip", "learning_rate", "step", "epoch", "rng")


def state_names(optimizer: _optim.Optimizer) -> List[str]:
    """The state buffers the core allocates for `optimizer`, by PyTorch's names, sorted."""
    if isinstance(optimizer, _optim.SGD):
        names = ["momentum_buffer"] if optimizer.momentum > 0.0 else []
    elif isinstance(optimizer, _optim.Adam):  # AdamW included
        names = ["exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if optimizer.amsgrad else [])
    elif isinstance(optimizer, _optim.RMSprop):
        names = ["square_avg"] + (["momentum_buffer"] if optimizer.momentum > 0.0 else [])
        names += ["grad_avg"] if optimizer.centered else []
    elif isinstance(optimizer, _optim.Adagrad):
        names = ["sum"]
    else:  # pragma: no cover - every optimizer class is listed above
        raise TypeError(f"no checkpoint support for {type(optimizer).__name__}")
    return sorted(names)


def _plain(value: Any) -> Any:
    """JSON-friendly copy of an optimizer or loss attribute (tuples become lists)."""
    return list(value) if isinstance(value, tuple) else value


def capture(model: "Sequential") -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """(JSON-friendly training state, {tensor name: float32 (num_params,) array}) of a compiled,
    built model."""
    assert model._net is not None and model._loss is not None and model._optimizer is not None
    state = model.optimizer_state()
    step = int(state.pop("step"))
    training = {
        "loss": {"name": model._loss.name, **{k: _plain(v) for k, v in vars(model._loss).items()}},
        "optimizer": {"name": type(model._optimizer).__name__,
                      **{k: _plain(v) for k, v in model._optimizer.get_config().items()}},
        "metrics": list(model._metrics),
        "clip": [float(model._clip[0]), float(model._clip[1])],
        "learning_rate": float(model.learning_rate),
        "step": step,
        "epoch": int(model.epoch),
        # uint64 words as hex strings: JSON readers differ on integers above 2**53
        "rng": [f"{w:016x}" for w in model._net.rng_state()],
    }
    return training, {TENSOR_PREFIX + name: array for name, array in state.items()}


def _object(what: str, value: Any) -> Dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object, got {type(value).__name__}")
    return value


def _count(what: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**62:
        raise ValueError(f"{what} must be an integer in [0, 2**62), got {value!r}")
    return value


def parse(training: Any) -> Tuple[_losses.Loss, _optim.Optimizer, Dict[str, Any]]:
    """Checks the JSON training state; returns (loss, optimizer, the other fields). Raises
    ValueError naming the field for anything malformed."""
    training = _object("the training state", training)
    missing = [k for k in _FIELDS if k not in training]
    extra = sorted(set(training) - set(_FIELDS))
    if missing or extra:
        raise ValueError(f"the training state lacks {missing} / has unknown keys {extra}")
    loss_config = dict(_object("training.loss", training["loss"]))
    loss_cls = _LOSSES.get(str(loss_config.pop("name", "")))
    if loss_cls is None:
        raise ValueError(f"training.loss.name must be one of {sorted(_LOSSES)}")
    opt_config = dict(_object("training.optimizer", training["optimizer"]))
    opt_cls = _OPTIMIZERS.get(str(opt_config.pop("name", "")))
    if opt_cls is None:
        raise ValueError(f"training.optimizer.name must be one of {sorted(_OPTIMIZERS)}")
    try:  # the constructors validate every hyperparameter and reject unknown ones
        loss = loss_cls(**loss_config)
        optimizer = opt_cls(**opt_config)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"training.loss/optimizer: {exc}") from None
    metrics = training["metrics"]
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise ValueError(f"training.metrics must be a list of names, got {metrics!r}")
    clip = training["clip"]
    if (not isinstance(clip, list) or len(clip) != 2
            or not all(isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c) and c >= 0
                       for c in clip)):
        raise ValueError(f"training.clip must be [clip_norm, clip_value], finite numbers >= 0, got {clip!r}")
    lr = training["learning_rate"]
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (math.isfinite(lr) and lr >= 0):
        raise ValueError(f"training.learning_rate must be a finite number >= 0, got {lr!r}")
    rng = training["rng"]
    if (not isinstance(rng, list) or len(rng) != 8
            or not all(isinstance(w, str) and len(w) == 16 and all(c in "0123456789abcdef" for c in w) for w in rng)):
        raise ValueError("training.rng must be 8 generator words of 16 lowercase hex digits")
    words = [int(w, 16) for w in rng]
    if not any(words[:4]) or not any(words[4:]):
        raise ValueError("training.rng: a generator state must not be all zeros")
    rest = {
        "metrics": metrics,
        "clip": (float(clip[0]), float(clip[1])),
        "learning_rate": float(lr),
        "step": _count("training.step", training["step"]),
        "epoch": _count("training.epoch", training["epoch"]),
        "rng": words,
    }
    return loss, optimizer, rest


def restore(model: "Sequential", loss: _losses.Loss, optimizer: _optim.Optimizer, rest: Dict[str, Any],
            tensors: Dict[str, Any]) -> None:
    """Compiles `model` as it was and puts back the optimizer state, counters and generators."""
    clip_norm, clip_value = rest["clip"]
    try:
        model.compile(loss=loss, optimizer=optimizer, metrics=rest["metrics"],
                      clip_norm=clip_norm or None, clip_value=clip_value or None)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"training state: {exc}") from None
    model.learning_rate = rest["learning_rate"]
    state: Dict[str, Any] = {name[len(TENSOR_PREFIX):]: array for name, array in tensors.items()}
    state["step"] = rest["step"]
    model.set_optimizer_state(state)
    assert model._net is not None
    model._net.set_rng_state(rest["rng"])
    model._epoch = rest["epoch"]
