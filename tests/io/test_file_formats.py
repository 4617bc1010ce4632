"""File names and file kinds a Keras, PyTorch or scikit-learn user brings along.

``model.save("model.h5")`` (or ``.keras``, ``.pt``, ``.pkl``, ...) is refused, nothing written, with
what the suffix means, that fastmlp writes safetensors and the fix; a name without a suffix or with
an unknown one is written as given. ``ModelCheckpoint`` refuses such a filepath when it is made,
and ``fm.onnx.export`` refuses a suffix of another format the same way. ``fm.load`` given a file of
another kind (NumPy, zip archives, HDF5, pickle, ONNX, JSON, text, empty, a safetensors file that is
not a fastmlp model) says what the file is and what ``load`` expects, not a header-parsing detail.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest
from safetensors.numpy import save_file

import fastmlp as fm
from fastmlp import io as fmio


def _model():
    return fm.Sequential([fm.Dense(4, activation="relu"), fm.Dense(3)], input_dim=2, seed=0)


def _load_error(path) -> str:
    with pytest.raises(ValueError) as info:
        fm.load(path)
    message = str(info.value)
    assert message.startswith(f"cannot load a fastmlp model from {str(path)!r}: "), message
    return message


# --------------------------------------------------------------------------- save: suffixes
FOREIGN = [
    ("model.h5", "Keras HDF5 files", ""),
    ("model.hdf5", "HDF5 files (Keras)", ""),
    ("model.keras", "Keras model archives", ""),
    ("model.pt", "PyTorch files (torch.save)", "torch.save(model.to_torch().state_dict(), path)"),
    ("model.pth", "PyTorch files (torch.save)", "torch.save(model.to_torch().state_dict(), path)"),
    ("model.pkl", "pickle files", "pickle.dump(model, file) works"),
    ("model.pickle", "pickle files", "pickle.dump(model, file) works"),
    ("model.joblib", "joblib files", "joblib.dump(model, path) works"),
    ("model.npy", "NumPy array files (np.save)", "np.savez(path, *model.parameters())"),
    ("model.npz", "NumPy archives (np.savez)", "np.savez(path, *model.parameters())"),
    ("model.onnx", "ONNX models", "fm.onnx.export(model, path)"),
    ("model.json", "JSON text", "json.dump(model.get_config(), file)"),
    ("model.pb", "TensorFlow protobuf files", ""),
    ("model.tflite", "TensorFlow Lite models", ""),
    ("MODEL.H5", "Keras HDF5 files", ""),  # any case
    ("weights.safetensors.pt", "PyTorch files (torch.save)", ""),  # the last suffix counts
]


@pytest.mark.parametrize("name, meaning, advice", FOREIGN, ids=[c[0] for c in FOREIGN])
def test_save_refuses_the_suffix_of_another_format_and_writes_nothing(tmp_path, name, meaning, advice):
    path = tmp_path / name
    with pytest.raises(ValueError) as info:
        _model().save(path)
    message = str(info.value)
    ext = os.path.splitext(name)[1]
    fixed = str(path)[: -len(ext)] + ".safetensors"
    assert message.startswith(f"path {str(path)!r} ends in {ext!r}, the suffix of {meaning}, "), message
    assert "but model.save writes safetensors" in message, message
    assert f"Name it {fixed!r} instead, which fm.load reads back." in message, message
    assert advice in message, message
    assert os.listdir(tmp_path) == []


def test_save_refuses_before_checking_the_model_and_keeps_a_previous_file(tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(b"previous")
    with pytest.raises(ValueError, match="ends in '.h5'"):
        fmio.save(_model(), path)
    assert path.read_bytes() == b"previous" and os.listdir(tmp_path) == ["model.h5"]


@pytest.mark.parametrize("name", ["ckpt_001", "model.bin", "model.st", "model.ckpt", "model.", "run.h5.safetensors",
                                  ".h5", "model.SAFETENSORS"])
def test_save_writes_a_name_without_suffix_or_with_an_unknown_one_as_given(tmp_path, name):
    model = _model()
    path = tmp_path / name
    model.save(path)
    assert os.listdir(tmp_path) == [name]
    loaded = fm.load(path)
    for a, b in zip(model.parameters(), loaded.parameters()):
        assert np.array_equal(a, b)


def test_save_refuses_in_a_directory_whose_name_has_a_suffix_only_by_the_file_name(tmp_path):
    directory = tmp_path / "runs.h5"
    directory.mkdir()
    _model().save(directory / "model")  # the directory's suffix does not count
    assert os.listdir(directory) == ["model"]


def test_check_save_path_is_public_in_fm_io():
    assert fmio.check_save_path("path", "ckpt-{epoch}") == "ckpt-{epoch}"
    assert fmio.check_save_path("path", "m.onnx", ".onnx") == "m.onnx"
    with pytest.raises(ValueError, match=r"^where 'x\.pt' ends in '\.pt'"):
        fmio.check_save_path("where", "x.pt")
    with pytest.raises(TypeError, match="path must be a str or os.PathLike, got int"):
        fmio.check_save_path("path", 3)


def test_pickle_dump_works_as_the_pkl_message_says(tmp_path):
    model = _model()
    with open(tmp_path / "model.pkl", "wb") as f:
        pickle.dump(model, f)
    with open(tmp_path / "model.pkl", "rb") as f:
        back = pickle.load(f)
    for a, b in zip(model.parameters(), back.parameters()):
        assert np.array_equal(a, b)


# --------------------------------------------------------------------------- ModelCheckpoint and ONNX
@pytest.mark.parametrize("filepath", ["best.h5", "ckpt-{epoch:02d}.keras", "ckpt-{epoch}-{val_loss:.3f}.pt"])
def test_model_checkpoint_refuses_a_foreign_suffix_when_made_not_after_an_epoch(tmp_path, filepath):
    path = str(tmp_path / filepath)
    ext = os.path.splitext(filepath)[1]
    with pytest.raises(ValueError) as info:
        fm.callbacks.ModelCheckpoint(filepath=path)
    message = str(info.value)
    assert message.startswith(f"filepath {path!r} ends in {ext!r}"), message
    assert repr(path[: -len(ext)] + ".safetensors") in message, message


@pytest.mark.parametrize("filepath", ["ckpt-{epoch}", "ckpt_{epoch:03d}.safetensors", "{loss:.3f}", "best.bin"])
def test_model_checkpoint_keeps_writing_names_without_a_foreign_suffix(tmp_path, filepath):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((16, 2)).astype(np.float32), rng.integers(0, 3, 16)
    model = _model()
    model.compile(loss="cross_entropy", optimizer="sgd")
    checkpoint = fm.callbacks.ModelCheckpoint(filepath=str(tmp_path / filepath), monitor="loss")
    model.fit(X, y, epochs=2, batch_size=8, callbacks=[checkpoint], verbose=0)
    assert checkpoint.last_path is not None and os.path.exists(checkpoint.last_path)
    fm.load(checkpoint.last_path)


def test_onnx_export_refuses_the_safetensors_suffix_and_others(tmp_path):
    pytest.importorskip("onnx")
    model = _model()
    for name, meaning in [("m.safetensors", "safetensors files (model.save)"), ("m.h5", "Keras HDF5 files")]:
        path = str(tmp_path / name)
        with pytest.raises(ValueError) as info:
            fm.onnx.export(model, path)
        message = str(info.value)
        ext = os.path.splitext(name)[1]
        assert message.startswith(f"path {path!r} ends in {ext!r}, the suffix of {meaning}, but fm.onnx.export "
                                  f"writes ONNX"), message
        assert repr(path[: -len(ext)] + ".onnx") in message
    assert "model.save(path)" in str(info.value) or name == "m.h5"
    assert os.listdir(tmp_path) == []
    fm.onnx.export(model, tmp_path / "m.bin")  # an unknown suffix is written as given
    assert os.listdir(tmp_path) == ["m.bin"]


# --------------------------------------------------------------------------- load: what the file is
NOT_SAFETENSORS = "not a safetensors file: fm.load reads the safetensors files model.save writes"


def test_load_names_a_numpy_npy_file(tmp_path):
    np.save(tmp_path / "w.npy", np.zeros((3, 2), np.float32))
    message = _load_error(tmp_path / "w.npy")
    assert f"it is a NumPy array file (.npy, written by np.save), {NOT_SAFETENSORS}; read it with np.load(path)" \
        in message, message


def test_load_names_a_numpy_npz_archive(tmp_path):
    np.savez(tmp_path / "w.npz", *_model().parameters())
    message = _load_error(tmp_path / "w.npz")
    assert f"it is a NumPy archive (.npz, written by np.savez), {NOT_SAFETENSORS}" in message, message


def test_load_names_a_pytorch_file_and_points_to_from_torch(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save(torch.nn.Sequential(torch.nn.Linear(2, 3)).state_dict(), tmp_path / "m.pt")
    message = _load_error(tmp_path / "m.pt")
    assert f"it is a PyTorch file (torch.save's zip archive), {NOT_SAFETENSORS}" in message, message
    assert "fm.from_torch(module)" in message


def test_load_names_a_keras_archive_and_an_hdf5_file(tmp_path):
    # A .keras file is a zip archive starting with metadata.json (Keras 3's layout); HDF5 has an 8-byte signature.
    with zipfile.ZipFile(tmp_path / "m.keras", "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.0.0"}))
        z.writestr("config.json", "{}")
        z.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n")
    message = _load_error(tmp_path / "m.keras")
    assert f"it is a Keras model archive (.keras), {NOT_SAFETENSORS}" in message, message
    (tmp_path / "m.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(504))
    message = _load_error(tmp_path / "m.h5")
    assert f"it is an HDF5 file (Keras .h5 models and weights are HDF5), {NOT_SAFETENSORS}" in message, message
    assert "fastmlp cannot read Keras files: build the same model with fm.Sequential" in message


def test_load_names_another_zip_archive_by_its_first_entry(tmp_path):
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as z:
        z.writestr("notes.txt", "hi")
    assert f"it is a zip archive (its first entry is 'notes.txt'), {NOT_SAFETENSORS}" in _load_error(tmp_path / "a.zip")


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_load_names_a_pickle_and_says_pickle_load_reads_a_pickled_model(tmp_path, protocol):
    path = tmp_path / "m.pkl"
    with open(path, "wb") as f:
        pickle.dump(_model(), f, protocol=protocol)
    message = _load_error(path)
    assert f"it is a pickle (protocol {protocol}: pickle.dump, joblib.dump or torch.save's legacy format), " \
           f"{NOT_SAFETENSORS}" in message, message
    assert "comes back with pickle.load(file)" in message and "loading a pickle runs code" in message


def test_load_names_an_onnx_file(tmp_path):
    pytest.importorskip("onnx")
    fm.onnx.export(_model(), tmp_path / "m.onnx")
    message = _load_error(tmp_path / "m.onnx")
    assert f"it is an ONNX model (protobuf), {NOT_SAFETENSORS}; fastmlp writes ONNX (fm.onnx.export) but does not " \
           "read it" in message, message


def test_load_of_unrecognised_bytes_named_onnx_keeps_the_container_error_and_names_the_suffix(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(bytes(range(200, 256)) * 4)
    message = _load_error(path)
    assert "exceeds the" in message and f"its name ends in '.onnx', the suffix of ONNX models: {NOT_SAFETENSORS}" \
        in message, message


def test_load_names_json_and_text_files(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(_model().get_config(), indent=2))
    message = _load_error(tmp_path / "config.json")
    assert f"it is a JSON text file, {NOT_SAFETENSORS}" in message, message
    assert "fm.Sequential.from_config(json.load(file))" in message
    (tmp_path / "notes.txt").write_text("epoch,loss\n1,0.5\n")
    assert f"it is a text file (it starts with 'epoch,loss'), {NOT_SAFETENSORS}" in _load_error(tmp_path / "notes.txt")
    (tmp_path / "tiny").write_text("hi\n")  # shorter than a safetensors header
    assert "it is a text file (it starts with 'hi')" in _load_error(tmp_path / "tiny")


def test_load_of_an_empty_file_says_it_is_empty(tmp_path):
    (tmp_path / "m.safetensors").write_bytes(b"")
    assert "the file is empty (0 bytes long, too short for a safetensors header): it holds no model" in _load_error(
        tmp_path / "m.safetensors")


def test_load_of_a_short_binary_file_says_it_is_too_short(tmp_path):
    (tmp_path / "m.safetensors").write_bytes(b"\x00\x01\x02")
    assert "the file is 3 bytes long, too short for a safetensors header (8 bytes)" in _load_error(
        tmp_path / "m.safetensors")


def test_load_of_a_plain_numpy_safetensors_file_names_its_tensors(tmp_path):
    path = tmp_path / "w.safetensors"
    save_file({"w": np.zeros((2, 2), np.float32), "b": np.zeros(2, np.float32)}, str(path))
    message = _load_error(path)
    assert message.endswith(
        "it is a safetensors file but not a fastmlp model: the header has no __metadata__ object (fastmlp keeps "
        "the architecture there); it holds 2 tensors ('b', 'w')"), message


def test_load_of_a_pytorch_state_dict_in_safetensors_points_to_from_torch(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file as torch_save_file

    module = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3))
    path = tmp_path / "state.safetensors"
    torch_save_file(module.state_dict(), str(path))
    message = _load_error(path)
    assert "it is a safetensors file but not a fastmlp model: the header has no __metadata__ object" in message
    assert "it holds 4 tensors ('0.bias', '0.weight', '2.bias', '2.weight')" in message, message
    assert "for a PyTorch state dict, load it into its torch.nn.Sequential " \
           "(module.load_state_dict(safetensors.torch.load_file(path))) and convert that with " \
           "fm.from_torch(module)" in message
    # ... and that advice works:
    from safetensors.torch import load_file as torch_load_file

    fresh = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3))
    fresh.load_state_dict(torch_load_file(str(path)))
    converted = fm.from_torch(fresh)
    X = np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32)
    expected = module(torch.from_numpy(X)).detach().numpy()
    np.testing.assert_allclose(converted.predict(X), expected, rtol=1e-5, atol=1e-6)
    # transformers' save_pretrained marks its files {"format": "pt"}
    torch_save_file(module.state_dict(), str(path), metadata={"format": "pt"})
    message = _load_error(path)
    assert "metadata format is 'pt', not 'fastmlp'" in message and "fm.from_torch(module)" in message, message


def test_from_bytes_names_what_the_bytes_are():
    with pytest.raises(ValueError, match=r"^cannot load a fastmlp model from bytes: it is a pickle \(protocol 4"):
        fmio.from_bytes(pickle.dumps(_model(), protocol=4))
    with pytest.raises(ValueError, match=r"^cannot load a fastmlp model from bytes: the file is empty"):
        fmio.from_bytes(b"")


@pytest.mark.parametrize("length", [0x010280, 0x120908], ids=["pickle-like", "onnx-like"])
def test_a_valid_file_whose_first_bytes_look_like_another_format_loads(tmp_path, length):
    """The first 8 bytes are the header length: 0x010280 reads as a pickle's b"\\x80\\x02\\x01",
    0x120908 as an ONNX file's b"\\x08\\x09\\x12". What a file is, is only asked of files that fail
    the safetensors container checks, so these (valid, their headers padded with spaces) load."""
    model = _model()
    data = fmio.to_bytes(model)
    (n,) = struct.unpack("<Q", data[:8])
    padded = struct.pack("<Q", length) + data[8 : 8 + n] + b" " * (length - n) + data[8 + n :]
    assert fmio._kind_of(padded[:64], "")[0] is not None  # it would be taken for another format
    path = tmp_path / "m.safetensors"
    path.write_bytes(padded)
    back = fm.load(path)
    for a, b in zip(model.parameters(), back.parameters()):
        assert np.array_equal(a, b)


def test_a_damaged_safetensors_file_whose_length_looks_like_a_pickle_keeps_the_container_message():
    # header length 0x020380 starts with the bytes 0x80 0x03 0x02, a pickle's protocol-3 signature
    data = struct.pack("<Q", 0x020380) + b'{"__metadata__": {}}' + b" " * 1000
    with pytest.raises(ValueError, match=r"^cannot load a fastmlp model from bytes: the header length 131968 "
                                         r"exceeds the 1020 bytes after it \(truncated file\?\)$"):
        fm.io.from_bytes(data)
