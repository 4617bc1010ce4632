"""fm.LayerNorm and fm.BatchNorm against torch.nn.LayerNorm / torch.nn.BatchNorm1d in float64:
forward (training and inference), gradients of every parameter (including those reached through
the normalisation's input gradient), running statistics, 10 Adam steps of a whole network, the
batch-of-one rules, validation, and save/load of the running statistics."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import torch

import fastmlp as fm
from torch_twin import torch_twin, twin_buffers

KINDS = ("layer_norm", "batch_norm")


def _norm(kind, **kw):
    return fm.LayerNorm(**kw) if kind == "layer_norm" else fm.BatchNorm(**kw)


def _randomise_affine(model, seed):
    """Moves gamma/beta (1-D parameters of the norm layers) away from 1/0 so they matter."""
    rng = np.random.default_rng(seed)
    i = 0
    for layer in model.layers:
        if isinstance(layer, fm.Dense):
            i += 2
        elif getattr(layer, "elementwise_affine", getattr(layer, "affine", False)):
            params = model.parameters()
            params[i][:] = rng.uniform(0.5, 1.5, params[i].shape)
            params[i + 1][:] = rng.uniform(-0.5, 0.5, params[i + 1].shape)
            i += 2


def _data(seed, rows, n_in, n_out, offset=0.0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((rows, n_in)) * 2 + offset).astype(np.float32)
    y = rng.standard_normal((rows, n_out)).astype(np.float32)
    return x, y


def _torch_loss(net, x, y):
    out = net(torch.from_numpy(x.astype(np.float64)))
    return torch.nn.functional.mse_loss(out, torch.from_numpy(y.astype(np.float64)))


def _close(actual, expected, rtol, atol):
    np.testing.assert_allclose(np.asarray(actual, np.float64), np.asarray(expected, np.float64), rtol=rtol, atol=atol)


# --------------------------------------------------------------------------- one step: loss, gradients, stats
GRID = [(kind, width, rows, affine) for kind in KINDS for width in (1, 7, 33) for rows in (2, 5, 64)
        for affine in (True, False)]


@pytest.mark.parametrize("kind, width, rows, affine", GRID)
def test_one_step_matches_torch(kind, width, rows, affine):
    """Dense(width) -> Norm -> Dense(3): the training-mode loss, every gradient (dW0 goes through the
    normalisation's input gradient) and BatchNorm's updated running statistics equal PyTorch's."""
    key = "elementwise_affine" if kind == "layer_norm" else "affine"
    model = fm.Sequential([fm.Dense(width), _norm(kind, **{key: affine}), fm.Dense(3)], input_dim=6, seed=width)
    _randomise_affine(model, rows)
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.0))
    net = torch_twin(model)
    x, y = _data(rows, rows, 6, 3, offset=3.0)
    loss = model.train_step(x, y)
    t_loss = _torch_loss(net.train(), x, y)
    t_loss.backward()
    _close(loss, t_loss.item(), 1e-5, 1e-7)
    for g, tp in zip(model.gradients(), net.parameters()):
        _close(g, tp.grad.numpy(), 1e-4, 1e-6)
    for b, tb in zip(model.buffers(), twin_buffers(net)):
        _close(b, tb, 1e-5, 1e-7)


@pytest.mark.parametrize("kind, affine", [(k, a) for k in KINDS for a in (True, False)])
def test_norm_as_first_and_last_layer_matches_torch(kind, affine):
    """Norm -> Dense -> Norm: no input gradient is needed below the first parameter, and the
    network output is a normalisation."""
    key = "elementwise_affine" if kind == "layer_norm" else "affine"
    model = fm.Sequential([_norm(kind, **{key: affine}), fm.Dense(5), _norm(kind, **{key: affine})],
                          input_dim=4, seed=2)
    _randomise_affine(model, 1)
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.0))
    net = torch_twin(model)
    x, y = _data(3, 6, 4, 5, offset=2.0)
    loss = model.train_step(x, y)
    t_loss = _torch_loss(net.train(), x, y)
    t_loss.backward()
    _close(loss, t_loss.item(), 1e-5, 1e-7)
    for g, tp in zip(model.gradients(), net.parameters()):
        _close(g, tp.grad.numpy(), 1e-4, 1e-6)


