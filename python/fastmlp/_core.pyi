"""Type stubs for fastmlp's compiled core (private; use the fastmlp package)."""

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

def get_isa() -> str: ...
def get_num_threads() -> int: ...
def set_num_threads(n: int) -> None: ...
def all_finite(a: npt.NDArray[np.float32]) -> bool: ...
def matmul(
    a: npt.NDArray[np.float32], b: npt.NDArray[np.float32], out: Optional[npt.NDArray[np.float32]] = None
) -> npt.NDArray[np.float32]: ...
def gemm(
    a: npt.NDArray[np.float32],
    b: npt.NDArray[np.float32],
    c: npt.NDArray[np.float32],
    alpha: float = 1.0,
    beta: float = 0.0,
    trans_a: bool = False,
    trans_b: bool = False,
) -> None: ...
def gemm_fused(
    a: npt.NDArray[np.float32],
    b: npt.NDArray[np.float32],
    c: npt.NDArray[np.float32],
    bias: Optional[npt.NDArray[np.float32]] = None,
    relu: bool = False,
    trans_a: bool = False,
    trans_b: bool = False,
) -> None: ...
def gemm_reference(
    a: npt.NDArray[np.float32],
    b: npt.NDArray[np.float32],
    c: npt.NDArray[np.float32],
    alpha: float = 1.0,
    beta: float = 0.0,
    trans_a: bool = False,
    trans_b: bool = False,
) -> None: ...
def dense_forward(
    x: npt.ArrayLike, w: npt.ArrayLike, b: npt.ArrayLike, activation: str, params: Dict[str, float] = ...
) -> npt.NDArray[np.float32]: ...
def dense_backward(
    x: npt.ArrayLike,
    w: npt.ArrayLike,
    y: npt.ArrayLike,
    dy: npt.ArrayLike,
    activation: str,
    need_dx: bool = True,
    params: Dict[str, float] = ...,
    z: Optional[npt.ArrayLike] = None,
) -> Tuple[Optional[npt.NDArray[np.float32]], npt.NDArray[np.float32], npt.NDArray[np.float32]]: ...
def activation_forward(name: str, x: npt.ArrayLike, params: Dict[str, float] = ...) -> npt.NDArray[np.float32]: ...
def activation_backward(
    name: str, y: npt.ArrayLike, dy: npt.ArrayLike, x: Optional[npt.ArrayLike] = None, params: Dict[str, float] = ...
) -> npt.NDArray[np.float32]: ...
def loss(
    name: str,
    pred: npt.ArrayLike,
    target: npt.ArrayLike,
    sample_weight: Optional[npt.ArrayLike] = None,
    class_weight: Optional[npt.ArrayLike] = None,
    huber_delta: float = 1.0,
    label_smoothing: float = 0.0,
) -> Tuple[float, npt.NDArray[np.float32]]: ...

class LayerSpec:
    def __init__(
        self,
        kind: str,
        *,
        units: int = 0,
        activation: str = "identity",
        activation_params: Dict[str, float] = ...,
        kernel_init: str = "default",
        bias_init: str = "default",
        rate: float = 0.0,
        l1: float = 0.0,
        l2: float = 0.0,
        eps: float = 1e-5,
        momentum: Optional[float] = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None: ...
    @property
    def kind(self) -> str: ...
    @property
    def units(self) -> int: ...
    @property
    def rate(self) -> float: ...
    @property
    def l1(self) -> float: ...
    @property
    def l2(self) -> float: ...
    @property
    def eps(self) -> float: ...
    @property
    def momentum(self) -> Optional[float]: ...
    @property
    def affine(self) -> bool: ...
    @property
    def track_running_stats(self) -> bool: ...

class CsrMatrix:
    """Sparse X for the Network calls: CSR arrays checked once, kept alive."""
    def __init__(
        self,
        indptr: npt.NDArray[np.int64],
        indices: npt.NDArray[np.int32],
        values: npt.NDArray[np.float32],
        n_cols: int,
    ) -> None: ...
    @property
    def shape(self) -> Tuple[int, int]: ...
    @property
    def nnz(self) -> int: ...

#: X of a Network call: a dense float32 (n, input_dim) array or a CsrMatrix of input_dim columns.
Inputs = Union[npt.NDArray[np.float32], CsrMatrix]

class Network:
    def __init__(self, input_dim: int, specs: List[LayerSpec], seed: int) -> None: ...
    @property
    def input_dim(self) -> int: ...
    @property
    def output_dim(self) -> int: ...
    @property
    def num_params(self) -> int: ...
    def set_loss(self, name: str, huber_delta: float = 1.0, label_smoothing: float = 0.0) -> None: ...
    def set_sgd(self, lr: float, momentum: float, dampening: float, weight_decay: float, nesterov: bool) -> None: ...
    def set_adam(
        self,
        lr: float,
        beta1: float,
        beta2: float,
        eps: float,
        weight_decay: float,
        amsgrad: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None: ...
    def set_rmsprop(
        self, lr: float, alpha: float, eps: float, weight_decay: float, momentum: float, centered: bool
    ) -> None: ...
    def set_adagrad(
        self, lr: float, lr_decay: float, weight_decay: float, initial_accumulator_value: float, eps: float
    ) -> None: ...
    @property
    def learning_rate(self) -> float: ...
    def set_learning_rate(self, lr: float) -> None: ...
    @property
    def has_momentum(self) -> bool: ...
    def set_momentum(self, momentum: float) -> None: ...
    def set_gradient_clipping(self, clip_norm: float, clip_value: float) -> None: ...
    def optimizer_state(self) -> Dict[str, Any]: ...
    def set_optimizer_state(self, state: Dict[str, Any]) -> None: ...
    def parameters(self) -> List[npt.NDArray[np.float32]]: ...
    def gradients(self) -> List[npt.NDArray[np.float32]]: ...
    def buffers(self) -> List[npt.NDArray[Any]]: ...  # float32 statistics, 0-d int64 num_batches_tracked
    def train_step(
        self,
        x: Inputs,
        y: npt.NDArray[Any],
        sample_weight: Optional[npt.NDArray[np.float32]] = None,
        class_weight: Optional[npt.NDArray[np.float32]] = None,
    ) -> Dict[str, Union[int, float]]: ...
    def train_epoch(
        self,
        x: Inputs,
        y: npt.NDArray[Any],
        batch_size: int,
        shuffle: bool,
        sample_weight: Optional[npt.NDArray[np.float32]] = None,
        class_weight: Optional[npt.NDArray[np.float32]] = None,
        lrs: Optional[npt.NDArray[np.float32]] = None,
        momenta: Optional[npt.NDArray[np.float32]] = None,
        progress: Optional[Callable[[int, float], None]] = None,
    ) -> Dict[str, Union[int, float]]: ...
    def rng_state(self) -> List[int]: ...
    def set_rng_state(self, state: Sequence[int]) -> None: ...
    def compute_gradients(
        self, x: Inputs, y: npt.NDArray[Any], sample_weight: Optional[npt.NDArray[np.float32]] = None
    ) -> Dict[str, Union[int, float]]: ...
    def predict(self, x: Inputs) -> npt.NDArray[np.float32]: ...
    def evaluate(
        self,
        x: Inputs,
        y: npt.NDArray[Any],
        sample_weight: Optional[npt.NDArray[np.float32]] = None,
        class_weight: Optional[npt.NDArray[np.float32]] = None,
    ) -> Dict[str, Union[int, float]]: ...
