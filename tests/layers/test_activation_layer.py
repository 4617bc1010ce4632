"""fm.Activation, the stand-alone activation layer: equal bit for bit to the same activation fused
into the Dense before it, equal to PyTorch (float64) after a normalisation layer (forward, every
gradient, Adam steps), finite-difference gradients where it comes first, the softmax rules, and
its schema (config, files, summary, ONNX, torch interop)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import fastmlp as fm
from torch_twin import torch_twin

# Every activation, parameterised ones with non-default parameters; gelu, silu and elu(alpha<0)
# need the pre-activation in backward, the others take the derivative from the output.
ACTIVATIONS = [
    "relu", "tanh", "sigmoid", "selu", "gelu", "gelu_tanh", "silu", "softplus", "identity",
    {"name": "leaky_relu", "negative_slope": 0.2}, {"name": "elu", "alpha": 0.7},
    {"name": "softplus", "beta": 2.0, "threshold": 5.0},
]


def _id(act):
    return act if isinstance(act, str) else "-".join(f"{v}" for v in act.values())


def _data(seed, rows, n_in, n_out):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((rows, n_in)) * 1.5).astype(np.float32), rng.standard_normal((rows, n_out)).astype(np.float32)


def _fit_weights(layers, x, y, loss="mse", epochs=3):
    model = fm.Sequential(layers, input_dim=x.shape[1], seed=11)
    model.compile(loss=loss, optimizer=fm.optim.Adam(lr=1e-2))
    model.fit(x, y, epochs=epochs, batch_size=7, verbose=0)
    return model


@pytest.mark.parametrize("act", ACTIVATIONS, ids=_id)
@pytest.mark.parametrize("units, rows", [(1, 1), (13, 29), (33, 64)])
def test_equals_the_activation_fused_into_dense_bit_for_bit(act, units, rows):
    """Dense(u) + Activation(a) trains exactly like Dense(u, activation=a): same weights, same
    predictions, to the bit (same kernels, same order of operations)."""
    x, y = _data(units + rows, rows, 5, 2)
    fused = _fit_weights([fm.Dense(units, activation=act), fm.Dense(2)], x, y)
    split = _fit_weights([fm.Dense(units), fm.Activation(act), fm.Dense(2)], x, y)
    for a, b in zip(fused.parameters(), split.parameters()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fused.predict(x), split.predict(x))
    assert fused.num_params == split.num_params


@pytest.mark.parametrize("act", ["relu", "gelu", {"name": "elu", "alpha": 0.7}, "sigmoid"], ids=_id)
@pytest.mark.parametrize("rows", [2, 5, 64])
def test_after_batch_norm_matches_torch(act, rows):
    """Dense -> BatchNorm -> Activation -> Dense: the loss and every gradient equal PyTorch's
    autograd in float64 (the activation is not next to a Linear, which fm.Dense alone cannot say)."""
    model = fm.Sequential([fm.Dense(9), fm.BatchNorm(), fm.Activation(act), fm.Dense(3)], input_dim=6, seed=rows)
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.0))
    net = torch_twin(model).train()
    x, y = _data(rows, rows, 6, 3)
    loss = model.train_step(x, y)
    t_loss = torch.nn.functional.mse_loss(net(torch.from_numpy(x.astype(np.float64))), torch.from_numpy(y.astype(np.float64)))
    t_loss.backward()
    np.testing.assert_allclose(loss, t_loss.item(), rtol=1e-5, atol=1e-7)
    for g, tp in zip(model.gradients(), net.parameters()):
        np.testing.assert_allclose(g, tp.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_ten_adam_steps_after_layer_norm_match_torch():
    model = fm.Sequential([fm.Dense(12), fm.LayerNorm(), fm.Activation("silu"), fm.Dense(4)], input_dim=7, seed=3)
    model.compile(loss="mse", optimizer=fm.optim.Adam(lr=1e-2))
    net = torch_twin(model).train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for step in range(10):
        x, y = _data(50 + step, (1, 3, 16, 31)[step % 4], 7, 4)
        model.train_step(x, y)
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(torch.from_numpy(x.astype(np.float64))),
                                     torch.from_numpy(y.astype(np.float64))).backward()
        opt.step()
    for p, tp in zip(model.parameters(), net.parameters()):
        np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("act", ["tanh", "gelu", "softplus"])
def test_first_layer_activation_gradients_by_finite_differences(act):
    """An activation before any parameter: nothing below it needs a gradient; the Dense gradients
    above it are right (central differences)."""
    model = fm.Sequential([fm.Activation(act), fm.Dense(6, activation="tanh"), fm.Dense(2)], input_dim=4, seed=5)
    model.compile(loss="mse")
    x, y = _data(8, 17, 4, 2)
    assert max(fm.check_gradients(model, x, y).values()) < 1e-2


def test_softmax_as_last_layer_with_cross_entropy_equals_the_fused_softmax():
    """Activation("softmax") after the output Dense: cross_entropy fuses it exactly as it fuses
    Dense(..., activation="softmax"), and predict returns probabilities."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 5)).astype(np.float32)
    y = rng.integers(0, 4, 40)
    fused = _fit_weights([fm.Dense(8, "relu"), fm.Dense(4, activation="softmax")], x, y, loss="cross_entropy")
    split = _fit_weights([fm.Dense(8, "relu"), fm.Dense(4), fm.Activation("softmax")], x, y, loss="cross_entropy")
    for a, b in zip(fused.parameters(), split.parameters()):
        np.testing.assert_array_equal(a, b)
    probabilities = split.predict(x)
    np.testing.assert_array_equal(fused.predict(x), probabilities)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)


