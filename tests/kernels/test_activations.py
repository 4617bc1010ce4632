"""Every activation against PyTorch in float64: the kernels (forward and gradient over a grid that
includes 0, +-tiny, +-1e4 and the softplus threshold), a small network trained 10 Adam steps, the
softmax output layer (fused into cross_entropy, backpropagated through with mse), configuration and
save/load round trips, and argument validation. The kernels of relu, sigmoid, tanh and identity
also against the float64 reference (tests/reference.py), which is itself checked by finite
differences."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import fastmlp as fm
from fastmlp import _core

import reference as ref
from torch_twin import torch_twin

A = fm.activations

# (label, fastmlp activation object, torch float64 function). The labels name the test cases.
CASES = [
    ("identity", A.Identity(), lambda x: x),
    ("relu", A.ReLU(), F.relu),
    ("leaky_relu", A.LeakyReLU(), lambda x: F.leaky_relu(x, 0.01)),
    ("leaky_relu_0.2", A.LeakyReLU(negative_slope=0.2), lambda x: F.leaky_relu(x, 0.2)),
    ("leaky_relu_-0.3", A.LeakyReLU(negative_slope=-0.3), lambda x: F.leaky_relu(x, -0.3)),
    ("elu", A.ELU(), lambda x: F.elu(x, 1.0)),
    ("elu_0.5", A.ELU(alpha=0.5), lambda x: F.elu(x, 0.5)),
    ("elu_-0.7", A.ELU(alpha=-0.7), lambda x: F.elu(x, -0.7)),
    ("selu", A.SELU(), F.selu),
    ("gelu", A.GELU(), lambda x: F.gelu(x)),
    ("gelu_tanh", A.GELU(approximate="tanh"), lambda x: F.gelu(x, approximate="tanh")),
    ("silu", A.SiLU(), F.silu),
    ("softplus", A.Softplus(), lambda x: F.softplus(x, 1.0, 20.0)),
    ("softplus_b2_t1", A.Softplus(beta=2.0, threshold=1.0), lambda x: F.softplus(x, 2.0, 1.0)),
    ("softplus_b0.5_t30", A.Softplus(beta=0.5, threshold=30.0), lambda x: F.softplus(x, 0.5, 30.0)),
    ("sigmoid", A.Sigmoid(), torch.sigmoid),
    ("tanh", A.Tanh(), torch.tanh),
    ("softmax", A.Softmax(), lambda x: F.softmax(x, dim=-1)),
]
ELEMENTWISE = [c for c in CASES if c[0] != "softmax"]
IDS = [c[0] for c in CASES]
EW_IDS = [c[0] for c in ELEMENTWISE]

GRID = np.array(
    [0.0, 1e-30, -1e-30, 1e-7, -1e-7, 1e-3, -1e-3, 0.1, -0.1, 0.5, -0.5, 1.0, -1.0, 2.5, -2.5, 5.0, -5.0,
     10.0, -10.0, 15.0, -15.0, 19.99, 20.0, 20.01, -20.0, 30.0, -30.0, 60.0, -60.0, 100.0, -100.0,
     1e4, -1e4],
    dtype=np.float32,
)


def _grid_for(act):
    """GRID plus values around the softplus threshold (beta * x = threshold) and random values."""
    extra = [np.random.default_rng(0).standard_normal(64).astype(np.float32) * 4]
    if isinstance(act, A.Softplus):
        t = act.threshold / act.beta
        extra.append(np.array([t, np.nextafter(np.float32(t), np.float32(1e9)), t - 1e-3, t + 1e-3, t - 0.5,
                               t + 0.5], dtype=np.float32))
    return np.concatenate([GRID, *extra]).astype(np.float32)


def _torch_value_and_grad(fn, x, dy):
    tx = torch.from_numpy(x.astype(np.float64)).requires_grad_(True)
    ty = fn(tx)
    (ty * torch.from_numpy(dy.astype(np.float64))).sum().backward()
    return ty.detach().numpy(), tx.grad.numpy()


def _fm_value_and_grad(act, x, dy):
    """The training path: the forward output, then the derivative from the output (or the input
    where the activation needs it), as the Network computes it."""
    y = _core.activation_forward(act.name, x, act._params())
    return y, _core.activation_backward(act.name, y, dy, x, act._params())


# --------------------------------------------------------------------------- kernels
@pytest.mark.parametrize("label,act,fn", ELEMENTWISE, ids=EW_IDS)
def test_forward_and_gradient_match_torch_float64(label, act, fn):
    x = _grid_for(act).reshape(1, -1)
    dy = np.random.default_rng(1).uniform(0.5, 1.5, x.shape).astype(np.float32)
    dy *= np.where(np.arange(x.size) % 2 == 0, 1, -1).reshape(x.shape).astype(np.float32)
    y, dx = _fm_value_and_grad(act, x, dy)
    ty, tdx = _torch_value_and_grad(fn, x, dy)
    assert y.dtype == np.float32 and y.shape == x.shape and dx.shape == x.shape
    np.testing.assert_allclose(y, ty, rtol=2e-6, atol=1e-7, err_msg=f"{label} forward")
    np.testing.assert_allclose(dx, tdx, rtol=2e-5, atol=5e-7, err_msg=f"{label} gradient")


@pytest.mark.parametrize("label,act,fn", CASES, ids=IDS)
@pytest.mark.parametrize("value", [1e4, -1e4, 1e30, -1e30, 3e38, -3e38])
def test_huge_inputs_give_finite_values_and_derivatives(label, act, fn, value):
    x = np.array([[value, 0.0, -1.0, 2.0]], dtype=np.float32)
    y, dx = _fm_value_and_grad(act, x, np.ones_like(x))
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx)), (y, dx)


@pytest.mark.parametrize("cols", [1, 2, 7, 33])
@pytest.mark.parametrize("scale", [1.0, 30.0, 1e4])
def test_softmax_rows_match_torch(cols, scale):
    rng = np.random.default_rng(cols)
    x = (scale * rng.standard_normal((5, cols))).astype(np.float32)
    dy = rng.standard_normal((5, cols)).astype(np.float32)
    y, dx = _fm_value_and_grad(A.Softmax(), x, dy)
    ty, tdx = _torch_value_and_grad(lambda t: F.softmax(t, dim=-1), x, dy)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(y, ty, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(dx, tdx, rtol=1e-4, atol=1e-6)


def test_gradient_needs_the_input_for_gelu():
    y = _core.activation_forward("gelu", np.ones((1, 3), np.float32))
    with pytest.raises(ValueError, match="needs its input"):
        _core.activation_backward("gelu", y, np.ones_like(y))


# ------------------------------------------------------------- kernels vs the float64 reference
REFERENCE_ACTS = ("relu", "sigmoid", "tanh", "identity")  # the activations tests/reference.py implements
KERNEL_SHAPES = [(1, 1), (1, 7), (3, 13), (17, 2), (31, 33), (65, 17)]


def _seed(*parts):
    return zlib.crc32(repr(parts).encode())


def _data(seed, shape, scale=3.0):
    rng = np.random.default_rng(seed)
    return (scale * rng.standard_normal(shape)).astype(np.float32)


@pytest.mark.parametrize("name", REFERENCE_ACTS)
@pytest.mark.parametrize("shape", KERNEL_SHAPES)
def test_activation_forward(name, shape):
    x = _data(_seed(name, shape), shape)
    x.flat[0] = 0.0  # the relu kink
    y = _core.activation_forward(name, x)
    assert y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_allclose(y, ref.activation_forward(name, x), rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("name", ("sigmoid", "tanh"))
def test_saturating_activations_stay_finite_and_bounded(name):
    x = np.array([[-1e4, -100.0, -30.0, -1e-3, 0.0, 1e-3, 30.0, 100.0, 1e4]], dtype=np.float32)
    y = _core.activation_forward(name, x)
    assert np.all(np.isfinite(y))
    lo = 0.0 if name == "sigmoid" else -1.0
    assert np.all((y >= lo) & (y <= 1.0))
    np.testing.assert_allclose(y, ref.activation_forward(name, x), rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("name", REFERENCE_ACTS)
@pytest.mark.parametrize("shape", KERNEL_SHAPES)
def test_activation_backward(name, shape):
    seed = _seed(name, shape, "bwd")
    x = _data(seed, shape)
    y = ref.activation_forward(name, x).astype(np.float32)
    dy = _data(seed + 1, shape, 1.0)
    dx = _core.activation_backward(name, y, dy)
    assert dx.shape == shape and dx.dtype == np.float32
    np.testing.assert_allclose(dx, ref.activation_backward(name, y, dy), rtol=1e-5, atol=1e-7)


def test_relu_backward_is_zero_where_output_is_zero():
    y = np.array([[0.0, 0.0, 1.5, 2.0]], dtype=np.float32)
    dy = np.array([[3.0, -3.0, 4.0, -5.0]], dtype=np.float32)
    np.testing.assert_array_equal(_core.activation_backward("relu", y, dy), ref.activation_backward("relu", y, dy))


@pytest.mark.parametrize("name", REFERENCE_ACTS)
def test_reference_activation_derivative_matches_finite_differences(name):
    # validates the oracle itself: d act(x)/dx expressed through y = act(x)
    x = np.linspace(-3.0, 3.0, 41) + 0.0123  # avoid the relu kink
    h = 1e-6
    fd = (ref.activation_forward(name, x + h) - ref.activation_forward(name, x - h)) / (2 * h)
    analytic = ref.activation_backward(name, ref.activation_forward(name, x), np.ones_like(x))
    np.testing.assert_allclose(analytic, fd, rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- training vs torch
def _twins(n_in, spec, seed):
    """A fastmlp model and its float64 torch twin (tests/torch_twin.py).
    spec: [(units, (label, act, fn) or None), ...]."""
    model = fm.Sequential([fm.Dense(u, activation=c[1] if c else None) for u, c in spec], input_dim=n_in, seed=seed)
    return model, torch_twin(model)


def _train_both(model, net, loss, n_in, n_out, steps=10, x_scale=2.0, lr=1e-2):
    """Trains both with Adam on the same batches; returns (fastmlp losses, torch losses)."""
    model.compile(loss=loss, optimizer=fm.optim.Adam(lr=lr))
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    criterion = torch.nn.CrossEntropyLoss() if loss == "cross_entropy" else torch.nn.MSELoss()
    rng = np.random.default_rng(n_in * 100 + n_out)
    losses_fm, losses_torch = [], []
    for step, bs in enumerate([7, 1, 16, 33, 5, 2, 13, 8, 31, 4][:steps]):
        x = (x_scale * rng.standard_normal((bs, n_in))).astype(np.float32)
        if loss == "cross_entropy":
            y = rng.integers(0, n_out, size=bs)
            target = torch.from_numpy(y.astype(np.int64))
        else:
            y = rng.uniform(-1, 1, (bs, n_out)).astype(np.float32)
            target = torch.from_numpy(y.astype(np.float64))
        losses_fm.append(model.train_step(x, y))
        opt.zero_grad()
        t_loss = criterion(net(torch.from_numpy(x.astype(np.float64))), target)
        t_loss.backward()
        losses_torch.append(float(t_loss.detach()))
        if step == 0:  # the first gradients, before the weights differ at all
            for g, tp in zip(model.gradients(), net.parameters()):
                np.testing.assert_allclose(g, tp.grad.numpy(), rtol=1e-4, atol=1e-6)
        opt.step()
    return losses_fm, losses_torch


def _assert_weights_close(model, net, rtol=1e-3, atol=1e-5):
    for p, tp in zip(model.parameters(), net.parameters()):
        np.testing.assert_allclose(p, tp.detach().numpy(), rtol=rtol, atol=atol)


HIDDEN = [c for c in CASES if c[0] != "softmax"]
# (n_in, hidden widths, outputs): odd widths, and a hidden layer of width 1
SHAPES = [(7, (33, 7), 1), (33, (1, 7), 7)]


@pytest.mark.parametrize("shape", SHAPES, ids=["7-33-7-1", "33-1-7-7"])
@pytest.mark.parametrize("label,act,fn", HIDDEN, ids=[c[0] for c in HIDDEN])
def test_network_trains_like_torch_float64(label, act, fn, shape):
    n_in, hidden, n_out = shape
    case = (label, act, fn)
    spec = [(w, case) for w in hidden] + [(n_out, None)]
    model, net = _twins(n_in, spec, seed=len(label))
    losses_fm, losses_torch = _train_both(model, net, "mse", n_in, n_out)
    np.testing.assert_allclose(losses_fm, losses_torch, rtol=1e-3, atol=1e-6)
    _assert_weights_close(model, net)
    xs = np.random.default_rng(5).standard_normal((9, n_in)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(xs.astype(np.float64))).numpy()
    np.testing.assert_allclose(model.predict(xs), expected, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("label,act,fn", HIDDEN, ids=[c[0] for c in HIDDEN])
def test_activation_on_the_output_layer_trains_like_torch(label, act, fn):
    """The output layer's activation is backpropagated too (mse on activated outputs)."""
    case = (label, act, fn)
    model, net = _twins(7, [(33, case), (7, case)], seed=3)
    losses_fm, losses_torch = _train_both(model, net, "mse", 7, 7)
    np.testing.assert_allclose(losses_fm, losses_torch, rtol=1e-3, atol=1e-6)
    _assert_weights_close(model, net)