@pytest.mark.parametrize("kind, width, rows", [(k, w, r) for k in KINDS for w in (1, 7, 33) for r in (1, 2, 300)])
def test_inference_matches_torch_eval(kind, width, rows):
    """predict uses the running statistics (BatchNorm) in eval mode; one row is fine; 300 rows
    cross the 256-row inference chunk."""
    model = fm.Sequential([fm.Dense(width), _norm(kind), fm.Dense(2)], input_dim=5, seed=3)
    _randomise_affine(model, 4)
    for b in model.buffers():  # non-trivial running statistics
        b[:] = np.random.default_rng(5).uniform(0.2, 2.0, b.shape)
    net = torch_twin(model).eval()
    x, _ = _data(6, rows, 5, 2)
    with torch.no_grad():
        expected = net(torch.from_numpy(x.astype(np.float64))).numpy()
    _close(model.predict(x), expected, 1e-5, 1e-6)


def test_layer_norm_of_width_one_outputs_beta():
    model = fm.Sequential([fm.Dense(1), fm.LayerNorm(), fm.Dense(1)], input_dim=3, seed=0)
    model.parameters()[3][:] = 0.75  # beta
    net = torch_twin(model)
    x, _ = _data(1, 9, 3, 1)
    with torch.no_grad():
        hidden = net[1](net[0](torch.from_numpy(x.astype(np.float64)))).numpy()
    assert np.all(hidden == 0.75)  # torch agrees: the normalised value of a single feature is 0
    w, b = model.parameters()[4:6]
    _close(model.predict(x), np.full((9, 1), 0.75 * w[0, 0] + b[0]), 1e-6, 1e-7)


# --------------------------------------------------------------------------- training
def _parity_model(kind_order, affine=True, track=True, momentum=0.1):
    """Dense(12, tanh) -> Norm blocks -> Dense(4). tanh rather than relu before the normalisation:
    a relu unit that is zero on all but one sample of a batch has a variance near 0, and the
    normalisation amplifies float32-vs-float64 differences there by 1/sqrt(var + eps) ~ 300, which
    would test the conditioning of the problem rather than the implementation."""
    layers = []
    for kind in kind_order:
        layers.append(fm.Dense(12, activation="tanh"))
        layers.append(fm.LayerNorm(elementwise_affine=affine) if kind == "layer_norm"
                      else fm.BatchNorm(momentum=momentum, affine=affine, track_running_stats=track))
    layers.append(fm.Dense(4))
    return fm.Sequential(layers, input_dim=9, seed=7)


TRAIN_CASES = [
    (("layer_norm",), True, True, 0.1),
    (("batch_norm",), True, True, 0.1),
    (("batch_norm",), False, True, 0.3),
    (("batch_norm",), True, False, 0.1),
    (("layer_norm", "batch_norm"), True, True, 0.1),
    (("batch_norm", "layer_norm"), False, True, 1.0),
]


@pytest.mark.parametrize("kinds, affine, track, momentum", TRAIN_CASES)
def test_ten_adam_steps_match_torch(kinds, affine, track, momentum):
    model = _parity_model(kinds, affine, track, momentum)
    model.compile(loss="mse", optimizer=fm.optim.Adam(lr=1e-2))
    net = torch_twin(model).train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    initial = [p.copy() for p in model.parameters()]
    for step in range(10):
        x, y = _data(100 + step, (2, 7, 16, 33)[step % 4], 9, 4, offset=1.0)
        loss = model.train_step(x, y)
        opt.zero_grad()
        t_loss = _torch_loss(net, x, y)
        t_loss.backward()
        opt.step()
        _close(loss, t_loss.item(), 1e-3, 1e-6)
    for p, tp in zip(model.parameters(), net.parameters()):
        _close(p, tp.detach().numpy(), 1e-3, 1e-5)
    for b, tb in zip(model.buffers(), twin_buffers(net)):
        _close(b, tb, 1e-3, 1e-6)
    for p, p0 in zip(model.parameters(), initial):
        assert np.abs(p - p0).max() > 1e-3  # every tensor (gamma and beta included) trained
    x, _ = _data(999, 40, 9, 4)
    with torch.no_grad():
        expected = net.eval()(torch.from_numpy(x.astype(np.float64))).numpy()
    _close(model.predict(x), expected, 1e-3, 1e-5)


