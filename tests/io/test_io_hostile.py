"""fm.load on truncated, corrupted and hostile files: every one raises a clear error (ValueError
naming the file and what is wrong; OSError for a missing path or a directory) before the model is
allocated, never a crash, a hang, a huge allocation or a wrong model. Also: save -> load round
trips and interoperability with the safetensors library."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

import fastmlp as fm
from fastmlp import io as fmio


# --------------------------------------------------------------------------- helpers
def _small_model(seed=1):
    """Tensors layers.0.weight (5, 4), layers.0.bias (5,), layers.2.weight (3, 5), layers.2.bias (3,)."""
    return fm.Sequential([fm.Dense(5, activation="relu"), fm.Dropout(0.25), fm.Dense(3)], input_dim=4, seed=seed)


def _split(raw: bytes):
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def _pack(header, data: bytes) -> bytes:
    """Serialises a header dict like safetensors does: compact JSON padded with spaces to 8 bytes."""
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)
    return struct.pack("<Q", len(hb)) + hb + data


def _arch(header):
    return json.loads(header["__metadata__"]["architecture"])


def _set_arch(header, config):
    header["__metadata__"]["architecture"] = json.dumps(config)


@pytest.fixture
def original(tmp_path):
    """(bytes of a saved small model, the model)."""
    model = _small_model()
    path = tmp_path / "orig.safetensors"
    model.save(path)
    return path.read_bytes(), model


@pytest.fixture
def no_network(monkeypatch):
    """Fails the test if anything builds a network (allocates a model)."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"load built a network {args[:2]} from an invalid file")

    monkeypatch.setattr(fm._core, "Network", refuse)


def _expect(path, exc, fragment):
    with pytest.raises(exc) as info:
        fm.load(path)
    message = str(info.value)
    assert fragment in message, message
    if exc is ValueError:
        assert str(path) in message, message
    return message


# --------------------------------------------------------------------------- raw-byte cases
def _with_length(raw, n):
    return struct.pack("<Q", n) + raw[8:]


RAW_CASES = [
    ("empty", lambda raw: b"", "0 bytes long, too short"),
    ("7_bytes", lambda raw: raw[:7], "7 bytes long, too short"),
    ("8_bytes", lambda raw: raw[:8], "exceeds the 0 bytes after it"),
    ("length_past_end", lambda raw: _with_length(raw, len(raw)), "exceeds the"),
    ("length_2**63", lambda raw: _with_length(raw, 2**63), f"header length {2**63} exceeds"),
    ("length_2**64-1", lambda raw: _with_length(raw, 2**64 - 1), "exceeds"),
    ("length_zero", lambda raw: _with_length(raw, 0), "not valid JSON"),
    ("length_minus_one", lambda raw: _with_length(raw, struct.unpack("<Q", raw[:8])[0] - 1), "cannot load"),
    ("length_plus_one", lambda raw: _with_length(raw, struct.unpack("<Q", raw[:8])[0] + 1), "cannot load"),
    ("not_json", lambda raw: _pack_raw(b"hello, world!!!!"), "header is not valid JSON"),
    ("not_utf8", lambda raw: _pack_raw(b'{"\xff":1}'), "not valid UTF-8"),
    ("json_array", lambda raw: _pack_raw(b"[]"), "must be a JSON object, got list"),
    ("json_string", lambda raw: _pack_raw(b'"x"'), "must be a JSON object, got str"),
    ("json_null", lambda raw: _pack_raw(b"null"), "must be a JSON object, got NoneType"),
    ("json_nan", lambda raw: _pack_raw(b'{"x":NaN}'), "NaN, which is not valid JSON"),
    ("duplicate_key", lambda raw: _pack_raw(b'{"__metadata__":{},"__metadata__":{}}'), "repeats the key '__metadata__'"),
    ("huge_integer", lambda raw: _pack_raw(b'{"x":' + b"9" * 5000 + b"}"), "integer of 5000 digits"),
    ("deep_nesting", lambda raw: _pack_raw(b"[" * 200_000 + b"]" * 200_000), "nested too deeply"),
    ("header_only_padding", lambda raw: _pack_raw(b" " * 64), "not valid JSON"),
]


