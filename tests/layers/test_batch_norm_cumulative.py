"""fm.BatchNorm(momentum=None): PyTorch's cumulative moving average of the batch statistics
(factor 1/num_batches_tracked), its counter (a 0-d int64 buffer, as in PyTorch) saved, loaded,
converted to and from PyTorch, and files of BatchNorm layers with a momentum unchanged."""

from __future__ import annotations

import json
import pickle
import struct

import numpy as np
import pytest
import torch

import fastmlp as fm
from torch_twin import torch_twin, twin_buffers


def _data(seed, rows, n_in=5, n_out=2):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((rows, n_in)) * 2 + 1).astype(np.float32)
    return x, rng.standard_normal((rows, n_out)).astype(np.float32)


def _model(seed=0, affine=True, optimizer=None):
    model = fm.Sequential([fm.Dense(6, activation="tanh"), fm.BatchNorm(momentum=None, affine=affine), fm.Dense(2)],
                          input_dim=5, seed=seed)
    model.compile(loss="mse", optimizer=optimizer or fm.optim.SGD(lr=0.05))
    return model


def _read(raw):
    """(header, {name: bytes}) of a safetensors file's bytes."""
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    chunks = {k: data[v["data_offsets"][0]:v["data_offsets"][1]] for k, v in header.items() if k != "__metadata__"}
    return header, chunks


def _write(path, header, chunks):
    """Writes `header` with `chunks` laid out in name order (offsets rewritten)."""
    pos, body = 0, b""
    for name in sorted(chunks):
        header[name]["data_offsets"] = [pos, pos + len(chunks[name])]
        pos += len(chunks[name])
        body += chunks[name]
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)
    path.write_bytes(struct.pack("<Q", len(hb)) + hb + body)


# --------------------------------------------------------------------------- the average
@pytest.mark.parametrize("affine", [True, False])
def test_running_statistics_are_the_cumulative_average_like_torch(affine):
    """Six SGD steps of batches of different sizes, against torch in float64: the counter, the
    running statistics after every step and the weights."""
    model = _model(affine=affine)
    net = torch_twin(model).train()
    assert net[2].momentum is None and int(net[2].num_batches_tracked) == 0
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    for step, rows in enumerate((2, 7, 16, 3, 33, 8)):
        x, y = _data(step, rows)
        model.train_step(x, y)
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(torch.from_numpy(x.astype(np.float64))),
                                     torch.from_numpy(y.astype(np.float64))).backward()
        opt.step()
        running_mean, running_var, counter = model.buffers()
        assert counter.dtype == np.int64 and counter.shape == ()
        assert int(counter) == step + 1 == int(net[2].num_batches_tracked)
        expected = twin_buffers(net)
        assert expected[2].dtype == np.int64 and int(expected[2]) == step + 1
        np.testing.assert_allclose(running_mean, expected[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(running_var, expected[1], rtol=1e-5, atol=1e-6)
    for p, tp in zip(model.parameters(), net.parameters()):
        np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-4, atol=1e-6)
    x, _ = _data(50, 11)
    np.testing.assert_allclose(model.predict(x), net.eval()(torch.from_numpy(x.astype(np.float64))).detach().numpy(),
                               rtol=1e-4, atol=1e-5)


def test_cumulative_average_is_the_plain_mean_of_the_batch_statistics():
    """With lr 0 the batches' statistics do not move: after k steps the running mean is their
    plain average (unbiased variances likewise), which no fixed momentum gives."""
    model = fm.Sequential([fm.BatchNorm(momentum=None, affine=False), fm.Dense(1)], input_dim=3, seed=0)
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.0))
    means, variances = [], []
    for step, rows in enumerate((9, 4, 17, 2, 30)):
        x, y = _data(step, rows, n_in=3, n_out=1)
        model.train_step(x, y)
        means.append(x.astype(np.float64).mean(axis=0))
        variances.append(x.astype(np.float64).var(axis=0, ddof=1))
    running_mean, running_var, counter = model.buffers()
    assert int(counter) == 5
    np.testing.assert_allclose(running_mean, np.mean(means, axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(running_var, np.mean(variances, axis=0), rtol=1e-5, atol=1e-6)
    # the first step replaces the initial 0/1 entirely (factor 1/1)
    first = fm.Sequential([fm.BatchNorm(momentum=None, affine=False), fm.Dense(1)], input_dim=3, seed=0)
    first.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.0))
    first.train_step(*_data(0, 9, n_in=3, n_out=1))
    np.testing.assert_allclose(first.buffers()[0], means[0], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(first.buffers()[1], variances[0], rtol=1e-6, atol=1e-7)


def test_momentum_layers_keep_their_update_and_no_counter():
    """A BatchNorm with a momentum next to a cumulative one: the momentum layer moves by its
    factor (as torch) and has no counter in buffers()."""
    model = fm.Sequential([fm.Dense(4), fm.BatchNorm(momentum=0.3), fm.Dense(4), fm.BatchNorm(momentum=None),
                           fm.Dense(1)], input_dim=3, seed=1)
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.01))
    net = torch_twin(model).train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    for step in range(4):
        x, y = _data(step, 6, n_in=3, n_out=1)
        model.train_step(x, y)
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(torch.from_numpy(x.astype(np.float64))),
                                     torch.from_numpy(y.astype(np.float64))).backward()
        opt.step()
    buffers = model.buffers()
    assert [(b.dtype, b.shape) for b in buffers] == [(np.float32, (4,))] * 4 + [(np.int64, ())]
    assert int(buffers[4]) == 4
    for b, tb in zip(buffers, twin_buffers(net)):
        np.testing.assert_allclose(b, tb, rtol=1e-5, atol=1e-6)