def test_fit_updates_running_stats_like_torch_batches():
    """fit without shuffling: the running statistics after one epoch equal PyTorch's after the
    same batches (the last one short), and evaluate uses them."""
    model = fm.Sequential([fm.Dense(8), fm.BatchNorm(momentum=0.2), fm.Dense(2)], input_dim=3, seed=2)
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.05))
    net = torch_twin(model).train()
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    x, y = _data(3, 50, 3, 2, offset=-2.0)
    model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    for start in range(0, 50, 16):
        opt.zero_grad()
        _torch_loss(net, x[start:start + 16], y[start:start + 16]).backward()
        opt.step()
    for b, tb in zip(model.buffers(), twin_buffers(net)):
        _close(b, tb, 1e-4, 1e-6)
    with torch.no_grad():
        expected = _torch_loss(net.eval(), x, y).item()
    _close(model.evaluate(x, y)["loss"], expected, 1e-4, 1e-6)


def test_no_running_stats_uses_the_whole_batch_in_inference():
    """track_running_stats=False: predict normalises with the statistics of all of X at once
    (PyTorch eval on the whole batch), also beyond the 256-row inference chunk."""
    model = fm.Sequential([fm.Dense(4), fm.BatchNorm(track_running_stats=False), fm.Dense(2)], input_dim=3, seed=1)
    assert model.buffers() == []
    net = torch_twin(model).eval()
    x, _ = _data(8, 600, 3, 2, offset=5.0)
    with torch.no_grad():
        expected = net(torch.from_numpy(x.astype(np.float64))).numpy()
    _close(model.predict(x), expected, 1e-5, 1e-6)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        model.predict(x[:1])


# --------------------------------------------------------------------------- batches of one
def test_batch_of_one_in_training_raises_like_torch():
    model = fm.Sequential([fm.Dense(4), fm.BatchNorm(), fm.Dense(2)], input_dim=3, seed=0)
    model.compile(loss="mse", optimizer="adam")
    x, y = _data(0, 1, 3, 2)
    net = torch_twin(model).train()
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        net(torch.from_numpy(x.astype(np.float64)))
    before = [p.copy() for p in model.parameters()] + [b.copy() for b in model.buffers()]
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, got input size \(1, 4\)"):
        model.train_step(x, y)
    x5, y5 = _data(1, 5, 3, 2)
    for batch_size in (1, 4):  # every batch, or only the last one, has a single sample
        with pytest.raises(ValueError, match="a batch has 1 sample"):
            model.fit(x5, y5, batch_size=batch_size, verbose=0)
    after = model.parameters() + model.buffers()
    assert all(np.array_equal(a, b) for a, b in zip(before, after))  # refused before any step
    assert model.predict(x).shape == (1, 2)  # inference with running statistics: fine
    assert np.isfinite(model.evaluate(x, y)["loss"])
    model.fit(x5, y5, batch_size=5, verbose=0)  # one batch of 5: fine


def test_layer_norm_trains_on_a_batch_of_one():
    model = fm.Sequential([fm.Dense(4), fm.LayerNorm(), fm.Dense(2)], input_dim=3, seed=0)
    model.compile(loss="mse", optimizer="adam")
    x, y = _data(0, 1, 3, 2)
    assert np.isfinite(model.train_step(x, y))


# --------------------------------------------------------------------------- divergence, buffers, io
def test_a_diverging_step_leaves_running_stats_unchanged():
    model = fm.Sequential([fm.Dense(4), fm.BatchNorm(), fm.Dense(2)], input_dim=3, seed=0)
    model.compile(loss="mse", optimizer="sgd")
    x, y = _data(0, 4, 3, 2)
    model.train_step(x, y)
    before = [b.copy() for b in model.buffers()]
    model.parameters()[2][:] = 3e38  # gamma: the next Dense overflows to inf
    with pytest.raises(FloatingPointError):
        model.train_step(x, y)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.buffers()))