# --------------------------------------------------------------------------- softmax output
SOFTMAX = ("softmax", A.Softmax(), lambda x: F.softmax(x, dim=-1))
TANH = ("tanh", A.Tanh(), torch.tanh)


@pytest.mark.parametrize("n_out", [2, 7, 33])  # one output: compile refuses cross_entropy (tests/model/test_target_messages.py)
def test_softmax_output_with_cross_entropy_trains_exactly_like_a_linear_output(n_out):
    rng = np.random.default_rng(n_out)
    X = rng.standard_normal((50, 7)).astype(np.float32)
    y = rng.integers(0, n_out, size=50)
    models = []
    for act in ("softmax", None):
        m = fm.Sequential([fm.Dense(33, activation="tanh"), fm.Dense(n_out, activation=act)], input_dim=7, seed=4)
        m.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-2), metrics=["accuracy"])
        models.append(m)
    soft, linear = models
    for i in range(10):
        rows = slice(5 * i, 5 * i + 5)
        assert soft.train_step(X[rows], y[rows]) == linear.train_step(X[rows], y[rows])
        for g1, g2 in zip(soft.gradients(), linear.gradients()):
            np.testing.assert_array_equal(g1, g2)
    h1 = soft.fit(X, y, epochs=2, batch_size=8, verbose=0)
    h2 = linear.fit(X, y, epochs=2, batch_size=8, verbose=0)
    assert h1.history == h2.history
    for p1, p2 in zip(soft.parameters(), linear.parameters()):
        np.testing.assert_array_equal(p1, p2)
    assert soft.evaluate(X, y) == linear.evaluate(X, y)
    # predict: probabilities for the softmax model, logits for the linear one
    probs, logits = soft.predict(X), linear.predict(X)
    np.testing.assert_allclose(probs, torch.softmax(torch.from_numpy(logits).double(), 1).numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    model = fm.Sequential([fm.Dense(7, activation="softmax")], input_dim=3, seed=0)
    model.compile(loss="cross_entropy", optimizer=fm.optim.SGD(lr=1e-6))
    model.parameters()[0][...] *= 1e4  # logits of order 1e4: a naive log(softmax) gives log(0) = -inf
    X = np.random.default_rng(0).standard_normal((16, 3)).astype(np.float32)
    y = np.arange(16) % 7
    loss = model.train_step(X, y)
    assert math.isfinite(loss) and loss > 100.0
    assert all(np.all(np.isfinite(g)) for g in model.gradients())
    probs = model.predict(X)
    assert np.all(np.isfinite(probs)) and np.allclose(probs.sum(axis=1), 1.0)
    assert math.isfinite(model.evaluate(X, y)["loss"])


def test_softmax_cross_entropy_matches_torch_float64():
    _, net = _twins(7, [(33, TANH), (5, None)], seed=8)  # torch: linear output + CrossEntropyLoss
    soft = fm.Sequential([fm.Dense(33, activation="tanh"), fm.Dense(5, activation="softmax")], input_dim=7, seed=8)
    losses_fm, losses_torch = _train_both(soft, net, "cross_entropy", 7, 5)
    np.testing.assert_allclose(losses_fm, losses_torch, rtol=1e-3)
    _assert_weights_close(soft, net)


@pytest.mark.parametrize("n_out", [1, 7, 33])
def test_softmax_output_with_mse_matches_torch(n_out):
    model, net = _twins(7, [(33, TANH), (n_out, SOFTMAX)], seed=n_out)
    losses_fm, losses_torch = _train_both(model, net, "mse", 7, n_out)
    np.testing.assert_allclose(losses_fm, losses_torch, rtol=1e-3, atol=1e-7)
    _assert_weights_close(model, net)
    X = np.random.default_rng(2).standard_normal((4, 7)).astype(np.float32)
    np.testing.assert_allclose(model.predict(X).sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize(
    "layers",
    [
        [fm.Dense(4, activation="softmax"), fm.Dense(3)],
        [fm.Dense(4), fm.Dense(4, activation=A.Softmax()), fm.Dense(3)],
        [fm.Dense(4), fm.Dense(3, activation="softmax"), fm.Dropout(0.5)],
    ],
    ids=["first", "middle", "before-dropout"],
)
def test_softmax_is_only_allowed_on_the_last_layer(layers):
    index = next(i for i, layer in enumerate(layers) if getattr(layer, "activation", None) == A.Softmax())
    with pytest.raises(ValueError, match=rf"layers\[{index}\].*softmax is only allowed on the last layer"):
        fm.Sequential(layers, input_dim=5)


def test_core_refuses_a_hidden_softmax():
    with pytest.raises(ValueError, match=r"layers\[0\]: softmax is only allowed on the last layer"):
        _core.Network(3, [_core.LayerSpec("dense", units=4, activation="softmax"), _core.LayerSpec("dense", units=2)], 0)


# --------------------------------------------------------------------------- names, objects, configs
@pytest.mark.parametrize(
    "name,expected",
    [
        ("relu", A.ReLU()),
        ("leaky_relu", A.LeakyReLU(negative_slope=0.01)),
        ("elu", A.ELU(alpha=1.0)),
        ("selu", A.SELU()),
        ("gelu", A.GELU(approximate="none")),
        ("gelu_tanh", A.GELU(approximate="tanh")),
        ("silu", A.SiLU()),
        ("swish", A.SiLU()),
        ("softplus", A.Softplus(beta=1.0, threshold=20.0)),
        ("sigmoid", A.Sigmoid()),
        ("tanh", A.Tanh()),
        ("identity", A.Identity()),
        ("linear", A.Identity()),
        ("softmax", A.Softmax()),
        ("LeakY_ReLU", A.LeakyReLU()),
    ],
)
def test_strings_give_pytorch_defaults(name, expected):
    assert A.get(name) == expected
    assert A.get(name).get_config() == expected.get_config()


def test_names_cover_every_activation():
    assert set(A.NAMES) == {c[1].name for c in CASES}


@pytest.mark.parametrize("label,act,fn", CASES, ids=IDS)
def test_config_round_trip(label, act, fn):
    assert A.get(act.get_config()) == act
    dense = fm.Dense(7, activation=act)
    again = fm.layers.from_config(dense.get_config())
    assert again.activation == act and again.get_config() == dense.get_config()
    assert repr(act).startswith(type(act).__name__ + "(")


def test_default_parameters_are_stored_as_the_bare_name():
    assert fm.Dense(3, activation=A.LeakyReLU()).get_config()["activation"] == "leaky_relu"
    assert fm.Dense(3, activation="gelu_tanh").get_config()["activation"] == "gelu_tanh"
    assert fm.Dense(3, activation=A.LeakyReLU(0.2)).get_config()["activation"] == {
        "name": "leaky_relu", "negative_slope": 0.2}


@pytest.mark.parametrize(
    "make,exc,fragment",
    [
        (lambda: A.LeakyReLU(negative_slope=float("nan")), ValueError, "negative_slope must be a finite number"),
        (lambda: A.LeakyReLU(negative_slope="0.2"), TypeError, "negative_slope must be a number"),
        (lambda: A.ELU(alpha=float("inf")), ValueError, "alpha must be a finite number"),
        (lambda: A.ELU(alpha=True), TypeError, "alpha must be a number"),
        (lambda: A.ELU(alpha=1e39), ValueError, "within float32's range"),
        (lambda: A.Softplus(beta=0.0), ValueError, "beta must be a finite number > 0, got 0.0"),
        (lambda: A.Softplus(beta=-1.0), ValueError, "beta must be a finite number > 0"),
        (lambda: A.Softplus(beta=1e-50), ValueError, "beta must be a finite number > 0"),
        (lambda: A.Softplus(threshold=float("nan")), ValueError, "threshold must be a finite number"),
        (lambda: A.GELU(approximate="exact"), ValueError, "approximate must be 'none' or 'tanh', got 'exact'"),
        (lambda: A.get("gelu_erf"), ValueError, "unknown activation 'gelu_erf'"),
        (lambda: A.get({"name": "relu", "alpha": 1.0}), ValueError, "takes no parameters"),
        (lambda: A.get({"name": "elu", "beta": 1.0}), ValueError, r"takes only \['alpha'\], got \['beta'\]"),
        (lambda: A.get({"name": "elu", "alpha": "x"}), ValueError, "alpha must be a number"),
        (lambda: A.get({"alpha": 1.0}), ValueError, "needs a string 'name'"),
        (lambda: A.get(3), TypeError, "activation must be a string"),
        (lambda: fm.Dense(2, activation=type("Mish", (A.Activation,), {"name": "mish"})()), ValueError,
         "name 'mish', which the core does not implement"),
    ],
)
def test_invalid_arguments_are_refused(make, exc, fragment):
    with pytest.raises(exc, match=fragment):
        make()


def test_core_validates_parameters_too():
    with pytest.raises(ValueError, match="takes no parameter 'alpha'"):
        _core.activation_forward("relu", np.zeros((1, 1), np.float32), {"alpha": 1.0})
    with pytest.raises(ValueError, match="softplus beta must be > 0"):
        _core.activation_forward("softplus", np.zeros((1, 1), np.float32), {"beta": 0.0})


# --------------------------------------------------------------------------- save / load
@pytest.mark.parametrize("label,act,fn", CASES, ids=IDS)
def test_save_load_round_trip(tmp_path, label, act, fn):
    if label == "softmax":
        layers = [fm.Dense(7, activation="tanh"), fm.Dense(5, activation=act)]
    else:
        layers = [fm.Dense(7, activation=act), fm.Dropout(0.1), fm.Dense(5, activation=act)]
    model = fm.Sequential(layers, input_dim=3, seed=2)
    model.compile(loss="cross_entropy" if label == "softmax" else "mse", optimizer="adam")
    X = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)
    y = np.arange(8) % 5 if label == "softmax" else np.zeros((8, 5), np.float32)
    model.train_step(X, y)
    path = tmp_path / "model.safetensors"
    model.save(path)
    loaded = fm.load(path)
    assert loaded.get_config() == model.get_config()
    assert loaded.layers[-1].activation == act
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize("label,act,fn", CASES, ids=IDS)
def test_training_step_on_huge_inputs_stays_finite(label, act, fn):
    layers = [fm.Dense(7, activation=act if label != "softmax" else "tanh"), fm.Dense(3, activation=act)]
    model = fm.Sequential(layers, input_dim=4, seed=0)
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=1e-12))
    X = np.array([[1e4, -1e4, 0.0, 1e-30], [-1e4, 1e4, 1e4, -1e4], [0.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    loss = model.train_step(X, np.zeros((3, 3), np.float32))
    assert math.isfinite(loss)
    assert all(np.all(np.isfinite(g)) for g in model.gradients())
    assert np.all(np.isfinite(model.predict(X)))


def test_config_of_an_unknown_activation_set_after_construction_is_a_clear_error():
    class Mish(fm.activations.Activation):
        name = "mish"

    layer = fm.Dense(3)
    layer.activation = Mish()
    with pytest.raises(ValueError, match="'mish'.*not one fastmlp can run"):
        layer.get_config()