def _pack_raw(hb: bytes) -> bytes:
    return struct.pack("<Q", len(hb)) + hb


@pytest.mark.parametrize("mutate, fragment", [c[1:] for c in RAW_CASES], ids=[c[0] for c in RAW_CASES])
def test_raw_byte_corruption_raises_value_error(tmp_path, original, no_network, mutate, fragment):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(mutate(original[0]))
    _expect(path, ValueError, fragment)


def test_header_length_above_the_limit_is_refused_without_reading_it(tmp_path, no_network):
    path = tmp_path / "big_header.safetensors"
    n = fmio.MAX_HEADER_BYTES + 1
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", n))
        f.truncate(8 + n + 100)  # sparse: a file large enough to hold the claimed header
    _expect(path, ValueError, f"header length {n} exceeds the limit")


# --------------------------------------------------------------------------- header cases
def _del_meta(key):
    def mutate(h, d):
        del h["__metadata__"][key]
        return h, d

    return mutate


def _meta(key, value):
    def mutate(h, d):
        h["__metadata__"][key] = value
        return h, d

    return mutate


def _config(fn):
    def mutate(h, d):
        config = _arch(h)
        fn(config)
        _set_arch(h, config)
        return h, d

    return mutate


def _layer(i, key, value):
    return _config(lambda c: c["layers"][i].__setitem__(key, value))


def _entry(name, key, value):
    def mutate(h, d):
        h[name][key] = value
        return h, d

    return mutate


def _tensor_as(name, dtype, itemsize):
    """Re-encodes one tensor with another dtype, offsets consistent with the new sizes."""

    def mutate(h, d):
        chunks = {}
        for k, v in h.items():
            if k != "__metadata__":
                chunks[k] = d[v["data_offsets"][0] : v["data_offsets"][1]]
        count = len(chunks[name]) // 4
        chunks[name] = b"\0" * (count * itemsize)
        h[name]["dtype"] = dtype
        pos, out = 0, []
        for k in sorted(chunks, key=lambda k: h[k]["data_offsets"][0]):
            h[k]["data_offsets"] = [pos, pos + len(chunks[k])]
            pos += len(chunks[k])
            out.append(chunks[k])
        return h, b"".join(out)

    return mutate


def _last_tensor(h):
    return max((k for k in h if k != "__metadata__"), key=lambda k: h[k]["data_offsets"][0])


def _first_tensor(h):
    return min((k for k in h if k != "__metadata__"), key=lambda k: h[k]["data_offsets"][0])


def _shift_last(delta, grow=0):
    def mutate(h, d):
        k = _last_tensor(h)
        b, e = h[k]["data_offsets"]
        h[k]["data_offsets"] = [b + delta, e + delta]
        return h, d + b"\0" * grow

    return mutate


def _overlap(h, d):
    first = _first_tensor(h)
    second = min((k for k in h if k not in ("__metadata__", first)), key=lambda k: h[k]["data_offsets"][0])
    b, e = h[second]["data_offsets"]
    h[second]["data_offsets"] = [b - 4, e - 4]
    return h, d


def _huge_layer_consistent(h, d):
    """A header that is consistent with itself: a first layer of 2**31 - 1 units (the widest
    allowed), shapes and offsets to match (a 68 GB model); only the file size gives it away."""
    big = 2**31 - 1
    config = _arch(h)
    config["layers"][0]["units"] = big
    _set_arch(h, config)
    h["layers.0.weight"] = {"dtype": "F32", "shape": [big, 4], "data_offsets": [0, 16 * big]}
    h["layers.0.bias"] = {"dtype": "F32", "shape": [big], "data_offsets": [16 * big, 20 * big]}
    h["layers.2.weight"] = {"dtype": "F32", "shape": [3, big], "data_offsets": [20 * big, 32 * big]}
    h["layers.2.bias"] = {"dtype": "F32", "shape": [3], "data_offsets": [32 * big, 32 * big + 12]}
    return h, d


