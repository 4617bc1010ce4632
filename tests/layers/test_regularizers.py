"""fm.regularizers (kernel_regularizer on fm.Dense) against PyTorch float64 with the penalty
l1 * sum|W| + l2 * sum W^2 added to the loss explicitly: reported losses (train_step, fit,
evaluate), gradients (biases not penalised), 10 optimizer steps; validation, config and save/load."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import torch

import fastmlp as fm
from torch_twin import torch_twin

R = fm.regularizers


def _penalty_terms(model, net):
    """(l1, l2, torch weight) for every penalised Dense layer."""
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    dense = [layer for layer in model.layers if isinstance(layer, fm.Dense)]
    return [(d.kernel_regularizer.l1, d.kernel_regularizer.l2, lin.weight)
            for d, lin in zip(dense, linears) if d.kernel_regularizer is not None]


def _torch_loss(model, net, x, y, loss="mse"):
    out = net(torch.from_numpy(x.astype(np.float64)))
    if loss == "mse":
        value = torch.nn.functional.mse_loss(out, torch.from_numpy(y.astype(np.float64)))
    else:
        value = torch.nn.functional.cross_entropy(out, torch.from_numpy(y.astype(np.int64)))
    for l1, l2, w in _penalty_terms(model, net):
        value = value + l1 * w.abs().sum() + l2 * (w * w).sum()
    return value


def _data(seed, rows, n_in, n_out, loss="mse"):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, n_in)).astype(np.float32)
    y = rng.integers(0, n_out, rows) if loss == "cross_entropy" else rng.standard_normal((rows, n_out)).astype(np.float32)
    return x, y


def _close(actual, expected, rtol, atol):
    np.testing.assert_allclose(np.asarray(actual, np.float64), np.asarray(expected, np.float64), rtol=rtol, atol=atol)


REGS = {
    "l1": lambda: R.L1(0.01),
    "l2": lambda: R.L2(0.02),
    "l1l2": lambda: R.L1L2(l1=0.005, l2=0.03),
    "strong_l2": lambda: R.L2(0.5),
    "none": lambda: None,
}


# --------------------------------------------------------------------------- parity
@pytest.mark.parametrize("reg", ["l1", "l2", "l1l2", "strong_l2"])
@pytest.mark.parametrize("width", [1, 7, 33])
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_ten_steps_match_torch_with_explicit_penalty(reg, width, optimizer):
    model = fm.Sequential([fm.Dense(width, activation="tanh", kernel_regularizer=REGS[reg]()),
                           fm.Dense(5, activation="relu"),
                           fm.Dense(3, kernel_regularizer=REGS["l1l2"]())], input_dim=6, seed=width)
    make = (lambda: fm.optim.Adam(lr=1e-2)) if optimizer == "adam" else (lambda: fm.optim.SGD(lr=0.05, momentum=0.9))
    model.compile(loss="mse", optimizer=make())
    net = torch_twin(model)
    opt = (torch.optim.Adam(net.parameters(), lr=1e-2) if optimizer == "adam"
           else torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9))
    for step in range(10):
        x, y = _data(step, (2, 1, 9, 32)[step % 4], 6, 3)
        loss = model.train_step(x, y)
        opt.zero_grad()
        t_loss = _torch_loss(model, net, x, y)
        t_loss.backward()
        _close(loss, t_loss.item(), 1e-5, 1e-7)
        for g, tp in zip(model.gradients(), net.parameters()):
            _close(g, tp.grad.numpy(), 1e-4, 1e-6)
        opt.step()
    for p, tp in zip(model.parameters(), net.parameters()):
        _close(p, tp.detach().numpy(), 1e-3, 1e-5)


def test_gradient_of_l1_at_zero_is_zero_and_biases_are_not_penalised():
    """sign(0) = 0 as torch's |w| gradient at 0; the bias gradients are the data gradients alone."""
    model = fm.Sequential([fm.Dense(4, kernel_regularizer=R.L1L2(0.1, 0.2))], input_dim=3, seed=0)
    model.parameters()[0][1, 2] = 0.0
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.0))
    plain = fm.Sequential([fm.Dense(4)], input_dim=3, seed=0)
    plain.parameters()[0][1, 2] = 0.0
    plain.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.0))
    x, y = _data(1, 5, 3, 4)
    penalised_loss, plain_loss = model.train_step(x, y), plain.train_step(x, y)
    w = model.parameters()[0].astype(np.float64)
    _close(penalised_loss - plain_loss, 0.1 * np.abs(w).sum() + 0.2 * (w * w).sum(), 1e-6, 1e-9)
    dw = model.gradients()[0] - plain.gradients()[0]
    _close(dw, 0.1 * np.sign(w) + 0.4 * w, 1e-5, 1e-7)
    assert dw[1, 2] == 0.0
    np.testing.assert_array_equal(model.gradients()[1], plain.gradients()[1])