def test_a_diverged_step_is_not_counted():
    model = _model()
    model.train_step(*_data(0, 8))
    before = [np.array(b) for b in model.buffers()]
    model.parameters()[2][:] = 3e38  # gamma: the next Dense overflows to inf
    with pytest.raises(FloatingPointError):
        model.train_step(*_data(1, 8))
    assert int(model.buffers()[2]) == 1
    for a, b in zip(before, model.buffers()):
        np.testing.assert_array_equal(a, b)


def test_the_counter_view_is_writable_and_a_negative_count_is_refused():
    model = _model()
    model.buffers()[2][...] = 9  # as if nine batches had been averaged
    x, y = _data(0, 8)
    w, b = (p.astype(np.float64) for p in model.parameters()[:2])
    batch_mean = np.tanh(x.astype(np.float64) @ w.T + b).mean(axis=0)  # the BatchNorm's input, before the step
    model.train_step(x, y)
    assert int(model.buffers()[2]) == 10
    np.testing.assert_allclose(model.buffers()[0], batch_mean / 10, rtol=1e-5, atol=1e-7)  # 0 * 9/10 + batch/10
    model.buffers()[2][...] = -1
    with pytest.raises(ValueError, match="num_batches_tracked is negative"):
        model.train_step(x, y)
    with pytest.raises(ValueError, match="num_batches_tracked is negative"):
        model.fit(x, y, batch_size=4, verbose=0)


def test_track_running_stats_false_has_no_counter():
    model = fm.Sequential([fm.Dense(3), fm.BatchNorm(momentum=None, track_running_stats=False), fm.Dense(1)],
                          input_dim=2)
    assert model.buffers() == []
    assert fm.layers.tensor_table(model.layers, 2).buffers == []


