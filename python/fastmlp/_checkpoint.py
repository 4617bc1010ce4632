"""The training state a checkpoint holds besides the architecture and weights: what
``Sequential.training_state()`` returns (loss, optimizer configuration and state, metrics, gradient
clipping, the learning-rate schedule and its progress, the learning rate in use, the optimizer step
and epoch counters, and the shuffling/dropout generator states), written as JSON.

It is stored in a safetensors file as the ``training`` metadata value (JSON) and one float32
tensor ``optimizer.<state name>`` of shape (num_params,) per optimizer state buffer (PyTorch's
state names). Restoring all of it makes training continue bit for bit as if it had never stopped.

The JSON object has the keys ``loss`` and ``optimizer`` (``{"name": ..., <constructor arguments>}``),
``metrics`` (canonical names), ``clip`` (``[clip_norm, clip_value]``, 0 = off),
``learning_rate``, ``step``, ``epoch``, ``rng`` (8 generator words as 16 hex digits each) and,
only for a model compiled with ``lr_schedule``, ``lr_schedule``:
``{"type": class name, "config": get_config(), "state": state_dict()}`` (non-finite floats of the
state, such as ReduceLROnPlateau's initial ``best``, as the strings "inf" / "-inf"). Files without
``lr_schedule`` (no schedule, or written before schedules were saved) load as before.

Everything read from a file is checked here with messages naming the field, before any model is
allocated. ``parse`` and ``parse_compile_settings`` raise only ValueError (a shared validator's
TypeError, e.g. for a list where an object belongs, is turned into one): the caller turns it into
its own "cannot load" error.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

import numpy as np

from . import _compiled_metrics
from . import losses as _losses
from . import optim as _optim
from . import schedules as _schedules
from ._validation import (
    check_keys,
    check_mapping,
    hex_word,
    json_list,
    non_negative_float32,
    non_negative_int,
    one_of,
)

if TYPE_CHECKING:
    from .model import CompileSettings, Sequential, TrainingState

KEY = "training"
TENSOR_PREFIX = "optimizer."
_OPTIMIZERS = {cls.__name__: cls for cls in (_optim.SGD, _optim.Adam, _optim.AdamW, _optim.RMSprop, _optim.Adagrad)}
_LOSSES = {cls.name: cls for cls in (_losses.MSE, _losses.MAE, _losses.Huber, _losses.Poisson,
                                      _losses.CrossEntropy, _losses.BinaryCrossEntropy)}
_SCHEDULES = {cls.__name__: cls for cls in (_schedules.StepLR, _schedules.MultiStepLR, _schedules.ExponentialLR,
                                            _schedules.CosineAnnealingLR, _schedules.OneCycleLR,
                                            _schedules.ReduceLROnPlateau)}
_COMPILE_FIELDS = ("loss", "optimizer", "metrics", "clip")
_PROGRESS_FIELDS = ("learning_rate", "step", "epoch", "rng")
_OPTIONAL_FIELDS = ("lr_schedule",)
_MAX_COUNT = 2**62
_NON_FINITE = {"inf": math.inf, "-inf": -math.inf}


def state_names(optimizer: _optim.Optimizer) -> List[str]:
    """The state buffers the core allocates for `optimizer`, by PyTorch's names, sorted."""
    momentum = ["momentum_buffer"] if optimizer.has_momentum else []
    if isinstance(optimizer, _optim.SGD):
        names = momentum
    elif isinstance(optimizer, _optim.Adam):  # AdamW included
        names = ["exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if optimizer.amsgrad else [])
    elif isinstance(optimizer, _optim.RMSprop):
        names = ["square_avg"] + momentum + (["grad_avg"] if optimizer.centered else [])
    elif isinstance(optimizer, _optim.Adagrad):
        names = ["sum"]
    else:  # pragma: no cover - every optimizer class is listed above
        raise TypeError(f"no checkpoint support for {type(optimizer).__name__}")
    return sorted(names)


# ------------------------------------------------------------------------------ writing
def _plain(value: Any) -> Any:
    """JSON-friendly copy of an optimizer, loss or schedule attribute (tuples become lists,
    non-finite floats the strings "inf" / "-inf")."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _schedule_json(schedule: _schedules.LRSchedule) -> Dict[str, Any]:
    if _SCHEDULES.get(type(schedule).__name__) is not type(schedule):
        raise ValueError(
            f"the learning-rate schedule {type(schedule).__name__} cannot be saved (checkpoints hold the "
            f"fm.schedules classes {sorted(_SCHEDULES)}): compile without lr_schedule and pass it to "
            "fit(callbacks=[...]) instead"
        )
    return {
        "type": type(schedule).__name__,
        "config": {k: _plain(v) for k, v in schedule.get_config().items()},
        "state": {k: _plain(v) for k, v in schedule.state_dict().items()},
    }


def compile_settings_json(settings: "CompileSettings") -> Dict[str, Any]:
    """The JSON-friendly form of what ``compile`` was given (the first keys of the training state)."""
    loss, optimizer = settings["loss"], settings["optimizer"]
    out: Dict[str, Any] = {
        "loss": {"name": loss.name, **{k: _plain(v) for k, v in vars(loss).items()}},
        "optimizer": {"name": type(optimizer).__name__,
                      **{k: _plain(v) for k, v in optimizer.get_config().items()}},
        "metrics": list(settings["metrics"]),
        "clip": [float(settings["clip_norm"] or 0.0), float(settings["clip_value"] or 0.0)],
    }
    if settings["lr_schedule"] is not None:
        out["lr_schedule"] = _schedule_json(settings["lr_schedule"])
    return out


def capture(model: "Sequential") -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
    """(JSON-friendly training state, {tensor name: float32 (num_params,) array}) of a compiled,
    built model. ValueError for a schedule that checkpoints cannot hold."""
    state = model.training_state()
    buffers = dict(state["optimizer_state"])
    step = int(buffers.pop("step"))
    training = compile_settings_json(state)
    training.update({
        "learning_rate": float(state["learning_rate"]),
        "step": step,
        "epoch": int(state["epoch"]),
        # uint64 words as hex strings: JSON readers differ on integers above 2**53
        "rng": [f"{w:016x}" for w in state["rng_state"]],
    })
    return training, {TENSOR_PREFIX + name: array for name, array in buffers.items()}


# ------------------------------------------------------------------------------ reading
def _count(what: str, value: Any) -> int:
    return non_negative_int(what, value, below=_MAX_COUNT, below_text="2**62")


def _configured(what: str, classes: Dict[str, Any], config: Any, name_key: str) -> Any:
    """An instance of ``classes[config[name_key]]`` built from the other keys of `config` (the
    constructors validate every argument and reject unknown ones)."""
    config = dict(check_mapping(what, config))
    cls = classes[one_of(f"{what}.{name_key}", config.pop(name_key, None), sorted(classes))]
    try:
        return cls(**config)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what}: {exc}") from None


def _parse_schedule(value: Any) -> _schedules.LRSchedule:
    what = "training.lr_schedule"
    obj = check_keys(what, value, ("type", "config", "state"))
    config = check_mapping(f"{what}.config", obj["config"])
    schedule: _schedules.LRSchedule = _configured(what, _SCHEDULES, {**config, "type": obj["type"]}, "type")
    state = {k: _NON_FINITE.get(v, v) if isinstance(v, str) else v
             for k, v in check_mapping(f"{what}.state", obj["state"]).items()}
    try:
        schedule.load_state_dict(state)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what}.state: {exc}") from None
    return schedule


def _parse_metrics(value: Any, loss: _losses.Loss) -> List[str]:
    metrics = json_list("training.metrics", value)
    try:
        # files written before compile refused class metrics under binary_cross_entropy still load
        return _compiled_metrics.resolve(metrics, loss.classification, loss.name,
                                         class_metrics_need_cross_entropy=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"training.metrics: {exc}") from None


def _parse_clip(value: Any) -> Tuple[Optional[float], Optional[float]]:
    clip = json_list("training.clip", value, 2)
    norm, limit = (non_negative_float32(f"training.clip[{i}]", c) for i, c in enumerate(clip))
    return norm or None, limit or None


def parse_compile_settings(training: Any, progress: bool = False) -> "CompileSettings":
    """Checks what ``compile_settings_json`` wrote (with `progress`, the keys ``capture`` adds must
    be there too, and are left to the caller); returns ``compile``'s keyword arguments. Raises
    ValueError naming the field for anything malformed."""
    required = _COMPILE_FIELDS + (_PROGRESS_FIELDS if progress else ())
    try:
        training = check_keys("the training state", training, required, _OPTIONAL_FIELDS)
        loss: _losses.Loss = _configured("training.loss", _LOSSES, training["loss"], "name")
        optimizer: _optim.Optimizer = _configured("training.optimizer", _OPTIMIZERS, training["optimizer"], "name")
        metrics = _parse_metrics(training["metrics"], loss)
        clip_norm, clip_value = _parse_clip(training["clip"])
        schedule = _parse_schedule(training["lr_schedule"]) if "lr_schedule" in training else None
    except TypeError as exc:  # a value of the wrong JSON type: malformed, as any other
        raise ValueError(str(exc)) from None
    return {"loss": loss, "optimizer": optimizer, "metrics": metrics, "lr_schedule": schedule,
            "clip_norm": clip_norm, "clip_value": clip_value}


def parse(training: Any) -> Tuple[_losses.Loss, _optim.Optimizer, Dict[str, Any]]:
    """Checks the JSON training state; returns (loss, optimizer, the other fields). Raises
    ValueError naming the field for anything malformed."""
    settings = parse_compile_settings(training, progress=True)
    try:
        rng = [hex_word(f"training.rng[{i}]", w, 16)
               for i, w in enumerate(json_list("training.rng", training["rng"], 8))]
        rest = {
            "metrics": settings["metrics"],
            "lr_schedule": settings["lr_schedule"],
            "clip": (settings["clip_norm"], settings["clip_value"]),
            "learning_rate": non_negative_float32("training.learning_rate", training["learning_rate"]),
            "step": _count("training.step", training["step"]),
            "epoch": _count("training.epoch", training["epoch"]),
            "rng": rng,
        }
    except TypeError as exc:
        raise ValueError(str(exc)) from None
    if not any(rng[:4]) or not any(rng[4:]):
        raise ValueError("training.rng: a generator state must not be all zeros")
    return settings["loss"], settings["optimizer"], rest


def restore(model: "Sequential", loss: _losses.Loss, optimizer: _optim.Optimizer, rest: Dict[str, Any],
            tensors: Dict[str, Any]) -> None:
    """Puts back what ``parse`` returned, with the optimizer-state tensors: compiles `model` as it
    was and restores the optimizer state, counters, generators and schedule."""
    buffers: Dict[str, Any] = {name[len(TENSOR_PREFIX):]: array for name, array in tensors.items()}
    state: "TrainingState" = {
        "loss": loss,
        "optimizer": optimizer,
        "metrics": rest["metrics"],
        "lr_schedule": rest["lr_schedule"],
        "clip_norm": rest["clip"][0],
        "clip_value": rest["clip"][1],
        "learning_rate": rest["learning_rate"],
        "optimizer_state": {**buffers, "step": rest["step"]},
        "epoch": rest["epoch"],
        "rng_state": rest["rng"],
    }
    try:
        model.set_training_state(state)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"training state: {exc}") from None