def _stacked_dropouts(h, d):
    config = _arch(h)
    config["layers"][0]["units"] = 1000
    config["layers"][1:1] = [{"type": "Dropout", "rate": 0.5}] * 100
    _set_arch(h, config)
    return h, d


def _recompute_crc(h, d):
    """Gives a modified file a matching weights_crc32, as a writer of bad weights would."""
    order = ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]
    tensors = [np.frombuffer(d[slice(*h[k]["data_offsets"])], "<f4") for k in order]
    h["__metadata__"]["weights_crc32"] = fmio._crc32(h["__metadata__"]["architecture"], tensors)
    return h, d


def _non_finite(name, index, value):
    def mutate(h, d):
        b, _ = h[name]["data_offsets"]
        d = bytearray(d)
        d[b + 4 * index : b + 4 * index + 4] = np.array([value], "<f4").tobytes()
        return _recompute_crc(h, bytes(d))

    return mutate


def _drop(name):
    def mutate(h, d):
        del h[name]
        return h, d

    return mutate


def _add(name, entry):
    def mutate(h, d):
        h[name] = entry
        return h, d

    return mutate


def _rename(old, new):
    def mutate(h, d):
        h[new] = h.pop(old)
        return h, d

    return mutate


HEADER_CASES = [
    # metadata
    ("no_metadata", lambda h, d: ({k: v for k, v in h.items() if k != "__metadata__"}, d), "no __metadata__ object"),
    ("metadata_string", lambda h, d: ({**h, "__metadata__": "fastmlp"}, d), "no __metadata__ object"),
    ("metadata_value_int", _meta("format_version", 1), "metadata value 'format_version' must be a string"),
    ("no_format", _del_meta("format"), "metadata format is None"),
    ("wrong_format", _meta("format", "pytorch"), "not a fastmlp model: metadata format is 'pytorch'"),
    ("unsupported_version", _meta("format_version", "2"), "unsupported format_version '2' (written by a newer"),
    ("version_1.0", _meta("format_version", "1.0"), "unsupported format_version '1.0'"),
    ("no_version", _del_meta("format_version"), "unsupported format_version None"),
    ("no_architecture", _del_meta("architecture"), "the metadata lacks 'architecture'"),
    ("unknown_metadata_key", _meta("weights_crc33", "8ce81039"), "unknown keys ['weights_crc33']"),
    ("architecture_not_json", _meta("architecture", "{layers: [Dense]}"), "architecture metadata is not valid JSON"),
    ("architecture_list", _meta("architecture", "[]"), "architecture must be a JSON object, got list"),
    ("architecture_nan", _meta("architecture", '{"input_dim": NaN}'), "NaN, which is not valid JSON"),
    # architecture
    ("unknown_activation", _layer(0, "activation", "gelux"), "unknown activation 'gelux'"),
    ("activation_number", _layer(0, "activation", 3), "activation must be a string"),
    ("activation_unknown_param", _layer(0, "activation", {"name": "relu", "alpha": 1.0}), "takes no parameters"),
    ("activation_bad_param", _layer(0, "activation", {"name": "elu", "alpha": "1"}), "alpha must be a number"),
    ("activation_no_name", _layer(0, "activation", {"alpha": 1.0}), "needs a string 'name'"),
    ("softmax_hidden", _layer(0, "activation", "softmax"), "softmax is only allowed on the last layer"),
    ("unknown_layer_type", _layer(0, "type", "Conv2D"), "unknown layer type 'Conv2D'"),
    ("units_negative", _layer(0, "units", -5), "layers[0]: units must be a positive integer, got -5"),
    ("units_zero", _layer(0, "units", 0), "units must be a positive integer"),
    ("units_huge", _layer(0, "units", 10**12), "layers[0] outputs 1000000000000 features; a file may declare at most"),
    ("units_1e9", _layer(0, "units", 10**9), "tensor layers.0.weight has shape [5, 4]; the architecture needs [1000000000, 4]"),
    ("units_float", _layer(0, "units", 5.0), "units must be a positive integer"),
    ("units_string", _layer(0, "units", "5"), "units must be a positive integer"),
    ("units_bool", _layer(0, "units", True), "units must be a positive integer"),
    ("units_missing", _config(lambda c: c["layers"][0].pop("units")), "lacks 'units'"),
    ("layer_unknown_key", _layer(0, "use_bias", False), "unknown keys ['use_bias']"),
    ("input_dim_zero", _config(lambda c: c.__setitem__("input_dim", 0)), "input_dim must be an integer"),
    ("input_dim_null", _config(lambda c: c.__setitem__("input_dim", None)), "input_dim must be an integer"),
    ("input_dim_huge", _config(lambda c: c.__setitem__("input_dim", 2**40)), "input_dim must be an integer"),
    ("seed_negative", _config(lambda c: c.__setitem__("seed", -1)), "seed must be an integer"),
    ("seed_2**64", _config(lambda c: c.__setitem__("seed", 2**64)), "seed must be an integer"),
    ("rate_one", _layer(1, "rate", 1.0), "layers[1]: rate must be in [0, 1)"),
    ("rate_negative", _layer(1, "rate", -0.1), "rate must be in [0, 1)"),
    ("rate_string", _layer(1, "rate", "0.25"), "rate must be a number"),
    ("rate_bool", _layer(1, "rate", False), "rate must be a number"),
    ("no_layers_key", _config(lambda c: c.pop("layers")), "lacks 'layers'"),
    ("layers_empty", _config(lambda c: c.__setitem__("layers", [])), "layers must be a list of 1 to"),
    ("layers_dict", _config(lambda c: c.__setitem__("layers", {"0": {}})), "layers must be a list of 1 to"),
    ("layer_not_object", _config(lambda c: c["layers"].__setitem__(1, "Dropout")), "layers[1] must be a JSON object"),
    ("no_dense", _config(lambda c: c.__setitem__("layers", [{"type": "Dropout", "rate": 0.1}])), "no Dense layer"),
    ("too_many_layers", _config(lambda c: c["layers"].extend([{"type": "Dropout", "rate": 0.1}] * 10_000)),
     "layers must be a list of 1 to 10000"),
    ("stacked_dropouts", _stacked_dropouts, "activation values per sample"),
    ("architecture_unknown_key", _config(lambda c: c.__setitem__("optimizer", "adam")), "unknown keys ['optimizer']"),
    ("huge_layer_consistent_header", _huge_layer_consistent, "run past the end of the data"),
    # tensors
    ("missing_tensor", _drop("layers.2.bias"), "missing tensors ['layers.2.bias']"),
    ("extra_tensor", _add("layers.3.weight", {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}),
     "unexpected tensors ['layers.3.weight']"),
    ("renamed_tensor", _rename("layers.2.bias", "layers.1.bias"),
     "missing tensors ['layers.2.bias']; unexpected tensors ['layers.1.bias']"),
    ("dtype_F64", _tensor_as("layers.0.weight", "F64", 8), "has dtype 'F64'"),
    ("dtype_I32", _tensor_as("layers.2.bias", "I32", 4), "has dtype 'I32'"),
    ("dtype_F16", _tensor_as("layers.0.bias", "F16", 2), "has dtype 'F16'"),
    ("dtype_BF16", _tensor_as("layers.0.bias", "BF16", 2), "has dtype 'BF16'"),
    ("shape_transposed", _entry("layers.0.weight", "shape", [4, 5]), "has shape [4, 5]; the architecture needs [5, 4]"),
    ("shape_flat", _entry("layers.0.weight", "shape", [20]), "has shape [20]"),
    ("shape_floats", _entry("layers.0.weight", "shape", [5.0, 4.0]), "has shape [5.0, 4.0]"),
    ("shape_string", _entry("layers.0.weight", "shape", "5x4"), "has shape '5x4'"),
    ("entry_not_object", _add("layers.0.bias", [0, 20]), "its header entry must be a JSON object"),
    ("entry_missing_offsets", lambda h, d: ({**h, "layers.0.bias": {"dtype": "F32", "shape": [5]}}, d),
     "lacks 'data_offsets'"),
    ("entry_unknown_key", _entry("layers.0.bias", "checksum", "0"), "unknown keys ['checksum']"),
    ("offsets_overlap", _overlap, "overlaps tensor"),
    ("offsets_past_end", _shift_last(4), "run past the end of the data"),
    ("offsets_far_past_end", _shift_last(2**62), "run past the end of the data"),
    ("offsets_gap", _shift_last(4, grow=4), "4 unused bytes in the data before tensor"),
    ("trailing_bytes", lambda h, d: (h, d + b"\0" * 8), "8 trailing bytes"),
    ("offsets_begin_after_end", _entry("layers.0.bias", "data_offsets", [100, 80]), "do not satisfy 0 <= begin <= end"),
    ("offsets_negative", _entry("layers.0.bias", "data_offsets", [-20, 0]), "do not satisfy 0 <= begin <= end"),
    ("offsets_wrong_span", _entry("layers.0.bias", "data_offsets", [0, 4]), "span 4 bytes; shape [5] in float32 needs 20"),
    ("offsets_floats", _entry("layers.0.bias", "data_offsets", [80.0, 100.0]), "must be two integers"),
    ("offsets_strings", _entry("layers.0.bias", "data_offsets", ["80", "100"]), "must be two integers"),
    ("offsets_three", _entry("layers.0.bias", "data_offsets", [80, 90, 100]), "must be two integers"),
    ("offsets_bool", _entry("layers.2.bias", "data_offsets", [False, True]), "must be two integers"),
    ("data_truncated", lambda h, d: (h, d[:-4]), "run past the end of the data"),
    ("data_missing", lambda h, d: (h, b""), "run past the end of the data"),
]


