"""The one validation vocabulary (fastmlp._validation): its interval, choice, path and JSON checks
in their one message style, and the rule that a hostile file or pickle never makes fm.load raise
the validators' TypeError (a value of the wrong JSON type is a malformed file: ValueError)."""

from __future__ import annotations

import json
import math
import os
import pathlib

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

import fastmlp as fm
from fastmlp import _validation as V


# --------------------------------------------------------------------------- number_in
@pytest.mark.parametrize("value, low, high, opens, expected", [
    (0, 0.0, 1.0, (False, True), 0.0),
    (np.float32(0.5), 0.0, 1.0, (True, True), 0.5),
    (1e300, 0.0, math.inf, (False, True), 1e300),
    (math.inf, -math.inf, math.inf, (False, False), math.inf),
    (-math.inf, -math.inf, math.inf, (False, False), -math.inf),
    (math.inf, 0.0, math.inf, (True, False), math.inf),
])
def test_number_in_accepts_the_interval_as_written(value, low, high, opens, expected):
    assert V.number_in("x", value, low, high, *opens) == expected


@pytest.mark.parametrize("value, low, high, opens, message", [
    (1.0, 0.0, 1.0, (False, True), "x must be in [0, 1), got 1.0"),
    (0, 0.0, 1.0, (True, True), "x must be in (0, 1), got 0.0"),
    (-1, 0.0, math.inf, (False, True), "x must be in [0, inf), got -1.0"),
    (math.inf, 0.0, math.inf, (False, True), "x must be in [0, inf), got inf"),
    (0.0, 0.0, math.inf, (True, False), "x must be in (0, inf], got 0.0"),
    (math.nan, -math.inf, math.inf, (False, False), "x must be in [-inf, inf], got nan"),
    (1.5, 1e-3, 1.25, (False, False), "x must be in [0.001, 1.25], got 1.5"),
])
def test_number_in_names_the_interval_with_g_formatted_ends(value, low, high, opens, message):
    with pytest.raises(ValueError) as info:
        V.number_in("x", value, low, high, *opens)
    assert str(info.value) == message


@pytest.mark.parametrize("value", ["0.5", None, True, np.bool_(False), [0.5], 1j])
def test_number_in_raises_type_error_for_a_non_number(value):
    with pytest.raises(TypeError, match=r"^x must be a number, got "):
        V.number_in("x", value, 0.0, 1.0)


# --------------------------------------------------------------------------- one_of, check_path
def test_one_of_lists_the_choices_in_words():
    assert V.one_of("mode", "min", ("auto", "min", "max")) == "min"
    for choices, listed in [(("a",), "'a'"), (("a", "b"), "'a' or 'b'"), (("a", "b", "c"), "'a', 'b' or 'c'")]:
        with pytest.raises(ValueError) as info:
            V.one_of("k", "z", choices)
        assert str(info.value) == f"k must be {listed}, got 'z'"
    with pytest.raises(ValueError, match=r"^k must be 'a' or 'b', got 3$"):
        V.one_of("k", 3, ("a", "b"))


class _BytesPath(os.PathLike):
    def __fspath__(self):
        return b"model.onnx"


def test_check_path():
    assert V.check_path("path", "a.png") == "a.png"
    assert V.check_path("path", pathlib.Path("d") / "a.png") == os.path.join("d", "a.png")
    assert V.check_path("path", _BytesPath()) == "model.onnx"
    for bad, kind in [(b"a.png", "bytes"), (3, "int"), (None, "NoneType")]:
        with pytest.raises(TypeError) as info:
            V.check_path("path", bad)
        assert str(info.value) == f"path must be a str or os.PathLike, got {kind}"


# --------------------------------------------------------------------------- JSON
def test_json_list_and_hex_word():
    assert V.json_list("rng", [1, 2], 2) == [1, 2]
    with pytest.raises(TypeError, match=r"^rng must be a list \(a JSON array\) of 2 items, got \{\}$"):
        V.json_list("rng", {}, 2)
    with pytest.raises(ValueError, match=r"^rng must be a list \(a JSON array\) of 2 items, got \[1\]$"):
        V.json_list("rng", [1], 2)
    assert V.hex_word("w", "00ff", 4) == 255
    for bad in ("00FF", "0ff", 255, None):
        with pytest.raises(ValueError, match=r"^w must be 4 lowercase hex digits, got "):
            V.hex_word("w", bad, 4)


def test_check_keys_reports_missing_keys_then_unknown_ones():
    with pytest.raises(ValueError, match=r"^the state lacks 'best'$"):
        V.check_keys("the state", {"lr": 1, "extra": 2}, ("lr", "best"))
    with pytest.raises(ValueError, match=r"^the state has unknown keys \['extra'\]$"):
        V.check_keys("the state", {"lr": 1, "best": 2, "extra": 3}, ("lr", "best"))