def test_cross_entropy_with_penalty_matches_torch():
    model = fm.Sequential([fm.Dense(8, activation="relu", kernel_regularizer="l2"), fm.Dense(4, kernel_regularizer="l1")],
                          input_dim=5, seed=3)
    model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-2))
    net = torch_twin(model)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for step in range(10):
        x, y = _data(step, 16, 5, 4, "cross_entropy")
        loss = model.train_step(x, y)
        opt.zero_grad()
        t_loss = _torch_loss(model, net, x, y, "cross_entropy")
        t_loss.backward()
        opt.step()
        _close(loss, t_loss.item(), 1e-5, 1e-7)
    for p, tp in zip(model.parameters(), net.parameters()):
        _close(p, tp.detach().numpy(), 1e-3, 1e-5)


# --------------------------------------------------------------------------- reported losses
def test_fit_and_evaluate_report_the_penalised_loss():
    """fit's epoch loss is the sample-weighted mean of the batch losses with the penalty at each
    step's weights (Keras); evaluate adds the penalty of the current weights to the mean loss."""
    model = fm.Sequential([fm.Dense(6, activation="tanh", kernel_regularizer=R.L1L2(0.01, 0.05)), fm.Dense(2)],
                          input_dim=4, seed=5)
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.1), metrics=["mse"])
    net = torch_twin(model)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = _data(7, 40, 4, 2)
    history = model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    total = 0.0
    for start in range(0, 40, 16):
        opt.zero_grad()
        t_loss = _torch_loss(model, net, x[start:start + 16], y[start:start + 16])
        t_loss.backward()
        opt.step()
        total += t_loss.item() * len(x[start:start + 16])
    _close(history.history["loss"][0], total / 40, 1e-5, 1e-7)
    with torch.no_grad():
        expected = _torch_loss(model, net, x, y).item()
        plain_mse = torch.nn.functional.mse_loss(net(torch.from_numpy(x.astype(np.float64))),
                                                 torch.from_numpy(y.astype(np.float64))).item()
    scores = model.evaluate(x, y)
    _close(scores["loss"], expected, 1e-5, 1e-7)
    _close(scores["mse"], plain_mse, 1e-5, 1e-7)  # metrics are not penalised


def test_a_penalty_gradient_that_overflows_is_divergence():
    model = fm.Sequential([fm.Dense(3, kernel_regularizer=R.L2(1e10)), fm.Dense(1)], input_dim=2, seed=0)
    model.compile(loss="mse", optimizer="sgd")
    model.parameters()[0][:] = 1e30  # 2 * l2 * w = 2e40: not a float32
    before = [p.copy() for p in model.parameters()]
    x, y = _data(0, 4, 2, 1)
    with pytest.raises(FloatingPointError):
        model.train_step(x, y)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.parameters()))


# --------------------------------------------------------------------------- API
@pytest.mark.parametrize(
    "given, expected",
    [(None, None), ("l1", R.L1(0.01)), ("L2", R.L2(0.01)), ("l1_l2", R.L1L2(0.01, 0.01)),
     (R.L1L2(0.1, 0.2), R.L1L2(0.1, 0.2)), (R.L1(), R.L1L2(0.01, 0.0)), (R.L2(), R.L1L2(0.0, 0.01))],
)
def test_get_resolves_names_and_objects(given, expected):
    assert R.get(given) == expected