@pytest.mark.parametrize("mutate, fragment", [c[1:] for c in HEADER_CASES], ids=[c[0] for c in HEADER_CASES])
def test_hostile_header_raises_value_error_before_allocating(tmp_path, original, no_network, mutate, fragment):
    header, data = _split(original[0])
    header, data = mutate(header, data)
    path = tmp_path / "bad.safetensors"
    path.write_bytes(_pack(header, data))
    _expect(path, ValueError, fragment)


@pytest.mark.parametrize(
    "name, index, value",
    [("layers.0.weight", 0, np.nan), ("layers.0.bias", 4, np.inf), ("layers.2.weight", 7, -np.inf),
     ("layers.2.bias", 2, np.float32("nan"))],
)
def test_non_finite_weights_are_refused(tmp_path, original, name, index, value):
    header, data = _split(original[0])
    path = tmp_path / "diverged.safetensors"
    header, data = _non_finite(name, index, value)(header, data)
    path.write_bytes(_pack(header, data))
    _expect(path, ValueError, f"tensor {name} contains NaN or infinite values")
    del header["__metadata__"]["weights_crc32"]  # also without a checksum
    path.write_bytes(_pack(header, data))
    _expect(path, ValueError, f"tensor {name} contains NaN or infinite values")


@pytest.mark.parametrize("value", ["", "1234567", "123456789", "ABCDEF01", "0x123456", 7])
def test_malformed_checksum_is_refused(tmp_path, original, no_network, value):
    header, data = _split(original[0])
    header["__metadata__"]["weights_crc32"] = value
    path = tmp_path / "bad_crc.safetensors"
    path.write_bytes(_pack(header, data))
    _expect(path, ValueError, "weights_crc32 must be 8 lowercase hex digits" if value != 7 else "must be a string")


