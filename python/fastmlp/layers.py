"""Layers of a Sequential model. They are descriptions: the C++ core owns the weights."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Sequence, Union

from . import activations as _activations
from . import initializers as _initializers
from ._validation import positive_int, real_number

__all__ = ["Layer", "Dense", "Dropout", "from_config", "check_layer_order"]


class Layer:
    """Base class of layers."""

    def get_config(self) -> Dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _core_spec(self) -> tuple:  # pragma: no cover - abstract
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
    """

    def __init__(
        self,
        units: int,
        activation: Union[str, _activations.Activation, Mapping[str, Any], None] = None,
        kernel_init: Optional[str] = None,
        bias_init: Optional[str] = None,
    ) -> None:
        self.units = positive_int("units", units)
        self.activation = _activations.get(activation)
        self.kernel_init = _initializers.kernel_init_name(kernel_init)
        self.bias_init = _initializers.bias_init_name(bias_init)

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
        return config

    def _core_spec(self) -> tuple:
        return ("dense", self.units, self.activation.name, self.kernel_init, self.bias_init,
                self.activation._params())


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

    def _core_spec(self) -> tuple:
        return ("dropout", self.rate)


def check_layer_order(layers: Sequence[Layer]) -> None:
    """ValueError, naming the layer, for a softmax activation anywhere but on the last layer."""
    for i, layer in enumerate(layers):
        if isinstance(layer, Dense) and layer.activation.name == "softmax" and i != len(layers) - 1:
            raise ValueError(
                f"layers[{i}] (Dense({layer.units}, activation='softmax')): softmax is only allowed on the last "
                f"layer, the model's output, and {len(layers) - 1 - i} layer(s) follow it"
            )


def from_config(config: Dict[str, Any]) -> Layer:
    """Rebuilds a layer from its get_config() dictionary."""
    kind = config.get("type")
    if kind == "Dense":
        return Dense(
            config["units"],
            activation=config.get("activation"),
            kernel_init=config.get("kernel_init"),
            bias_init=config.get("bias_init"),
        )
    if kind == "Dropout":
        return Dropout(config["rate"])
    raise ValueError(f"unknown layer type {kind!r} in the model configuration")