def test_buffers_are_writable_views():
    model = fm.Sequential([fm.Dense(3), fm.BatchNorm(), fm.Dense(1), fm.BatchNorm()], input_dim=2, seed=0)
    buffers = model.buffers()
    assert [b.shape for b in buffers] == [(3,), (3,), (1,), (1,)]
    assert [b.tolist() for b in buffers] == [[0, 0, 0], [1, 1, 1], [0], [1]]
    buffers[0][:] = 100.0
    x = np.ones((2, 2), np.float32)
    shifted = model.predict(x)
    buffers[0][:] = 0.0
    assert not np.allclose(shifted, model.predict(x))


@pytest.mark.parametrize("affine, track", [(True, True), (False, True), (True, False), (False, False)])
def test_save_load_round_trip(tmp_path, affine, track):
    model = fm.Sequential(
        [fm.Dense(6, activation="tanh"), fm.BatchNorm(momentum=0.3, eps=1e-3, affine=affine, track_running_stats=track),
         fm.Dense(5), fm.LayerNorm(eps=1e-4, elementwise_affine=affine), fm.Dense(2)], input_dim=4, seed=3)
    model.compile(loss="mse", optimizer="adam")
    x, y = _data(2, 30, 4, 2)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "norm.safetensors"
    model.save(path)
    loaded = fm.load(path)
    assert loaded.get_config() == model.get_config()
    for a, b in zip(model.parameters() + model.buffers(), loaded.parameters() + loaded.buffers()):
        assert np.array_equal(a, b)
    assert len(loaded.buffers()) == (2 if track else 0)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "make, exc, fragment",
    [
        (lambda: fm.LayerNorm(eps=0.0), ValueError, "eps must be a finite number > 0"),
        (lambda: fm.LayerNorm(eps=-1e-5), ValueError, "eps must be a finite number > 0"),
        (lambda: fm.LayerNorm(eps=float("nan")), ValueError, "eps must be"),
        (lambda: fm.LayerNorm(eps=1e-60), ValueError, "which is 0 in float32"),
        (lambda: fm.LayerNorm(eps="1e-5"), TypeError, "eps must be a number"),
        (lambda: fm.LayerNorm(elementwise_affine=1), TypeError, "elementwise_affine must be True or False"),
        (lambda: fm.BatchNorm(momentum=1.5), ValueError, "momentum must be in [0, 1]"),
        (lambda: fm.BatchNorm(momentum=-0.1), ValueError, "momentum must be in [0, 1]"),
        (lambda: fm.BatchNorm(momentum="0.1"), TypeError, "momentum must be a number or None"),
        (lambda: fm.BatchNorm(eps=float("inf")), ValueError, "eps must be"),
        (lambda: fm.BatchNorm(affine="yes"), TypeError, "affine must be True or False"),
        (lambda: fm.BatchNorm(track_running_stats=None), TypeError, "track_running_stats must be True or False"),
    ],
)
def test_bad_arguments_are_rejected(make, exc, fragment):
    with pytest.raises(exc) as info:
        make()
    assert fragment in str(info.value)


def test_momentum_none_is_the_cumulative_average():
    """Once refused with TypeError: momentum=None is PyTorch's cumulative moving average, with a
    num_batches_tracked counter after the running statistics."""
    layer = fm.BatchNorm(momentum=None)
    assert layer.momentum is None and layer.get_config()["momentum"] is None
    model = fm.Sequential([fm.Dense(3), layer, fm.Dense(1)], input_dim=2, seed=0)
    assert [(b.dtype, b.shape) for b in model.buffers()] == [(np.float32, (3,)), (np.float32, (3,)), (np.int64, ())]
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.0))
    x1, y1 = _data(0, 4, 2, 1)
    x2, y2 = _data(1, 6, 2, 1)
    model.train_step(x1, y1)
    model.train_step(x2, y2)
    w, b = (p.astype(np.float64) for p in model.parameters()[:2])
    means = [(x.astype(np.float64) @ w.T + b).mean(axis=0) for x in (x1, x2)]
    assert int(model.buffers()[2]) == 2
    _close(model.buffers()[0], (means[0] + means[1]) / 2, 1e-5, 1e-6)