def test_a_file_without_checksum_loads(tmp_path, original):
    """The checksum is optional: files written by other tools need not have one."""
    raw, model = original
    header, data = _split(raw)
    del header["__metadata__"]["weights_crc32"]
    path = tmp_path / "no_crc.safetensors"
    path.write_bytes(_pack(header, data))
    for a, b in zip(model.parameters(), fm.load(path).parameters()):
        assert np.array_equal(a, b)


def test_every_single_bit_flip_in_the_weights_is_detected(tmp_path, original):
    raw, _ = original
    (n,) = struct.unpack("<Q", raw[:8])
    path = tmp_path / "flip.safetensors"
    for pos in range(8 + n, len(raw)):
        for bit in (0x01, 0x80):
            data = bytearray(raw)
            data[pos] ^= bit
            path.write_bytes(bytes(data))
            with pytest.raises(ValueError, match="corrupted: CRC-32"):
                fm.load(path)


def test_a_full_length_but_partly_written_file_is_detected(tmp_path, original):
    """What a killed writer that preallocates can leave: the right size, zeros at the end."""
    raw, _ = original
    path = tmp_path / "partial.safetensors"
    path.write_bytes(raw[:-12] + b"\0" * 12)
    _expect(path, ValueError, "corrupted: CRC-32")