# --------------------------------------------------------------------------- schema and config
def test_config_repr_and_schema():
    layer = fm.BatchNorm(momentum=None)
    assert layer.momentum is None
    assert layer.get_config() == {"type": "BatchNorm", "momentum": None, "eps": 1e-5, "affine": True,
                                  "track_running_stats": True}
    assert repr(layer) == "BatchNorm(momentum=None, eps=1e-05, affine=True, track_running_stats=True)"
    again = fm.layers.from_config(json.loads(json.dumps(layer.get_config())))
    assert isinstance(again, fm.BatchNorm) and again.momentum is None
    assert layer._core_spec().momentum is None
    assert fm.BatchNorm(momentum=0.25)._core_spec().momentum == 0.25
    own = layer.tensors(4)
    assert own.buffers == [("running_mean", (4,)), ("running_var", (4,)), ("num_batches_tracked", ())]
    assert layer.tensor_dtype("num_batches_tracked") == "I64" and layer.tensor_dtype("running_var") == "F32"
    table = fm.layers.tensor_table([fm.Dense(4), layer, fm.Dense(1)], 3)
    assert table.dtype("layers.1.num_batches_tracked") == "I64"
    assert table.dtype("layers.1.running_mean") == "F32" and table.dtype("layers.0.weight") == "F32"
    assert fm.layers.tensor_table([fm.Dense(4), fm.BatchNorm(), fm.Dense(1)], 3).dtypes == {}
    model = fm.Sequential([fm.Dense(4), layer, fm.Dense(1)], input_dim=3)
    assert fm.Sequential.from_config(model.get_config()).layers[1].momentum is None


@pytest.mark.parametrize("bad, exc, fragment", [
    ("0.1", TypeError, "momentum must be a number or None"),
    (True, TypeError, "momentum must be a number or None"),
    (1.5, ValueError, "momentum must be in [0, 1]"),
    (float("nan"), ValueError, "momentum must be in [0, 1]"),
])
def test_momentum_must_be_none_or_a_number_in_0_1(bad, exc, fragment):
    with pytest.raises(exc) as info:
        fm.BatchNorm(momentum=bad)
    assert fragment in str(info.value)


# --------------------------------------------------------------------------- files
def test_fit_save_load_resume_continues_the_average_bit_for_bit(tmp_path):
    """3 epochs + save/load + 3 epochs == 6 epochs, counter and running statistics included."""
    x, y = _data(7, 90)
    straight = _model(seed=3, optimizer=fm.optim.Adam(lr=0.01))
    straight.fit(x, y, epochs=6, batch_size=16, verbose=0)
    first = _model(seed=3, optimizer=fm.optim.Adam(lr=0.01))
    first.fit(x, y, epochs=3, batch_size=16, verbose=0)
    path = tmp_path / "bn.safetensors"
    first.save(path)
    resumed = fm.load(path)
    assert resumed.layers[1].momentum is None
    assert resumed.buffers()[2].dtype == np.int64 and int(resumed.buffers()[2]) == 3 * 6
    resumed.fit(x, y, epochs=6, batch_size=16, verbose=0, initial_epoch=resumed.epoch)
    assert int(resumed.buffers()[2]) == int(straight.buffers()[2]) == 6 * 6
    for a, b in zip(straight.parameters() + straight.buffers(), resumed.parameters() + resumed.buffers()):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_weights_only_file_and_bytes_keep_the_counter(tmp_path):
    model = _model()
    for step in range(3):
        model.train_step(*_data(step, 8))
    path = tmp_path / "weights.safetensors"
    model.save(path, include_optimizer=False)
    header, chunks = _read(path.read_bytes())
    assert header["layers.1.num_batches_tracked"]["dtype"] == "I64"
    assert header["layers.1.num_batches_tracked"]["shape"] == []
    assert chunks["layers.1.num_batches_tracked"] == struct.pack("<q", 3)
    loaded = fm.load(path)
    assert not loaded.compiled and int(loaded.buffers()[2]) == 3
    for a, b in zip(model.buffers(), loaded.buffers()):
        np.testing.assert_array_equal(a, b)
    copy = pickle.loads(pickle.dumps(model))
    assert int(copy.buffers()[2]) == 3
    assert int(fm.io.from_bytes(fm.io.to_bytes(model, include_optimizer=False)).buffers()[2]) == 3


