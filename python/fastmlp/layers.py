"""Layers of a Sequential model. They are descriptions: the C++ core owns the weights."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union


from . import _core
from . import activations as _activations
from . import initializers as _initializers
from . import regularizers as _regularizers
from ._validation import check_bool, positive_float32, positive_int, real_number

__all__ = ["Layer", "Dense", "Dropout", "LayerNorm", "BatchNorm", "from_config", "check_layer_order"]


class Layer:
    """Base class of layers."""

    def get_config(self) -> Dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _core_spec(self) -> _core.LayerSpec:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "type")
        return f"{type(self).__name__}({args})"


class Dense(Layer):
    """Fully connected layer: ``y = activation(x @ W.T + b)``.

    Input (batch, in) float32, output (batch, units) float32. W has shape (units, in) and b (units,),
    PyTorch's layout. By default both are initialised as ``torch.nn.Linear`` (uniform in ±1/sqrt(in))
    from the model seed; ``kernel_init`` and ``bias_init`` choose another initialiser by name (see
    ``fm.initializers``: glorot/xavier, he/kaiming, lecun_normal, orthogonal, zeros).
    ``kernel_regularizer`` (``fm.regularizers.L1/L2/L1L2`` or ``"l1"``, ``"l2"``, ``"l1_l2"``) adds a
    penalty on W to the loss and its gradient to W's, as Keras.
    """

    def __init__(
        self,
        units: int,
        activation: Union[str, _activations.Activation, Mapping[str, Any], None] = None,
        kernel_init: Optional[str] = None,
        bias_init: Optional[str] = None,
        kernel_regularizer: Union[str, _regularizers.Regularizer, None] = None,
    ) -> None:
        self.units = positive_int("units", units)
        self.activation = _activations.get(activation)
        self.kernel_init = _initializers.kernel_init_name(kernel_init)
        self.bias_init = _initializers.bias_init_name(bias_init)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)

    def get_config(self) -> Dict[str, Any]:
        config: Dict[str, Any] = {
            "type": "Dense",
            "units": self.units,
            "activation": _activations.to_config(self.activation),
        }
        # Written only when not the default, so files of models without them are unchanged.
        if self.kernel_init != "default":
            config["kernel_init"] = self.kernel_init
        if self.bias_init != "default":
            config["bias_init"] = self.bias_init
        if self.kernel_regularizer is not None:
            config["kernel_regularizer"] = self.kernel_regularizer.get_config()
        return config

    def _core_spec(self) -> _core.LayerSpec:
        penalty = self.kernel_regularizer
        return _core.LayerSpec(
            "dense", units=self.units, activation=self.activation.name, activation_params=self.activation._params(),
            kernel_init=self.kernel_init, bias_init=self.bias_init,
            l1=0.0 if penalty is None else penalty.l1, l2=0.0 if penalty is None else penalty.l2,
        )


class Dropout(Layer):
    """Inverted dropout: while training, zeroes each value with probability ``rate`` and scales the
    rest by 1/(1-rate); the identity in predict and evaluate. Masks come from the model's seed."""

    def __init__(self, rate: float) -> None:
        rate = real_number("rate", rate)
        if not 0.0 <= rate < 1.0:  # also rejects NaN
            raise ValueError(f"rate must be in [0, 1), got {rate}")
        self.rate = rate

    def get_config(self) -> Dict[str, Any]:
        return {"type": "Dropout", "rate": self.rate}

    def _core_spec(self) -> _core.LayerSpec:
        return _core.LayerSpec("dropout", rate=self.rate)


def check_layer_order(layers: Sequence[Layer]) -> None:
    """ValueError, naming the layer, for a softmax activation anywhere but on the last layer."""
    for i, layer in enumerate(layers):
        if isinstance(layer, Dense) and layer.activation.name == "softmax" and i != len(layers) - 1:
            raise ValueError(
                f"layers[{i}] (Dense({layer.units}, activation='softmax')): softmax is only allowed on the last "
                f"layer, the model's output, and {len(layers) - 1 - i} layer(s) follow it"
            )


