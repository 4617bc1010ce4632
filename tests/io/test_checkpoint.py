"""Checkpoints hold the training state: training 6 epochs equals training 3, saving, loading and
training 3 more, bit for bit (weights, buffers, optimizer state, losses); and load checks the
training state of a file as strictly as its weights."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

import fastmlp as fm
from fastmlp import _checkpoint

OPTIMIZERS = {
    "sgd": lambda: fm.optim.SGD(lr=0.05),
    "sgd_nesterov": lambda: fm.optim.SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam": lambda: fm.optim.Adam(lr=1e-2),
    "adam_amsgrad": lambda: fm.optim.Adam(lr=1e-2, betas=(0.8, 0.99), amsgrad=True),
    "adamw": lambda: fm.optim.AdamW(lr=1e-2),
    "rmsprop_centered": lambda: fm.optim.RMSprop(lr=1e-3, momentum=0.5, centered=True),
    "adagrad": lambda: fm.optim.Adagrad(lr=0.05, lr_decay=1e-3, initial_accumulator_value=0.1),
}


def _data(classification=True):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((150, 7)).astype(np.float32)
    y = rng.integers(0, 3, 150) if classification else rng.standard_normal((150, 2)).astype(np.float32)
    return X, y


def _model(optimizer, classification=True, **compile_args):
    layers = [fm.Dense(16, "relu", kernel_regularizer=fm.regularizers.L2(1e-3)), fm.BatchNorm(), fm.Dropout(0.25),
              fm.Dense(12, "tanh"), fm.LayerNorm(), fm.Dense(3 if classification else 2)]
    model = fm.Sequential(layers, input_dim=7, seed=11)
    model.compile(loss="cross_entropy" if classification else "huber", optimizer=optimizer,
                  metrics=["accuracy"] if classification else ["mae"], **compile_args)
    return model


def _snapshot(model):
    state = model.optimizer_state()
    return ([p.copy() for p in model.parameters()] + [b.copy() for b in model.buffers()]
            + [np.asarray(state[k]).copy() for k in sorted(state)])


def _assert_same(a, b):
    sa, sb = _snapshot(a), _snapshot(b)
    assert len(sa) == len(sb)
    for x, y in zip(sa, sb):
        assert np.array_equal(x, y)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_three_plus_three_epochs_equal_six_bit_for_bit(tmp_path, name):
    X, y = _data()
    straight = _model(OPTIMIZERS[name]())
    whole = straight.fit(X, y, epochs=6, batch_size=16, verbose=0).history["loss"]
    first = _model(OPTIMIZERS[name]())
    head = first.fit(X, y, epochs=3, batch_size=16, verbose=0).history["loss"]
    first.save(tmp_path / "ckpt.safetensors")
    resumed = fm.load(tmp_path / "ckpt.safetensors")
    assert resumed.epoch == 3
    tail = resumed.fit(X, y, epochs=6, batch_size=16, verbose=0, initial_epoch=resumed.epoch).history["loss"]
    assert head + tail == whole
    assert resumed.epoch == 6
    _assert_same(straight, resumed)


def test_regression_with_clipping_and_a_changed_learning_rate_resumes_exactly(tmp_path):
    X, y = _data(classification=False)
    compile_args = dict(clip_norm=0.5, clip_value=0.05)
    straight = _model(fm.optim.Adam(lr=1e-2), classification=False, **compile_args)
    straight.fit(X, y, epochs=2, batch_size=32, verbose=0)
    straight.learning_rate = 3e-3
    straight.fit(X, y, epochs=4, batch_size=32, verbose=0, initial_epoch=2)
    first = _model(fm.optim.Adam(lr=1e-2), classification=False, **compile_args)
    first.fit(X, y, epochs=2, batch_size=32, verbose=0)
    first.learning_rate = 3e-3
    first.save(tmp_path / "c.safetensors")
    resumed = fm.load(tmp_path / "c.safetensors")
    assert resumed.learning_rate == pytest.approx(3e-3)
    assert resumed._clip == (0.5, 0.05)
    resumed.fit(X, y, epochs=4, batch_size=32, verbose=0, initial_epoch=resumed.epoch)
    _assert_same(straight, resumed)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_names_are_the_buffers_the_core_allocates(name):
    model = _model(OPTIMIZERS[name]())
    model.predict(np.zeros((2, 7), np.float32))
    assert _checkpoint.state_names(model._optimizer) == sorted(k for k in model.optimizer_state() if k != "step")


def test_loaded_model_is_compiled_like_the_saved_one(tmp_path):
    model = _model(fm.optim.RMSprop(lr=2e-3, alpha=0.9, centered=True))
    model.compile(loss=fm.losses.CrossEntropy(label_smoothing=0.1), optimizer=model._optimizer,
                  metrics=["accuracy", "f1"])
    model.save(tmp_path / "m.safetensors")
    loaded = fm.load(tmp_path / "m.safetensors")
    assert repr(loaded._optimizer) == repr(model._optimizer)
    assert repr(loaded._loss) == repr(model._loss)
    assert loaded._metrics == model._metrics
    X, y = _data()
    assert loaded.evaluate(X, y) == model.evaluate(X, y)


def test_include_optimizer_false_and_uncompiled_models_write_weights_only(tmp_path):
    model = _model(fm.optim.Adam())
    model.save(tmp_path / "w.safetensors", include_optimizer=False)
    fm.Sequential([fm.Dense(2)], input_dim=3).save(tmp_path / "u.safetensors")
    for path in ("w.safetensors", "u.safetensors"):
        with safe_open(str(tmp_path / path), framework="numpy") as f:
            assert "training" not in f.metadata()
            assert not any(k.startswith("optimizer.") for k in f.keys())
        with pytest.raises(RuntimeError, match="compile"):
            fm.load(tmp_path / path).train_step(np.zeros((2, 7 if path[0] == "w" else 3), np.float32), [0, 1])
    with pytest.raises(TypeError, match="include_optimizer"):
        model.save(tmp_path / "x.safetensors", include_optimizer="no")


def _rewrite(tmp_path, edit_training=None, edit_tensors=None):
    model = _model(fm.optim.Adam(lr=1e-2, amsgrad=True))
    X, y = _data()
    model.fit(X, y, epochs=1, batch_size=32, verbose=0)
    path = tmp_path / "m.safetensors"
    model.save(path)
    with safe_open(str(path), framework="numpy") as f:
        metadata = dict(f.metadata())
    tensors = load_file(str(path))
    training = json.loads(metadata["training"])
    if edit_training:
        edit_training(training)
    if edit_tensors:
        edit_tensors(tensors)
    metadata["training"] = json.dumps(training)
    metadata.pop("weights_crc32")
    save_file(tensors, str(path), metadata=metadata)
    return path


def _set(key, value):
    return lambda t: t.__setitem__(key, value)


HOSTILE_TRAINING = [
    ("unknown_key", _set("extra", 1), "unknown keys"),
    ("missing_key", lambda t: t.pop("step"), "lacks"),
    ("optimizer_name", lambda t: t["optimizer"].__setitem__("name", "Lion"), "optimizer.name must be 'Adagrad', 'Adam', 'AdamW', 'RMSprop' or 'SGD', got 'Lion'"),
    ("optimizer_lr", lambda t: t["optimizer"].__setitem__("lr", -1.0), "lr"),
    ("optimizer_unknown_arg", lambda t: t["optimizer"].__setitem__("foo", 1), "foo"),
    ("loss_name", lambda t: t["loss"].__setitem__("name", "hinge"), "loss.name must be 'binary_cross_entropy', 'cross_entropy', 'huber', 'mae', 'mse' or 'poisson', got 'hinge'"),
    ("metrics_type", _set("metrics", "accuracy"), "metrics must be a list"),
    ("metrics_for_wrong_loss", _set("metrics", ["r2"]), "r2"),
    ("clip_negative", _set("clip", [-1.0, 0.0]), "clip"),
    ("lr_nan", _set("learning_rate", float("nan")), "NaN"),
    ("lr_negative", _set("learning_rate", -0.5), "learning_rate"),
    ("step_negative", _set("step", -1), "step"),
    ("step_bool", _set("step", True), "step"),
    ("step_huge", _set("step", 2**70), "integer of 22 digits"),
    ("step_2**62", _set("step", 2**62), "step"),
    ("epoch_float", _set("epoch", 1.5), "epoch"),
    ("rng_short", lambda t: t["rng"].pop(), "rng"),
    ("rng_not_hex", lambda t: t["rng"].__setitem__(0, "zz" * 8), "rng"),
    ("rng_zero", lambda t: t.__setitem__("rng", ["0" * 16] * 4 + t["rng"][4:]), "all zeros"),
    ("amsgrad_without_tensor", lambda t: t["optimizer"].__setitem__("amsgrad", False), "unexpected tensors"),
]


@pytest.mark.parametrize("case, edit, fragment", HOSTILE_TRAINING, ids=[c[0] for c in HOSTILE_TRAINING])
def test_malformed_training_state_is_refused(tmp_path, case, edit, fragment):
    path = _rewrite(tmp_path, edit_training=edit)
    with pytest.raises(ValueError, match="cannot load") as info:
        fm.load(path)
    assert fragment in str(info.value)


def _nan_state(tensors):
    tensors["optimizer.exp_avg"][3] = np.nan


HOSTILE_TENSORS = [
    ("missing_state", lambda t: t.pop("optimizer.exp_avg_sq"), "missing tensors"),
    ("extra_state", lambda t: t.__setitem__("optimizer.sum", t["optimizer.exp_avg"].copy()), "unexpected tensors"),
    ("short_state", lambda t: t.__setitem__("optimizer.exp_avg", t["optimizer.exp_avg"][:-1].copy()), "shape"),
    ("nan_state", _nan_state, "NaN"),
]


@pytest.mark.parametrize("case, edit, fragment", HOSTILE_TENSORS, ids=[c[0] for c in HOSTILE_TENSORS])
def test_malformed_optimizer_tensors_are_refused(tmp_path, case, edit, fragment):
    path = _rewrite(tmp_path, edit_tensors=edit)
    with pytest.raises(ValueError, match="cannot load") as info:
        fm.load(path)
    assert fragment in str(info.value)


def test_a_flipped_bit_in_the_optimizer_state_fails_the_checksum(tmp_path):
    model = _model(fm.optim.Adam())
    X, y = _data()
    model.fit(X, y, epochs=1, batch_size=32, verbose=0)
    path = tmp_path / "m.safetensors"
    model.save(path)
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0x10  # the last tensor in the data area is an optimizer state (sorted names)
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="CRC-32"):
        fm.load(path)


def test_a_model_checkpoint_file_resumes_after_its_epoch(tmp_path):
    """ModelCheckpoint writes after each epoch; the file's epoch counter counts that epoch, so
    resuming with initial_epoch=loaded.epoch trains the rest of the run exactly once."""
    X, y = _data()
    straight = _model(fm.optim.Adam(lr=1e-2))
    whole = straight.fit(X, y, epochs=4, batch_size=16, verbose=0).history["loss"]
    first = _model(fm.optim.Adam(lr=1e-2))
    pattern = str(tmp_path / "ckpt-{epoch}.safetensors")
    head = first.fit(X, y, epochs=4, batch_size=16, verbose=0,
                     callbacks=[fm.callbacks.ModelCheckpoint(pattern)]).history["loss"]
    assert head == whole
    for done in (1, 2, 3, 4):
        assert fm.load(pattern.format(epoch=done)).epoch == done
    resumed = fm.load(pattern.format(epoch=2))
    tail = resumed.fit(X, y, epochs=4, batch_size=16, verbose=0, initial_epoch=resumed.epoch).history["loss"]
    assert whole[:2] + tail == whole
    _assert_same(straight, resumed)


def _file_of_an_earlier_version(tmp_path, loss, metrics):
    """A checkpoint as fastmlp wrote it before compile refused a one-output cross_entropy and class
    metrics under binary_cross_entropy: saved from an allowed set-up, then its training state
    edited to hold what was allowed then."""
    model = fm.Sequential([fm.Dense(1)], input_dim=3, seed=5)
    model.compile(loss="binary_cross_entropy", optimizer=fm.optim.Adam(lr=1e-2), metrics=["accuracy"])
    path = tmp_path / "earlier.safetensors"
    model.save(path)
    with safe_open(str(path), framework="numpy") as f:
        metadata = dict(f.metadata())
    training = json.loads(metadata["training"])
    training["loss"], training["metrics"] = {"name": loss}, metrics
    metadata["training"] = json.dumps(training)
    save_file(load_file(str(path)), str(path), metadata=metadata)
    return model, path


@pytest.mark.parametrize("loss, metrics", [("cross_entropy", ["accuracy"]),
                                           ("binary_cross_entropy", ["accuracy", "precision", "top_k_accuracy"])])
def test_files_with_set_ups_compile_now_refuses_still_load_compiled(tmp_path, loss, metrics):
    import pickle

    model, path = _file_of_an_earlier_version(tmp_path, loss, metrics)
    loaded = fm.load(path)
    assert loaded.compiled and loaded.loss.name == loss and loaded.optimizer.lr == pytest.approx(1e-2)
    for a, b in zip(loaded.parameters(), model.parameters()):
        np.testing.assert_array_equal(a, b)
    again = pickle.loads(pickle.dumps(loaded))
    assert again.compiled and again.loss.name == loss
    # what compile itself refuses stays refused
    with pytest.raises(ValueError):
        fm.Sequential([fm.Dense(1)], input_dim=3).compile(loss=loss, metrics=metrics)
