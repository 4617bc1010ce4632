"""Independent float64 NumPy oracle for fastmlp's tests.

Everything here is written from the math alone and never imports fastmlp: activations and their
derivatives, dense layers, the MSE and (log-sum-exp stable) softmax cross-entropy losses, a whole
MLP forward/backward pass, PyTorch-semantics SGD and Adam updates, and a GEMM. Inputs of any dtype
are promoted to float64; results are float64.
"""

from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import numpy as np

ACTIVATIONS = ("relu", "sigmoid", "tanh", "identity")

Layer = Tuple[np.ndarray, np.ndarray, Optional[str]]  # (W (out, in), b (out,), activation)


def f64(x) -> np.ndarray:
    return np.array(x, dtype=np.float64, copy=True)


# --------------------------------------------------------------------------- activations
def _canonical(name: Optional[str]) -> str:
    if name is None:
        return "identity"
    if name not in ACTIVATIONS:
        raise ValueError(f"reference: unknown activation {name!r}")
    return name


def activation_forward(name: Optional[str], x) -> np.ndarray:
    name = _canonical(name)
    x = f64(x)
    if name == "identity":
        return x
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "tanh":
        return np.tanh(x)
    # sigmoid, evaluated without overflow for large |x|
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def activation_backward(name: Optional[str], y, dy) -> np.ndarray:
    """dL/dx given the activation *output* y and dL/dy."""
    name = _canonical(name)
    y, dy = f64(y), f64(dy)
    if name == "identity":
        return dy
    if name == "relu":
        return dy * (y > 0)
    if name == "sigmoid":
        return dy * y * (1.0 - y)
    return dy * (1.0 - y * y)  # tanh


# --------------------------------------------------------------------------- dense layer
def dense_forward(x, W, b, activation: Optional[str]) -> np.ndarray:
    return activation_forward(activation, f64(x) @ f64(W).T + f64(b))


def dense_backward(x, W, y, dy, activation: Optional[str]):
    """(dx, dW, db) for y = act(x @ W.T + b)."""
    dz = activation_backward(activation, y, dy)
    return dz @ f64(W), dz.T @ f64(x), dz.sum(axis=0)


# --------------------------------------------------------------------------- losses
def mse(pred, target) -> Tuple[float, np.ndarray]:
    """Mean over all elements (torch.nn.MSELoss) and its gradient w.r.t. pred."""
    pred, target = f64(pred), f64(target).reshape(np.shape(pred))
    d = pred - target
    return float(np.mean(d * d)), 2.0 * d / d.size


def log_softmax(logits) -> np.ndarray:
    z = f64(logits)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def cross_entropy(logits, labels) -> Tuple[float, np.ndarray]:
    """Softmax cross-entropy, mean over the batch (torch.nn.CrossEntropyLoss), and its gradient."""
    logp = log_softmax(logits)
    labels = np.asarray(labels).astype(np.int64)
    n = logp.shape[0]
    rows = np.arange(n)
    loss = -float(np.mean(logp[rows, labels]))
    grad = np.exp(logp)
    grad[rows, labels] -= 1.0
    return loss, grad / n


def loss_and_grad(name: str, pred, target) -> Tuple[float, np.ndarray]:
    if name == "mse":
        return mse(pred, target)
    if name == "cross_entropy":
        return cross_entropy(pred, target)
    raise ValueError(f"reference: unknown loss {name!r}")


def accuracy(logits, labels) -> float:
    return float(np.mean(np.argmax(f64(logits), axis=1) == np.asarray(labels)))


def mae_metric(pred, target) -> float:
    pred = f64(pred)
    return float(np.mean(np.abs(pred - f64(target).reshape(pred.shape))))


def mse_metric(pred, target) -> float:
    pred = f64(pred)
    return float(np.mean((pred - f64(target).reshape(pred.shape)) ** 2))


# --------------------------------------------------------------------------- whole MLP
def layers_from_params(params: Sequence[np.ndarray], activations: Sequence[Optional[str]]) -> List[Layer]:
    """[(W0, b0, act0), ...] from the flat [W0, b0, W1, b1, ...] list (copied to float64)."""
    assert len(params) == 2 * len(activations)
    return [(f64(params[2 * i]), f64(params[2 * i + 1]), act) for i, act in enumerate(activations)]


def mlp_forward(layers: Sequence[Layer], x) -> List[np.ndarray]:
    """Outputs of every layer: [x, h1, ..., out]."""
    outs = [f64(x)]
    for W, b, act in layers:
        outs.append(dense_forward(outs[-1], W, b, act))
    return outs


def mlp_predict(layers: Sequence[Layer], x) -> np.ndarray:
    return mlp_forward(layers, x)[-1]