@pytest.mark.parametrize(
    "make, exc, fragment",
    [
        (lambda: R.L1(-0.1), ValueError, "l1 must be a finite number >= 0"),
        (lambda: R.L2(float("nan")), ValueError, "l2 must be a finite number"),
        (lambda: R.L1L2(l1=float("inf")), ValueError, "l1 must be a finite number"),
        (lambda: R.L1L2(l2=1e39), ValueError, "l2 must be a finite number (within float32's range)"),
        (lambda: R.L1("0.1"), TypeError, "l1 must be a number"),
        (lambda: R.L2(True), TypeError, "l2 must be a number"),
        (lambda: fm.Dense(3, kernel_regularizer="l3"), ValueError, "unknown regularizer 'l3'"),
        (lambda: fm.Dense(3, kernel_regularizer=0.01), TypeError, "kernel_regularizer must be None, 'l1'"),
        (lambda: fm.Dense(3, kernel_regularizer=R.L2), TypeError, "create an instance, e.g. fm.regularizers.L2(...)"),
    ],
)
def test_bad_regularizers_are_rejected(make, exc, fragment):
    with pytest.raises(exc) as info:
        make()
    assert fragment in str(info.value), str(info.value)


@pytest.mark.parametrize("reg", [R.L1(0.3), R.L2(0.25), R.L1L2(0.125, 0.5)])
def test_config_and_save_load_round_trip(tmp_path, reg):
    model = fm.Sequential([fm.Dense(4, activation="relu", kernel_regularizer=reg), fm.Dense(2)], input_dim=3, seed=1)
    config = model.get_config()
    assert config["layers"][0]["kernel_regularizer"] == reg.get_config()
    assert "kernel_regularizer" not in config["layers"][1]
    assert fm.Sequential.from_config(config).layers[0].kernel_regularizer == reg
    path = tmp_path / "reg.safetensors"
    model.save(path)
    loaded = fm.load(path)
    assert loaded.get_config() == config
    x, y = _data(2, 8, 3, 2)
    for m in (model, loaded):
        m.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.1))
    assert model.train_step(x, y) == loaded.train_step(x, y)
    assert repr(model.layers[0]).startswith("Dense(units=4, activation='relu', kernel_regularizer=")


def _edit_saved(tmp_path, edit):
    model = fm.Sequential([fm.Dense(4, kernel_regularizer=R.L1L2(0.1, 0.2)), fm.Dense(2)], input_dim=3, seed=1)
    path = tmp_path / "m.safetensors"
    model.save(path)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    config = json.loads(header["__metadata__"]["architecture"])
    edit(config["layers"][0])
    header["__metadata__"]["architecture"] = json.dumps(config)
    hb = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(hb)) + hb + raw[8 + n:])
    return path


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (lambda c: c.__setitem__("kernel_regularizer", "l2"), "kernel_regularizer must be a JSON object, got str"),
        (lambda c: c["kernel_regularizer"].__setitem__("type", "L3"), "has unknown type 'L3'"),
        (lambda c: c["kernel_regularizer"].__setitem__("l1", -1.0), "kernel_regularizer: l1 must be a finite number >= 0"),
        (lambda c: c["kernel_regularizer"].__setitem__("l2", "0.2"), "kernel_regularizer: l2 must be a number"),
        (lambda c: c["kernel_regularizer"].__setitem__("l2", 1e39), "kernel_regularizer: l2 must be a finite number"),
        (lambda c: c["kernel_regularizer"].pop("l2"), "kernel_regularizer lacks 'l2'"),
        (lambda c: c["kernel_regularizer"].__setitem__("scale", 1), "kernel_regularizer has unknown keys ['scale']"),
        (lambda c: c.__setitem__("kernel_regularizer", {"type": "L1", "l1": 0.1, "l2": 0.1}),
         "kernel_regularizer has unknown keys ['l2']"),
    ],
)
def test_hostile_regularizer_configs_are_refused(tmp_path, edit, fragment):
    path = _edit_saved(tmp_path, edit)
    with pytest.raises(ValueError) as info:
        fm.load(path)
    assert fragment in str(info.value), str(info.value)