def test_control_the_unmodified_repacked_file_loads(tmp_path, original):
    """The mutations above start from a file that loads: the errors come from the mutations."""
    raw, model = original
    path = tmp_path / "same.safetensors"
    path.write_bytes(_pack(*_split(raw)))
    loaded = fm.load(path)
    for a, b in zip(model.parameters(), loaded.parameters()):
        assert np.array_equal(a, b)


# --------------------------------------------------------------------------- filesystem cases
def test_missing_path_raises_file_not_found(tmp_path):
    _expect(tmp_path / "nope.safetensors", FileNotFoundError, "nope.safetensors")


def test_directory_raises_is_a_directory(tmp_path):
    _expect(tmp_path, IsADirectoryError, "directory")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "model.fifo"
    os.mkfifo(fifo)
    _expect(fifo, ValueError, "not a regular file")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_endless_device_is_refused():
    _expect("/dev/zero", ValueError, "not a regular file")


# --------------------------------------------------------------------------- truncation and bit flips
def test_every_truncation_of_a_small_file_raises_value_error(tmp_path, original, no_network):
    raw = original[0]
    path = tmp_path / "cut.safetensors"
    for cut in range(len(raw)):
        path.write_bytes(raw[:cut])
        with pytest.raises(ValueError, match="cannot load a fastmlp model"):
            fm.load(path)


def test_truncations_inside_the_data_of_a_larger_file_raise_value_error(tmp_path, request):
    model = fm.Sequential([fm.Dense(64, activation="tanh"), fm.Dense(10)], input_dim=32, seed=2)
    path = tmp_path / "full.safetensors"
    model.save(path)
    request.getfixturevalue("no_network")
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    cuts = sorted(set(np.linspace(8 + n, len(raw) - 1, 40).astype(int).tolist() + [8 + n + 1, len(raw) - 4, len(raw) - 1]))
    cut_path = tmp_path / "cut.safetensors"
    for cut in cuts:
        cut_path.write_bytes(raw[:cut])
        with pytest.raises(ValueError, match="run past the end of the data"):
            fm.load(cut_path)


def test_every_single_bit_flip_in_the_header_raises_value_error(tmp_path, original):
    """Flip one bit (0x01 or 0x20) at every byte of the length and the header: each raises
    ValueError. (Without the checksum, a flipped seed or dropout-rate digit would load.)"""
    raw, _ = original
    (n,) = struct.unpack("<Q", raw[:8])
    path = tmp_path / "flip.safetensors"
    for pos in range(8 + n):
        for bit in (0x01, 0x20):
            data = bytearray(raw)
            data[pos] ^= bit
            path.write_bytes(bytes(data))
            with pytest.raises(ValueError, match="cannot load a fastmlp model"):
                fm.load(path)