def mlp_loss_and_grads(layers: Sequence[Layer], x, target, loss: str):
    """(mean loss, [dW0, db0, dW1, db1, ...], output) for one batch."""
    outs = mlp_forward(layers, x)
    value, dy = loss_and_grad(loss, outs[-1], target)
    grads: List[np.ndarray] = [None] * (2 * len(layers))  # type: ignore[list-item]
    for i in range(len(layers) - 1, -1, -1):
        W, _, act = layers[i]
        dx, dW, db = dense_backward(outs[i], W, outs[i + 1], dy, act)
        grads[2 * i], grads[2 * i + 1] = dW, db
        dy = dx
    return value, grads, outs[-1]


def mlp_loss(layers: Sequence[Layer], x, target, loss: str) -> float:
    return loss_and_grad(loss, mlp_predict(layers, x), target)[0]


# --------------------------------------------------------------------------- optimizers
class SGDRef:
    """torch.optim.SGD: g += wd*p; buf = g on the first step, else momentum*buf + (1-dampening)*g;
    g = g + momentum*buf (nesterov) or buf; p -= lr*g."""

    def __init__(self, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        self.lr, self.momentum, self.dampening = float(lr), float(momentum), float(dampening)
        self.weight_decay, self.nesterov = float(weight_decay), bool(nesterov)
        self.bufs: Optional[List[np.ndarray]] = None

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> List[np.ndarray]:
        params = [f64(p) for p in params]
        grads = [f64(g) for g in grads]
        first = self.bufs is None
        if first:
            self.bufs = [None] * len(params)  # type: ignore[list-item]
        out = []
        for i, (p, g) in enumerate(zip(params, grads)):
            if self.weight_decay != 0.0:
                g = g + self.weight_decay * p
            if self.momentum != 0.0:
                if first:
                    buf = g.copy()
                else:
                    buf = self.momentum * self.bufs[i] + (1.0 - self.dampening) * g
                self.bufs[i] = buf
                g = g + self.momentum * buf if self.nesterov else buf
            out.append(p - self.lr * g)
        return out


class AdamRef:
    """torch.optim.Adam (non-amsgrad, L2 weight decay added to the gradient)."""

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.lr, self.eps, self.weight_decay = float(lr), float(eps), float(weight_decay)
        self.b1, self.b2 = (float(b) for b in betas)
        self.t = 0
        self.m: Optional[List[np.ndarray]] = None
        self.v: Optional[List[np.ndarray]] = None

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> List[np.ndarray]:
        params = [f64(p) for p in params]
        grads = [f64(g) for g in grads]
        if self.m is None:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
        self.t += 1
        bc1 = 1.0 - self.b1 ** self.t
        bc2 = 1.0 - self.b2 ** self.t
        step_size = self.lr / bc1
        out = []
        for i, (p, g) in enumerate(zip(params, grads)):
            if self.weight_decay != 0.0:
                g = g + self.weight_decay * p
            self.m[i] = self.b1 * self.m[i] + (1.0 - self.b1) * g
            self.v[i] = self.b2 * self.v[i] + (1.0 - self.b2) * g * g
            denom = np.sqrt(self.v[i]) / math.sqrt(bc2) + self.eps
            out.append(p - step_size * self.m[i] / denom)
        return out


# --------------------------------------------------------------------------- GEMM
def gemm(a, b, c=None, alpha=1.0, beta=0.0, trans_a=False, trans_b=False) -> np.ndarray:
    """alpha * op(a) @ op(b) + beta * c in float64 (c is ignored when beta == 0)."""
    A = f64(a).T if trans_a else f64(a)
    B = f64(b).T if trans_b else f64(b)
    out = alpha * (A @ B)
    if beta != 0.0:
        out = out + beta * f64(c)
    return out


def gemm_loops(a, b) -> np.ndarray:
    """The textbook triple loop in float64 (for tiny shapes only)."""
    A, B = f64(a), f64(b)
    m, k = A.shape
    k2, n = B.shape
    assert k == k2
    C = np.zeros((m, n))
    for i in range(m):
        for j in range(n):
            s = 0.0
            for p in range(k):
                s += A[i, p] * B[p, j]
            C[i, j] = s
    return C


def gemm_abs_scale(a, b, trans_a=False, trans_b=False) -> np.ndarray:
    """|op(a)| @ |op(b)|: the natural scale of the rounding error of each output element."""
    A = np.abs(f64(a).T if trans_a else f64(a))
    B = np.abs(f64(b).T if trans_b else f64(b))
    return A @ B


# --------------------------------------------------------------------------- tolerances
def gemm_atol(k: int, scale: float = 1.0) -> float:
    """Absolute float32 tolerance for a sum of k products of O(scale) magnitude."""
    return 2e-6 * math.sqrt(max(k, 1)) * scale