# --------------------------------------------------------------------------- hostile files and pickles
def _saved(tmp_path):
    model = fm.Sequential([fm.Dense(6, "relu"), fm.Dense(3)], input_dim=4, seed=1)
    model.compile(loss="cross_entropy", optimizer=fm.optim.SGD(lr=0.1, momentum=0.9), metrics=["accuracy"],
                  lr_schedule=fm.schedules.ReduceLROnPlateau(monitor="loss", patience=1))
    rng = np.random.default_rng(0)
    model.fit(rng.standard_normal((32, 4)).astype(np.float32), rng.integers(0, 3, 32), epochs=2, verbose=0)
    path = tmp_path / "m.safetensors"
    model.save(path)
    return model, path


def _with_training(path, edit):
    with safe_open(str(path), framework="numpy") as f:
        metadata = dict(f.metadata())
    tensors = load_file(str(path))
    training = json.loads(metadata["training"])
    training = edit(training)
    metadata["training"] = json.dumps(training)
    metadata.pop("weights_crc32")
    out = path.with_name("bad.safetensors")
    save_file(tensors, str(out), metadata=metadata)
    return out


def _put(*keys_and_value):
    *keys, value = keys_and_value

    def edit(training):
        target = training
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
        return training

    return edit


WRONG_TYPES = [
    ("training_list", lambda t: [t], "the training state must be a JSON object, got list"),
    ("training_string", lambda t: "x", "the training state must be a JSON object, got str"),
    ("loss_string", _put("loss", "mse"), "training.loss must be a JSON object, got str"),
    ("optimizer_list", _put("optimizer", [1]), "training.optimizer must be a JSON object, got list"),
    ("optimizer_name_number", _put("optimizer", "name", 5), "training.optimizer.name must be 'Adagrad',"),
    ("optimizer_lr_string", _put("optimizer", "lr", "0.1"), "training.optimizer: lr must be a number, got '0.1'"),
    ("metrics_object", _put("metrics", {"a": 1}), "training.metrics must be a list (a JSON array)"),
    ("clip_string", _put("clip", "x"), "training.clip must be a list (a JSON array) of 2 items, got 'x'"),
    ("clip_item_string", _put("clip", ["1", 0]), "training.clip[0] must be a number, got '1'"),
    ("rng_object", _put("rng", {}), "training.rng must be a list (a JSON array) of 8 items"),
    ("learning_rate_string", _put("learning_rate", "0.1"), "training.learning_rate must be a number"),
    ("schedule_string", _put("lr_schedule", "x"), "training.lr_schedule must be a JSON object, got str"),
    ("schedule_config_list", _put("lr_schedule", "config", []), "training.lr_schedule.config must be a JSON object"),
    ("schedule_state_number", _put("lr_schedule", "state", 3), "training.lr_schedule.state must be a JSON object"),
    ("schedule_best_list", _put("lr_schedule", "state", "best", [1.0]), "best must be a number, got [1.0]"),
    ("schedule_factor_string", _put("lr_schedule", "config", "factor", "0.5"), "factor must be a number"),
]


@pytest.mark.parametrize("case, edit, fragment", WRONG_TYPES, ids=[c[0] for c in WRONG_TYPES])
def test_a_training_state_of_wrong_json_types_is_a_value_error_naming_the_file(tmp_path, case, edit, fragment):
    _, path = _saved(tmp_path)
    bad = _with_training(path, edit)
    with pytest.raises(ValueError) as info:  # never the validators' TypeError
        fm.load(bad)
    message = str(info.value)
    assert message.startswith(f"cannot load a fastmlp model from {str(bad)!r}: "), message
    assert fragment in message, message
    with pytest.raises(ValueError, match="cannot load a fastmlp model from bytes"):
        fm.io.from_bytes(bad.read_bytes())


@pytest.mark.parametrize("compile_state", [[], {"loss": []}, "x"])
def test_unpickling_malformed_compile_settings_raises_value_error(compile_state):
    model = fm.Sequential([fm.Dense(3)])
    model.compile(loss="mse", optimizer="adam")
    state = model.__getstate__()
    if isinstance(compile_state, dict):
        state["compile"].update(compile_state)
    else:
        state["compile"] = compile_state
    with pytest.raises(ValueError):
        fm.Sequential.__new__(fm.Sequential).__setstate__(state)


# --------------------------------------------------------------------------- include_optimizer
def test_include_optimizer_is_checked_by_every_writer(tmp_path):
    model, _ = _saved(tmp_path)
    for write in (lambda: model.save(tmp_path / "a.safetensors", include_optimizer="no"),
                  lambda: fm.io.save(model, tmp_path / "b.safetensors", include_optimizer="no"),
                  lambda: fm.io.to_bytes(model, include_optimizer=1)):
        with pytest.raises(TypeError, match=r"^include_optimizer must be True or False, got "):
            write()
    assert not (tmp_path / "a.safetensors").exists() and not (tmp_path / "b.safetensors").exists()
    assert fm.io.from_bytes(fm.io.to_bytes(model, include_optimizer=np.bool_(False))).compiled is False