def test_files_of_batch_norm_with_a_momentum_hold_no_counter(tmp_path):
    model = fm.Sequential([fm.Dense(4), fm.BatchNorm(momentum=0.1), fm.Dense(1)], input_dim=3)
    model.compile(loss="mse", optimizer="sgd")
    model.fit(*_data(0, 12, n_in=3, n_out=1), batch_size=4, verbose=0)
    path = tmp_path / "m.safetensors"
    model.save(path)
    header, _ = _read(path.read_bytes())
    assert sorted(k for k in header if k.startswith("layers.")) == [
        "layers.0.bias", "layers.0.weight", "layers.1.bias", "layers.1.running_mean", "layers.1.running_var",
        "layers.1.weight", "layers.2.bias", "layers.2.weight"]
    assert {v["dtype"] for k, v in header.items() if k != "__metadata__"} == {"F32"}
    assert len(fm.load(path).buffers()) == 2


def _counter_file(tmp_path):
    model = _model()
    for step in range(2):
        model.train_step(*_data(step, 8))
    path = tmp_path / "bn.safetensors"
    model.save(path)
    return _read(path.read_bytes())


def _drop_crc(header):
    del header["__metadata__"]["weights_crc32"]  # a writer of bad values writes a matching checksum


def test_hostile_negative_counter_is_refused(tmp_path):
    header, chunks = _counter_file(tmp_path)
    chunks["layers.1.num_batches_tracked"] = struct.pack("<q", -5)
    _drop_crc(header)
    _write(tmp_path / "bad.safetensors", header, chunks)
    with pytest.raises(ValueError, match=r"bad\.safetensors.*layers\.1\.num_batches_tracked holds a negative count -5"):
        fm.load(tmp_path / "bad.safetensors")


def test_a_changed_counter_breaks_the_crc(tmp_path):
    header, chunks = _counter_file(tmp_path)
    chunks["layers.1.num_batches_tracked"] = struct.pack("<q", 7)
    _write(tmp_path / "bad.safetensors", header, chunks)
    with pytest.raises(ValueError, match="corrupted: CRC-32"):
        fm.load(tmp_path / "bad.safetensors")
    _drop_crc(header)
    _write(tmp_path / "ok.safetensors", header, chunks)  # without a checksum, any count >= 0 loads
    assert int(fm.load(tmp_path / "ok.safetensors").buffers()[2]) == 7


@pytest.mark.parametrize("dtype, data, fragment", [
    ("F32", struct.pack("<f", 2.0), "has dtype 'F32'; fastmlp stores 'I64' (int64)"),
    ("I32", struct.pack("<i", 2), "has dtype 'I32'; fastmlp stores 'I64' (int64)"),
    ("F64", struct.pack("<d", 2.0), "has dtype 'F64'; fastmlp stores 'I64' (int64)"),
])
def test_hostile_counter_dtype_is_refused(tmp_path, dtype, data, fragment):
    header, chunks = _counter_file(tmp_path)
    header["layers.1.num_batches_tracked"]["dtype"] = dtype
    chunks["layers.1.num_batches_tracked"] = data
    _drop_crc(header)
    _write(tmp_path / "bad.safetensors", header, chunks)
    with pytest.raises(ValueError) as info:
        fm.load(tmp_path / "bad.safetensors")
    assert "layers.1.num_batches_tracked" in str(info.value) and fragment in str(info.value)


@pytest.mark.parametrize("shape, data, fragment", [
    ([1], struct.pack("<q", 2), "has shape [1]; the architecture needs []"),
    ([], struct.pack("<i", 2), "span 4 bytes; shape [] in int64 needs 8"),
])
def test_hostile_counter_shape_or_size_is_refused(tmp_path, shape, data, fragment):
    header, chunks = _counter_file(tmp_path)
    header["layers.1.num_batches_tracked"]["shape"] = shape
    chunks["layers.1.num_batches_tracked"] = data
    _drop_crc(header)
    _write(tmp_path / "bad.safetensors", header, chunks)
    with pytest.raises(ValueError) as info:
        fm.load(tmp_path / "bad.safetensors")
    assert fragment in str(info.value)


