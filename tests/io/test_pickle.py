"""Pickling and copying a Sequential goes through the checkpoint format (fm.io.to_bytes /
from_bytes): predictions and resumed training are bit-exact (every optimizer and kind of schedule,
every pickle protocol), unbuilt, uncompiled and compiled-but-untrained models keep their
configuration and compile settings, and copies are independent."""

from __future__ import annotations

import copy
import json
import pickle
import struct

import numpy as np
import pytest

import fastmlp as fm


def _data(n=96, features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, features)).astype(np.float32), rng.integers(0, classes, n)


def _layers():
    return [fm.Dense(16, activation="relu"), fm.BatchNorm(), fm.Dropout(0.25), fm.Dense(3)]


def _trained(schedule=None, epochs=2):
    model = fm.Sequential(_layers(), input_dim=6, seed=3)
    model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-2, amsgrad=True), metrics=["accuracy", "f1"],
                  lr_schedule=schedule, clip_norm=2.0)
    X, y = _data()
    model.fit(X, y, epochs=epochs, batch_size=16, verbose=0)
    return model


def _assert_same_tensors(a, b):
    for x, y in zip(a.parameters() + a.buffers(), b.parameters() + b.buffers(), strict=True):
        assert x.tobytes() == y.tobytes()


@pytest.mark.parametrize("how", ["pickle", "deepcopy", "copy"])
def test_a_compiled_model_round_trips_bit_exactly_and_resumes_training(how):
    X, y = _data()
    original = _trained(fm.schedules.StepLR(1, gamma=0.5))
    twin = {"pickle": lambda m: pickle.loads(pickle.dumps(m)), "deepcopy": copy.deepcopy, "copy": copy.copy}[how](original)
    assert twin is not original and twin.compiled and twin.built
    _assert_same_tensors(original, twin)
    assert original.predict(X).tobytes() == twin.predict(X).tobytes()
    assert twin.epoch == original.epoch == 2
    assert twin.learning_rate == original.learning_rate
    # the same further fit (shuffling, dropout masks, Adam moments, schedule) gives the same weights
    original.fit(X, y, epochs=4, batch_size=16, verbose=0, initial_epoch=2)
    twin.fit(X, y, epochs=4, batch_size=16, verbose=0, initial_epoch=2)
    _assert_same_tensors(original, twin)
    assert twin.learning_rate == original.learning_rate == pytest.approx(1e-2 * 0.5**4)
    assert twin.optimizer_state().keys() == original.optimizer_state().keys()
    for key, value in original.optimizer_state().items():
        assert np.array_equal(value, twin.optimizer_state()[key])


def test_copies_are_independent():
    X, y = _data()
    original = _trained()
    before = [p.copy() for p in original.parameters()]
    for twin in (copy.copy(original), copy.deepcopy(original), pickle.loads(pickle.dumps(original))):
        twin.parameters()[0][...] = 0.0
        twin.fit(X, y, epochs=1, batch_size=16, verbose=0)
        assert twin.training_state()["lr_schedule"] is None
    for now, then in zip(original.parameters(), before):
        assert np.array_equal(now, then)
    assert original.epoch == 2


def test_the_schedule_of_a_copy_is_its_own():
    schedule = fm.schedules.StepLR(1, gamma=0.5)
    original = _trained(schedule)
    twin = copy.deepcopy(original)
    X, y = _data()
    twin.fit(X, y, epochs=3, batch_size=16, verbose=0, initial_epoch=2)
    assert schedule.last_step == 2  # the original's schedule did not move
    assert twin.training_state()["lr_schedule"].last_step == 3


def test_an_uncompiled_built_model_round_trips():
    model = fm.Sequential(_layers(), input_dim=6, seed=9)
    model.parameters()[0][0, 0] = 1.25
    twin = pickle.loads(pickle.dumps(model))
    assert twin.built and not twin.compiled and twin.loss is None and twin.optimizer is None
    _assert_same_tensors(model, twin)
    X, y = _data()
    assert model.predict(X).tobytes() == twin.predict(X).tobytes()
    # compiled afterwards, both train identically (the generators start from the same seed)
    for m in (model, twin):
        m.compile(loss="cross_entropy", optimizer="sgd")
        m.fit(X, y, epochs=1, batch_size=16, verbose=0)
    _assert_same_tensors(model, twin)