def test_softmax_activation_layer_must_be_last():
    with pytest.raises(ValueError, match=r"layers\[1\].*softmax is only allowed on the last layer"):
        fm.Sequential([fm.Dense(4), fm.Activation("softmax"), fm.Dense(2)], input_dim=3)


@pytest.mark.parametrize("bad, error, match", [
    ("swish2", ValueError, "unknown activation 'swish2'"),
    (3, TypeError, "activation"),
    ({"name": "leaky_relu", "slope": 0.1}, ValueError, "slope"),
])
def test_bad_activation_is_named(bad, error, match):
    with pytest.raises(error, match=match):
        fm.Activation(bad)


def test_config_repr_summary_and_save_load(tmp_path):
    layer = fm.Activation({"name": "leaky_relu", "negative_slope": 0.3})
    assert repr(layer) == "Activation(activation={'name': 'leaky_relu', 'negative_slope': 0.3})"  # as Dense's
    model = fm.Sequential([fm.Dense(5), fm.Activation("gelu"), fm.Dense(2), layer], input_dim=3, seed=1)
    assert model.num_params == 5 * 4 + 2 * 6
    assert model.get_config()["layers"][1] == {"type": "Activation", "activation": "gelu"}
    text = model.summary(print_fn=lambda s: None)
    assert "activation (Activation, gelu)" in text and "activation_1 (Activation, leaky_relu)" in text
    assert "Total params: 32" in text
    path = tmp_path / "m.safetensors"
    model.save(path)
    again = fm.load(path)
    assert again.get_config() == model.get_config()
    x, _ = _data(0, 9, 3, 2)
    np.testing.assert_array_equal(again.predict(x), model.predict(x))


def test_torch_round_trip_of_linear_batchnorm_relu():
    """fm.from_torch converts Linear -> BatchNorm1d -> ReLU (the activation cannot join the Linear
    there) and to_torch converts it back; predictions agree with PyTorch's eval mode."""
    nn = torch.nn
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 10), nn.BatchNorm1d(10), nn.ReLU(), nn.Linear(10, 3), nn.Tanh()).eval()
    with torch.no_grad():
        net[1].running_mean.uniform_(-0.5, 0.5)
        net[1].running_var.uniform_(0.5, 2.0)
    model = fm.from_torch(net)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Dense", "BatchNorm", "Activation", "Dense"]
    assert model.layers[3].activation.name == "tanh"
    x, _ = _data(2, 12, 6, 3)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-6)
    back = model.to_torch()
    assert [type(m).__name__ for m in back] == ["Linear", "BatchNorm1d", "ReLU", "Linear", "Tanh"]
    with torch.no_grad():
        np.testing.assert_allclose(back(torch.from_numpy(x)).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_onnx_export_of_an_activation_layer(tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    model = fm.Sequential([fm.Dense(7), fm.BatchNorm(), fm.Activation("gelu_tanh"), fm.Dense(2),
                           fm.Activation("sigmoid")], input_dim=4, seed=2)
    path = tmp_path / "m.onnx"
    fm.onnx.export(model, path)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x, _ = _data(4, 11, 4, 2)
    (out,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(out, model.predict(x), rtol=1e-5, atol=1e-6)