def test_hostile_counter_on_a_momentum_layer_is_refused(tmp_path):
    header, chunks = _counter_file(tmp_path)
    architecture = json.loads(header["__metadata__"]["architecture"])
    architecture["layers"][1]["momentum"] = 0.1
    header["__metadata__"]["architecture"] = json.dumps(architecture)
    _drop_crc(header)
    _write(tmp_path / "bad.safetensors", header, chunks)
    with pytest.raises(ValueError, match=r"unexpected tensors \['layers\.1\.num_batches_tracked'\]"):
        fm.load(tmp_path / "bad.safetensors")


def test_a_float_counter_from_a_torch_state_dict_style_writer_is_not_read_as_float(tmp_path):
    """The counter of a momentum=None layer stored as F32 1.0 would be 0x3f800000 as int64: refused,
    not misread."""
    header, chunks = _counter_file(tmp_path)
    header["layers.1.num_batches_tracked"] = {"dtype": "F32", "shape": [2], "data_offsets": [0, 0]}
    chunks["layers.1.num_batches_tracked"] = struct.pack("<ff", 1.0, 0.0)
    _drop_crc(header)
    _write(tmp_path / "bad.safetensors", header, chunks)
    with pytest.raises(ValueError, match="has dtype 'F32'"):
        fm.load(tmp_path / "bad.safetensors")


# --------------------------------------------------------------------------- torch and onnx
def test_torch_round_trip():
    model = _model()
    for step in range(4):
        model.train_step(*_data(step, 8))
    net = model.to_torch()
    assert net[2].momentum is None and net[2].num_batches_tracked.dtype == torch.int64
    assert int(net[2].num_batches_tracked) == 4
    again = fm.from_torch(net)
    assert again.layers[1].momentum is None and again.buffers()[2].dtype == np.int64 and int(again.buffers()[2]) == 4
    for a, b in zip(model.parameters() + model.buffers(), again.parameters() + again.buffers()):
        np.testing.assert_array_equal(a, b)
    x, _ = _data(99, 10)
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    # a momentum layer's torch counter (torch counts there too) is not carried over
    torch_net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4, momentum=0.2))
    torch_net.train()(torch.randn(5, 3))
    assert int(torch_net[1].num_batches_tracked) == 1
    assert [b.shape for b in fm.from_torch(torch_net).buffers()] == [(4,), (4,)]


def test_from_torch_continues_torchs_average():
    """A torch BatchNorm1d(momentum=None) trained 3 steps, converted, then trained 2 more steps in
    both with lr 0: the running statistics stay equal (the counter carried over)."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4, momentum=None), torch.nn.Linear(4, 1))
    net.train()
    batches = [_data(s, 6, n_in=3, n_out=1) for s in range(5)]
    with torch.no_grad():
        for x, _ in batches[:3]:
            net(torch.from_numpy(x))
    model = fm.from_torch(net)
    assert int(model.buffers()[2]) == 3
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.0))
    with torch.no_grad():
        for x, y in batches[3:]:
            net(torch.from_numpy(x))
            model.train_step(x, y)
    assert int(model.buffers()[2]) == 5 == int(net[1].num_batches_tracked)
    np.testing.assert_allclose(model.buffers()[0], net[1].running_mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.buffers()[1], net[1].running_var.numpy(), rtol=1e-5, atol=1e-6)


def test_from_torch_refuses_a_negative_counter():
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4, momentum=None))
    net[1].num_batches_tracked.fill_(-2)
    with pytest.raises(ValueError, match=r"module 1.*num_batches_tracked is negative \(-2\)"):
        fm.from_torch(net)


def test_onnx_export_uses_the_running_statistics(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    model = _model()
    for step in range(3):
        model.train_step(*_data(step, 8))
    path = tmp_path / "bn.onnx"
    fm.onnx.export(model, path)
    import onnx

    names = {init.name for init in onnx.load(str(path)).graph.initializer}
    assert "layers.1.running_mean" in names and not any("num_batches_tracked" in n for n in names)
    x, _ = _data(5, 7)
    (out,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x})
    np.testing.assert_allclose(out, model.predict(x), rtol=1e-5, atol=1e-6)