def test_config_round_trip_and_repr():
    layers = [fm.LayerNorm(eps=1e-3, elementwise_affine=False), fm.BatchNorm(0.2, 1e-4, False, False)]
    for layer in layers:
        again = fm.layers.from_config(layer.get_config())
        assert again.get_config() == layer.get_config()
    assert repr(layers[1]) == "BatchNorm(momentum=0.2, eps=0.0001, affine=False, track_running_stats=False)"


# --------------------------------------------------------------------------- hostile files
def _saved_norm_model(tmp_path):
    """Tensors: layers.0.weight (3, 2), layers.0.bias (3,), layers.1.weight/.bias (3,) (gamma, beta),
    layers.2.weight (1, 3), layers.2.bias (1,), then layers.1.running_mean/.running_var (3,)."""
    model = fm.Sequential([fm.Dense(3), fm.BatchNorm(), fm.Dense(1), fm.LayerNorm()], input_dim=2, seed=0)
    model.compile(loss="mse", optimizer="adam")
    x, y = _data(0, 10, 2, 1)
    model.fit(x, y, batch_size=5, verbose=0)
    path = tmp_path / "norm.safetensors"
    model.save(path)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def _write(path, header, data):
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)
    path.write_bytes(struct.pack("<Q", len(hb)) + hb + data)


def _set_value(name, index, value, fix_crc=True):
    def mutate(h, d):
        b, _ = h[name]["data_offsets"]
        d = bytearray(d)
        d[b + 4 * index: b + 4 * index + 4] = np.array([value], "<f4").tobytes()
        if fix_crc:  # a writer of bad values would also write a matching checksum
            del h["__metadata__"]["weights_crc32"]
        return h, bytes(d)
    return mutate


def _arch_edit(fn):
    def mutate(h, d):
        config = json.loads(h["__metadata__"]["architecture"])
        fn(config)
        h["__metadata__"]["architecture"] = json.dumps(config)
        return h, d
    return mutate


def _layer_set(i, key, value):
    return _arch_edit(lambda c: c["layers"][i].__setitem__(key, value))


def _reshape(name, shape):
    def mutate(h, d):
        h[name]["shape"] = shape
        return h, d
    return mutate


def _remove(name):
    def mutate(h, d):
        del h[name]
        return h, d
    return mutate


def _stack_norms(config):
    """A small file declaring 200 parameter-free LayerNorms over 1000 units: ~200k activation
    values per sample for ~9k parameters."""
    config["layers"][0]["units"] = 1000
    config["layers"][1:1] = [{"type": "LayerNorm", "eps": 1e-5, "elementwise_affine": False}] * 200


NORM_HOSTILE = [
    ("running_var_negative", _set_value("layers.1.running_var", 1, -0.5), "layers.1.running_var holds a negative variance"),
    ("running_var_nan", _set_value("layers.1.running_var", 0, np.nan), "layers.1.running_var contains NaN"),
    ("running_mean_inf", _set_value("layers.1.running_mean", 2, np.inf), "layers.1.running_mean contains NaN or infinite"),
    ("gamma_nan", _set_value("layers.1.weight", 0, np.nan), "layers.1.weight contains NaN"),
    ("running_var_flipped_bit", _set_value("layers.1.running_var", 0, 7.0, fix_crc=False), "corrupted: CRC-32"),
    ("running_mean_wrong_shape", _reshape("layers.1.running_mean", [4]), "layers.1.running_mean has shape [4]"),
    ("running_var_2d", _reshape("layers.1.running_var", [3, 1]), "layers.1.running_var has shape [3, 1]"),
    ("gamma_wrong_shape", _reshape("layers.3.weight", [2]), "layers.3.weight has shape [2]"),
    ("running_var_missing", _remove("layers.1.running_var"), "missing tensors ['layers.1.running_var']"),
    ("untracked_but_stored", _layer_set(1, "track_running_stats", False),
     "unexpected tensors ['layers.1.running_mean', 'layers.1.running_var']"),
    ("no_affine_but_stored", _layer_set(3, "elementwise_affine", False),
     "unexpected tensors ['layers.3.bias', 'layers.3.weight']"),
    ("eps_zero", _layer_set(3, "eps", 0), "layers[3]: eps must be a finite number > 0"),
    ("eps_negative", _layer_set(1, "eps", -1e-5), "layers[1]: eps must be a finite number > 0"),
    ("eps_underflows_float32", _layer_set(1, "eps", 1e-60), "which is 0 in float32"),
    ("eps_string", _layer_set(1, "eps", "1e-5"), "layers[1]: eps must be a number"),
    ("momentum_above_one", _layer_set(1, "momentum", 1.5), "layers[1]: momentum must be in [0, 1]"),
    ("momentum_null_without_counter", _layer_set(1, "momentum", None), "missing tensors ['layers.1.num_batches_tracked']"),
    ("affine_int", _layer_set(1, "affine", 1), "layers[1]: affine must be True or False"),
    ("track_string", _layer_set(1, "track_running_stats", "yes"), "layers[1]: track_running_stats must be True or False"),
    ("norm_missing_key", _arch_edit(lambda c: c["layers"][1].pop("momentum")), "layers[1] lacks 'momentum'"),
    ("norm_unknown_key", _layer_set(3, "momentum", 0.1), "layers[3] has unknown keys ['momentum']"),
    ("stacked_norms", _arch_edit(_stack_norms), "activation values per sample"),
]