def _check_eps(eps: Any) -> float:
    return positive_float32("eps", eps)


class LayerNorm(Layer):
    """Layer normalisation over the features of each sample, as ``torch.nn.LayerNorm(features)``:
    ``y = (x - mean) / sqrt(var + eps) * gamma + beta`` with the mean and biased variance of each
    row. Input and output (batch, features) float32; the same in training and inference.
    gamma (features,) starts at 1 and beta (features,) at 0; with ``elementwise_affine=False``
    there are none. They are trainable parameters, after the previous layer's in ``parameters()``.
    """

    def __init__(self, eps: float = 1e-5, elementwise_affine: bool = True) -> None:
        self.eps = _check_eps(eps)
        self.elementwise_affine = check_bool("elementwise_affine", elementwise_affine)

    def get_config(self) -> Dict[str, Any]:
        return {"type": "LayerNorm", "eps": self.eps, "elementwise_affine": self.elementwise_affine}

    def _core_spec(self) -> _core.LayerSpec:
        return _core.LayerSpec("layer_norm", eps=self.eps, affine=self.elementwise_affine)


class BatchNorm(Layer):
    """Batch normalisation of each feature, as ``torch.nn.BatchNorm1d(features)``.

    Input and output (batch, features) float32. In training (``fit``, ``train_step``) each feature
    is normalised with the batch's mean and biased variance, ``y = (x - mean) / sqrt(var + eps) *
    gamma + beta``, and the running statistics move toward the batch's:
    ``running = (1 - momentum) * running + momentum * batch`` (the variance unbiased); a batch of one
    sample raises ValueError, as PyTorch. In ``predict``/``evaluate`` the running statistics are
    used (with ``track_running_stats=False``, the statistics of all of X). gamma/beta (features,)
    start at 1/0 and are trainable parameters (none when ``affine=False``); running_mean (0) and
    running_var (1) are non-trainable buffers in ``model.buffers()``, saved with the model. A step
    that diverges leaves them unchanged, like the weights.
    """

    def __init__(
        self, momentum: float = 0.1, eps: float = 1e-5, affine: bool = True, track_running_stats: bool = True
    ) -> None:
        momentum = real_number("momentum", momentum)
        if not 0.0 <= momentum <= 1.0:  # also rejects NaN
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        self.momentum = momentum
        self.eps = _check_eps(eps)
        self.affine = check_bool("affine", affine)
        self.track_running_stats = check_bool("track_running_stats", track_running_stats)

    def get_config(self) -> Dict[str, Any]:
        return {
            "type": "BatchNorm",
            "momentum": self.momentum,
            "eps": self.eps,
            "affine": self.affine,
            "track_running_stats": self.track_running_stats,
        }

    def _core_spec(self) -> _core.LayerSpec:
        return _core.LayerSpec(
            "batch_norm", momentum=self.momentum, eps=self.eps, affine=self.affine,
            track_running_stats=self.track_running_stats,
        )


def from_config(config: Dict[str, Any]) -> Layer:
    """Rebuilds a layer from its get_config() dictionary."""
    kind = config.get("type")
    if kind == "Dense":
        regularizer = config.get("kernel_regularizer")
        return Dense(
            config["units"],
            activation=config.get("activation"),
            kernel_init=config.get("kernel_init"),
            bias_init=config.get("bias_init"),
            kernel_regularizer=None if regularizer is None else _regularizers.from_config(regularizer),
        )
    if kind == "Dropout":
        return Dropout(config["rate"])
    if kind == "LayerNorm":
        return LayerNorm(eps=config["eps"], elementwise_affine=config["elementwise_affine"])
    if kind == "BatchNorm":
        return BatchNorm(
            momentum=config["momentum"], eps=config["eps"], affine=config["affine"],
            track_running_stats=config["track_running_stats"],
        )
    raise ValueError(f"unknown layer type {kind!r} in the model configuration")