def test_an_unbuilt_model_keeps_its_configuration_and_compile_settings():
    schedule = fm.schedules.ReduceLROnPlateau(monitor="loss", patience=0, factor=0.5)
    model = fm.Sequential(_layers(), seed=5)
    model.compile(loss=fm.losses.CrossEntropy(label_smoothing=0.1), optimizer=fm.optim.RMSprop(lr=3e-3, momentum=0.5),
                  metrics=["acc", "f1_micro"], lr_schedule=schedule, clip_value=0.25)
    twin = pickle.loads(pickle.dumps(model))
    assert not twin.built and twin.compiled and twin.input_dim is None
    assert twin.get_config() == model.get_config()
    assert repr(twin.loss) == repr(model.loss) and repr(twin.optimizer) == repr(model.optimizer)
    X, y = _data()
    for m in (model, twin):
        m.fit(X, y, epochs=3, batch_size=16, verbose=0)
    _assert_same_tensors(model, twin)
    assert twin.evaluate(X, y) == model.evaluate(X, y)
    assert list(twin.evaluate(X, y)) == ["loss", "accuracy", "f1_micro"]
    assert twin.training_state()["lr_schedule"].state_dict() == schedule.state_dict()

    plain = pickle.loads(pickle.dumps(fm.Sequential([fm.Dense(2)])))
    assert not plain.built and not plain.compiled and repr(plain) == repr(fm.Sequential([fm.Dense(2)]))


def _header(data):
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n])


def test_to_bytes_is_the_saved_file_and_from_bytes_reads_it(tmp_path):
    model = _trained()
    model.save(tmp_path / "m.safetensors")
    data = fm.io.to_bytes(model)
    saved = (tmp_path / "m.safetensors").read_bytes()
    # the same header (safetensors may order its keys differently) and the same data area
    assert isinstance(data, bytes) and _header(data) == _header(saved) and len(data) == len(saved)
    start = 8 + struct.unpack("<Q", data[:8])[0]
    assert data[start:] == saved[start:]
    weights_only = fm.io.to_bytes(model, include_optimizer=False)
    assert len(weights_only) < len(data)
    assert not fm.io.from_bytes(weights_only).compiled
    loaded = fm.io.from_bytes(bytearray(data))
    assert loaded.compiled
    _assert_same_tensors(model, loaded)


def test_from_bytes_keeps_every_check_of_load():
    data = fm.io.to_bytes(_trained())
    with pytest.raises(ValueError, match="cannot load a fastmlp model from bytes: .*too short"):
        fm.io.from_bytes(data[:5])
    with pytest.raises(ValueError, match="cannot load a fastmlp model from bytes"):
        fm.io.from_bytes(data[:-4])
    flipped = bytearray(data)
    flipped[-1] ^= 0x01
    with pytest.raises(ValueError, match="CRC-32"):
        fm.io.from_bytes(bytes(flipped))
    with pytest.raises(TypeError, match="bytes"):
        fm.io.from_bytes("not bytes")


def test_to_bytes_refuses_what_save_refuses():
    with pytest.raises(RuntimeError, match="no weights yet"):
        fm.io.to_bytes(fm.Sequential([fm.Dense(2)]))
    with pytest.raises(TypeError, match="include_optimizer"):
        fm.io.to_bytes(fm.Sequential([fm.Dense(2)], input_dim=3), include_optimizer="yes")
    model = fm.Sequential([fm.Dense(2)], input_dim=3)
    model.parameters()[0][0, 0] = np.nan
    with pytest.raises(ValueError, match="cannot save the model to bytes: .*NaN"):
        fm.io.to_bytes(model)
    with pytest.raises(ValueError, match="NaN"):
        pickle.dumps(model)