@pytest.mark.parametrize("mutate, fragment", [c[1:] for c in NORM_HOSTILE], ids=[c[0] for c in NORM_HOSTILE])
def test_hostile_norm_files_are_refused(tmp_path, mutate, fragment):
    header, data = _saved_norm_model(tmp_path)
    header, data = mutate(header, data)
    path = tmp_path / "bad.safetensors"
    _write(path, header, data)
    with pytest.raises(ValueError) as info:
        fm.load(path)
    assert fragment in str(info.value) and str(path) in str(info.value), str(info.value)


def test_a_file_declaring_momentum_null_with_its_counter_loads(tmp_path):
    """Once refused ("momentum must be a number"): "momentum": null is a BatchNorm(momentum=None),
    whose file holds layers.1.num_batches_tracked (I64, shape [])."""
    header, data = _saved_norm_model(tmp_path)
    header, data = _layer_set(1, "momentum", None)(header, data)
    del header["__metadata__"]["weights_crc32"]
    header["layers.1.num_batches_tracked"] = {"dtype": "I64", "shape": [], "data_offsets": [len(data), len(data) + 8]}
    path = tmp_path / "null.safetensors"
    _write(path, header, data + struct.pack("<q", 41))
    model = fm.load(path)
    assert model.layers[1].momentum is None
    assert int(model.buffers()[2]) == 41
    model.train_step(*_data(1, 5, 2, 1))
    assert int(model.buffers()[2]) == 42


def test_a_file_from_before_norm_layers_still_loads(tmp_path):
    """Old files (Dense/Dropout only, no buffers, no kernel_regularizer key) load unchanged."""
    model = fm.Sequential([fm.Dense(4, activation="relu"), fm.Dropout(0.5), fm.Dense(2)], input_dim=3, seed=4)
    path = tmp_path / "old.safetensors"
    model.save(path)
    header = json.loads(path.read_bytes()[8:8 + struct.unpack("<Q", path.read_bytes()[:8])[0]])
    assert sorted(k for k in header if k != "__metadata__") == [
        "layers.0.bias", "layers.0.weight", "layers.2.bias", "layers.2.weight"]
    assert "kernel_regularizer" not in header["__metadata__"]["architecture"]
    loaded = fm.load(path)
    assert loaded.buffers() == []
    for a, b in zip(model.parameters(), loaded.parameters()):
        assert np.array_equal(a, b)


def test_save_refuses_a_negative_running_variance(tmp_path):
    model = fm.Sequential([fm.Dense(3), fm.BatchNorm(), fm.Dense(1)], input_dim=2, seed=0)
    model.buffers()[1][0] = -1.0
    with pytest.raises(ValueError, match="layers.1.running_var holds a negative variance"):
        model.save(tmp_path / "neg.safetensors")
    assert not (tmp_path / "neg.safetensors").exists()
