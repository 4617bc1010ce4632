"""Weight initialisers for ``fm.Dense(kernel_init=..., bias_init=...)``.

Every draw comes from the model's seeded generator (in C++), layer by layer, so the same seed gives
the same weights. ``fan_in`` is the layer's input width and ``fan_out`` its units.

=====================================  ======================================================
``kernel_init``                        distribution of W (units, in)
=====================================  ======================================================
``None`` / ``"default"``               uniform ±1/√fan_in (``torch.nn.Linear``)
``"glorot_uniform"``, ``"xavier_uniform"``  uniform ±√(6/(fan_in+fan_out)) (``xavier_uniform_``)
``"glorot_normal"``, ``"xavier_normal"``    normal, std √(2/(fan_in+fan_out)) (``xavier_normal_``)
``"he_uniform"``, ``"kaiming_uniform"``     uniform ±√(6/fan_in) (``kaiming_uniform_``, ReLU gain)
``"he_normal"``, ``"kaiming_normal"``       normal, std √(2/fan_in) (``kaiming_normal_``, ReLU gain)
``"lecun_normal"``                     normal truncated at ±2σ with std √(1/fan_in) (Keras; for SELU)
``"orthogonal"``                       a (semi-)orthogonal matrix (``orthogonal_``, gain 1)
``"zeros"``                            all zeros
=====================================  ======================================================

``bias_init`` is ``None``/``"default"`` (uniform ±1/√fan_in, as ``torch.nn.Linear``) or ``"zeros"``
(Keras's default).
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

__all__ = ["KERNEL_INITS", "BIAS_INITS", "kernel_init_name", "bias_init_name", "orthogonalize"]

KERNEL_INITS = (
    "default",
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_normal",
    "orthogonal",
    "zeros",
)
BIAS_INITS = ("default", "zeros")
_ALIASES = {
    "xavier_uniform": "glorot_uniform",
    "xavier_normal": "glorot_normal",
    "kaiming_uniform": "he_uniform",
    "kaiming_normal": "he_normal",
    "zero": "zeros",
}


def _canonical(argument: str, value: Optional[str], choices: Tuple[str, ...]) -> str:
    from ._validation import not_an_instance_error, unknown_name_error

    if value is None:
        return "default"
    if not isinstance(value, str):
        raise not_an_instance_error(argument, value, "an initialiser name such as 'he_normal', or None")
    key = value.lower()
    key = _ALIASES.get(key, key)
    if key not in choices:
        names = choices + tuple(a for a, target in _ALIASES.items() if target in choices)
        raise unknown_name_error(argument, value, names)
    return key


def kernel_init_name(value: Optional[str]) -> str:
    """The canonical name of a ``kernel_init`` argument; ValueError (with a suggestion) if unknown."""
    return _canonical("kernel_init", value, KERNEL_INITS)


def bias_init_name(value: Optional[str]) -> str:
    """The canonical name of a ``bias_init`` argument; ValueError (with a suggestion) if unknown."""
    return _canonical("bias_init", value, BIAS_INITS)


def orthogonalize(weight: np.ndarray) -> None:
    """Turns ``weight`` (units, in) float32, filled with standard normals, into the orthogonal
    matrix ``torch.nn.init.orthogonal_`` makes from them, in place: Q of the QR factorisation
    (of the transpose when units < in), with columns signed so that R's diagonal is positive.
    Done in float64 by LAPACK; rows (or columns) come out orthonormal to float32 precision."""
    rows, cols = weight.shape
    a = weight.astype(np.float64)
    if rows < cols:
        a = a.T
    q, r = np.linalg.qr(a)
    q *= np.where(np.diag(r) < 0, -1.0, 1.0)
    weight[...] = q.T if rows < cols else q