# --------------------------------------------------------------------------- every state a pickle keeps
def _assert_same_training_state(a, b):
    """Every entry of training_state() equal: settings by their reprs (the lr_schedule by its
    configuration and progress), learning rate, epoch, generators, optimizer state bit for bit."""
    sa, sb = a.training_state(), b.training_state()
    assert sa.keys() == sb.keys()
    assert repr(sa["loss"]) == repr(sb["loss"]) and repr(sa["optimizer"]) == repr(sb["optimizer"])
    assert (sa["metrics"], sa["clip_norm"], sa["clip_value"]) == (sb["metrics"], sb["clip_norm"], sb["clip_value"])
    assert (sa["learning_rate"], sa["epoch"], sa["rng_state"]) == (sb["learning_rate"], sb["epoch"], sb["rng_state"])
    if sa["lr_schedule"] is None:
        assert sb["lr_schedule"] is None
    else:
        assert sa["lr_schedule"].get_config() == sb["lr_schedule"].get_config()
        assert sa["lr_schedule"].state_dict() == sb["lr_schedule"].state_dict()
    assert sa["optimizer_state"].keys() == sb["optimizer_state"].keys()
    for key, value in sa["optimizer_state"].items():
        assert np.asarray(value).tobytes() == np.asarray(sb["optimizer_state"][key]).tobytes(), key


def test_a_compiled_untrained_model_round_trips_and_trains_as_the_original():
    model = fm.Sequential(_layers(), input_dim=6, seed=11)
    model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-2), metrics=["accuracy"],
                  lr_schedule=fm.schedules.StepLR(1, gamma=0.5), clip_value=0.5)
    twin = pickle.loads(pickle.dumps(model))
    assert twin.built and twin.compiled and twin.epoch == 0
    assert twin.optimizer_state()["step"] == 0
    _assert_same_tensors(model, twin)
    _assert_same_training_state(model, twin)
    X, y = _data()
    histories = [m.fit(X, y, epochs=2, batch_size=16, verbose=0).history for m in (model, twin)]
    assert histories[0] == histories[1]
    _assert_same_tensors(model, twin)
    _assert_same_training_state(model, twin)


# Each optimizer with its optional state on, each kind of schedule (per epoch, per batch with a
# cycled momentum, on a plateau with its counters): after 2 epochs, a pickle and 2 more epochs, the
# copy is where the original is, bit for bit.
OPTIMIZERS = {
    "sgd-nesterov": lambda: fm.optim.SGD(lr=5e-2, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam-amsgrad": lambda: fm.optim.Adam(lr=1e-2, amsgrad=True),
    "adamw": lambda: fm.optim.AdamW(lr=1e-2),
    "rmsprop-centered": lambda: fm.optim.RMSprop(lr=1e-3, momentum=0.5, centered=True),
    "adagrad": lambda: fm.optim.Adagrad(lr=5e-2, lr_decay=1e-3),
}
SCHEDULES = {
    "none": lambda optimizer: None,
    "cosine-warmup": lambda optimizer: fm.schedules.CosineAnnealingLR(4, eta_min=1e-4, warmup_epochs=1),
    # Adagrad has no momentum to cycle
    "onecycle": lambda optimizer: fm.schedules.OneCycleLR(max_lr=2e-2, total_steps=24,
                                                          cycle_momentum=optimizer != "adagrad"),
    "plateau": lambda optimizer: fm.schedules.ReduceLROnPlateau(monitor="loss", patience=0, factor=0.5, threshold=0.5),
}


@pytest.mark.parametrize("schedule", list(SCHEDULES))
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_training_continues_after_a_pickle_as_it_would_have(optimizer, schedule):
    X, y = _data()
    model = fm.Sequential(_layers(), input_dim=6, seed=4)
    model.compile(loss="cross_entropy", optimizer=OPTIMIZERS[optimizer](), metrics=["accuracy"],
                  lr_schedule=SCHEDULES[schedule](optimizer), clip_norm=1.0)
    model.fit(X, y, epochs=2, batch_size=16, verbose=0)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        twin = pickle.loads(pickle.dumps(model, protocol=protocol))
        _assert_same_tensors(model, twin)
        _assert_same_training_state(model, twin)
    histories = [m.fit(X, y, epochs=4, batch_size=16, verbose=0, initial_epoch=2).history for m in (model, twin)]
    assert histories[0] == histories[1]
    _assert_same_tensors(model, twin)
    _assert_same_training_state(model, twin)
    assert model.epoch == twin.epoch == 4