# --------------------------------------------------------------------------- round trips
ARCHITECTURES = [
    dict(layers=lambda: [fm.Dense(1)], input_dim=1),
    dict(layers=lambda: [fm.Dense(7, activation="sigmoid")], input_dim=3),
    dict(layers=lambda: [fm.Dropout(0.5), fm.Dense(16, activation="relu"), fm.Dropout(0.1), fm.Dense(2)], input_dim=9),
    dict(layers=lambda: [fm.Dense(33, activation="tanh"), fm.Dense(13, activation="relu"), fm.Dense(5, "identity"),
                         fm.Dense(4)], input_dim=17),
    dict(layers=lambda: [fm.Dense(300, activation="relu"), fm.Dense(10)], input_dim=200),
]


@pytest.mark.parametrize("arch", ARCHITECTURES, ids=lambda a: f"in{a['input_dim']}-{len(a['layers']())}layers")
@pytest.mark.parametrize("seed", [0, 2**63 + 5])
def test_save_load_round_trip(tmp_path, arch, seed):
    model = fm.Sequential(arch["layers"](), input_dim=arch["input_dim"], seed=seed)
    rng = np.random.default_rng(3)
    for p in model.parameters():  # not the initial weights: values a fresh model would not have
        p[...] = rng.standard_normal(p.shape).astype(np.float32) * 3
    path = tmp_path / "m.safetensors"
    model.save(path)
    loaded = fm.load(path)
    assert loaded.get_config() == model.get_config()
    assert loaded.num_params == model.num_params
    assert len(loaded.parameters()) == len(model.parameters())
    for a, b in zip(model.parameters(), loaded.parameters()):
        assert a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)
    X = rng.standard_normal((11, arch["input_dim"])).astype(np.float32)
    assert np.array_equal(loaded.predict(X), model.predict(X))
    assert os.listdir(tmp_path) == ["m.safetensors"]


def test_saved_file_is_a_standard_safetensors_file(tmp_path):
    model = _small_model(seed=4)
    path = tmp_path / "m.safetensors"
    model.save(str(path))
    with safe_open(str(path), framework="np") as f:
        assert sorted(f.keys()) == ["layers.0.bias", "layers.0.weight", "layers.2.bias", "layers.2.weight"]
        meta = f.metadata()
        assert meta["format"] == "fastmlp" and meta["format_version"] == "1"
        assert len(meta["weights_crc32"]) == 8
        assert json.loads(meta["architecture"]) == model.get_config()
        for name, view in zip(["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"],
                              model.parameters()):
            t = f.get_tensor(name)
            assert t.dtype == np.float32 and np.array_equal(t, view)
    assert set(load_file(str(path))) == {"layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"}


def test_loads_a_file_written_by_the_safetensors_library(tmp_path):
    model = _small_model(seed=5)
    rng = np.random.default_rng(5)
    arrays = {
        "layers.2.bias": rng.standard_normal(3).astype(np.float32),
        "layers.0.weight": rng.standard_normal((5, 4)).astype(np.float32),
        "layers.2.weight": rng.standard_normal((3, 5)).astype(np.float32),
        "layers.0.bias": rng.standard_normal(5).astype(np.float32),
    }
    path = tmp_path / "external.safetensors"
    save_file(arrays, str(path), metadata={
        "architecture": json.dumps(model.get_config()),
        "format_version": "1",
        "format": "fastmlp",
    })  # and no weights_crc32: it is optional
    loaded = fm.load(path)
    for name, view in zip(["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"],
                          loaded.parameters()):
        assert np.array_equal(view, arrays[name])


def test_plain_safetensors_file_without_fastmlp_metadata_is_refused(tmp_path, no_network):
    path = tmp_path / "plain.safetensors"
    save_file({"weight": np.zeros((2, 2), np.float32)}, str(path))
    _expect(path, ValueError, "no __metadata__ object")
    save_file({"weight": np.zeros((2, 2), np.float32)}, str(path), metadata={"format": "pt"})
    _expect(path, ValueError, "metadata format is 'pt'")
