"""Keras's way of making a model: ``fm.Sequential()`` then ``model.add(layer)``, the input width on
the first layer (``input_dim=``), given to Sequential, to ``model.build`` or taken from the first
data; the layer-stack checks when an unbuilt model is used; configs, files, pickling and summary
of models made this way."""

from __future__ import annotations

import gc
import json
import pickle
import struct

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import layers as L

NO_LAYERS = r"^the model has no layers: add some with model\.add\(fm\.Dense\(\.\.\.\)\)$"


def _data(n=64, features=32, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, features)).astype(np.float32)
    return X, (X[:, :1] * 0.5 - X[:, 1:2]).astype(np.float32)


def _added(seed=0):
    """The user's steps, as in Keras."""
    model = fm.Sequential(seed=seed)
    model.add(fm.Dense(64, "relu", input_dim=32))
    model.add(fm.Dense(1))
    return model


def _listed(seed=0):
    return fm.Sequential([fm.Dense(64, "relu"), fm.Dense(1)], input_dim=32, seed=seed)


def _same_weights(a, b):
    return all(x.tobytes() == y.tobytes() for x, y in zip(a.parameters() + a.buffers(), b.parameters() + b.buffers(),
                                                         strict=True))


# --------------------------------------------------------------------------- the user's steps
def test_keras_steps_train_exactly_as_the_list_form():
    X, y = _data()
    model = _added()
    assert not model.built and model.input_dim == 32 and len(model.layers) == 2
    model.compile(loss="mse", optimizer=fm.optim.Adam(lr=1e-2))
    assert model.built  # the input width was known: compile builds
    twin = _listed()
    twin.compile(loss="mse", optimizer=fm.optim.Adam(lr=1e-2))
    assert _same_weights(model, twin)
    for m in (model, twin):
        m.fit(X, y, epochs=2, batch_size=16, verbose=0)
    assert _same_weights(model, twin)
    assert model.predict(X).tobytes() == twin.predict(X).tobytes()


@pytest.mark.parametrize("how", ["layer", "sequential", "both", "build_int", "build_shape", "build_1d", "build_list",
                                 "build_numpy_int", "first_fit", "first_predict"])
def test_every_way_to_give_the_input_width_builds_the_same_model(how):
    X, y = _data()
    first = fm.Dense(64, "relu", input_dim=32) if how in ("layer", "both") else fm.Dense(64, "relu")
    model = fm.Sequential(input_dim=32 if how in ("sequential", "both") else None, seed=0)
    model.add(first)
    model.add(fm.Dense(1))
    assert not model.built
    if how.startswith("build"):
        arg = {"build_int": 32, "build_shape": (None, 32), "build_1d": (32,), "build_list": [None, 32],
               "build_numpy_int": np.int64(32)}[how]
        assert model.input_dim is None
        model.build(arg)
    elif how == "first_fit":
        model.compile(loss="mse")
        assert not model.built
        model.fit(X, y, epochs=1, verbose=0)
    elif how == "first_predict":
        model.predict(X)
    else:
        assert model.input_dim == 32
        model.build()
    assert model.built and model.input_dim == 32
    reference = _listed()
    if how == "first_fit":
        reference.compile(loss="mse")
        reference.fit(X, y, epochs=1, verbose=0)
    assert _same_weights(model, reference)


@pytest.mark.parametrize("use", ["compile", "summary", "build", "predict", "parameters", "get_weights", "num_params",
                                 "save", "layer_get_weights"])
def test_a_model_whose_width_is_declared_builds_when_first_used_not_while_adding(use, tmp_path):
    model = _added()
    assert not model.built
    {
        "compile": lambda: model.compile(loss="mse"),
        "summary": lambda: model.summary(print_fn=lambda _: None),
        "build": model.build,
        "predict": lambda: model.predict(_data()[0]),
        "parameters": model.parameters,
        "get_weights": model.get_weights,
        "num_params": lambda: model.num_params,
        "save": lambda: model.save(tmp_path / "m.safetensors"),
        "layer_get_weights": lambda: model.layers[1].get_weights(),
    }[use]()
    assert model.built and model.input_dim == 32
    assert _same_weights(model, _listed())


def test_reading_the_config_or_repr_does_not_build():
    model = _added()
    assert model.get_config() == _listed().get_config()
    assert repr(model).endswith("input_dim=32, seed=0)") and not model.built


# --------------------------------------------------------------------------- add
@pytest.mark.parametrize("built_by", ["sequential_input_dim", "build", "predict", "compile_with_layer_input_dim"])
def test_adding_to_a_built_model_raises(built_by):
    if built_by == "sequential_input_dim":
        model = fm.Sequential([fm.Dense(4)], input_dim=3)
    else:
        model = fm.Sequential()
        model.add(fm.Dense(4, input_dim=3) if built_by == "compile_with_layer_input_dim" else fm.Dense(4))
        {"build": lambda: model.build(3), "predict": lambda: model.predict(np.zeros((2, 3), np.float32)),
         "compile_with_layer_input_dim": lambda: model.compile(loss="mse")}[built_by]()
    with pytest.raises(RuntimeError, match=r"^layers must be added before the model is built \(by input_dim, build\(\) "
                                           r"or the first fit/predict\); this model is built for input_dim=3 with 1 "
                                           r"layer\(s\)"):
        model.add(fm.Dense(2))
    assert len(model.layers) == 1


def test_add_checks_the_layer_type_with_the_usual_messages():
    model = fm.Sequential()
    with pytest.raises(TypeError, match=r"^layer must be an fm layer such as fm.Dense\(10\), got str$"):
        model.add("relu")
    with pytest.raises(TypeError, match=r"^layer must be an fm layer such as fm.Dense\(10\), got the class Dense itself: "
                                        r"create an instance, e.g. fm.Dense\(...\)$"):
        model.add(fm.Dense)
    assert model.layers == []


def test_sequential_takes_no_layers_or_an_empty_list():
    for model in (fm.Sequential(), fm.Sequential([]), fm.Sequential(None, input_dim=4)):
        assert model.layers == [] and not model.built
    with pytest.raises(TypeError, match=r"layers must be a list of fm layers such as \[fm.Dense\(10\)\], got Dense"):
        fm.Sequential(fm.Dense(3))


def test_the_width_declared_to_sequential_waits_for_the_layers():
    model = fm.Sequential(input_dim=5, seed=3)
    assert model.input_dim == 5 and not model.built
    model.add(fm.Dense(2))
    model.build()
    assert _same_weights(model, fm.Sequential([fm.Dense(2)], input_dim=5, seed=3))


# --------------------------------------------------------------------------- input_dim on a layer
@pytest.mark.parametrize("layer", [fm.Dense(3, input_dim=6), fm.Dropout(0.2, input_dim=6), fm.LayerNorm(input_dim=6),
                                   fm.BatchNorm(input_dim=6), fm.Activation("tanh", input_dim=6)], ids=repr)
def test_every_layer_kind_takes_input_dim_as_the_first_layer(layer):
    model = fm.Sequential()
    model.add(layer)
    if not isinstance(layer, fm.Dense):
        model.add(fm.Dense(3))
    model.build()
    assert model.input_dim == 6
    # the layer's own config keeps it; the model's config holds it once, as the model's
    config = layer.get_config()
    assert config["input_dim"] == 6
    again = L.from_config(json.loads(json.dumps(config)))
    assert type(again) is type(layer) and again.input_dim == 6 and again.get_config() == config
    assert "input_dim" not in model.get_config()["layers"][0] and model.get_config()["input_dim"] == 6


def test_input_dim_is_validated_like_sequentials():
    for bad in (0, -1, 2.5, "3", True):
        with pytest.raises(ValueError, match=r"^input_dim must be a positive integer, got "):
            fm.Dense(3, input_dim=bad)
    with pytest.raises(TypeError):
        fm.Dense(3, None, None, None, None, 4)  # keyword only, as in Keras (a keyword argument)
    assert fm.Dense(3).input_dim is None and "input_dim" not in fm.Dense(3).get_config()


def test_input_dim_on_a_later_layer_raises_naming_its_index():
    message = (r"^layers\[1\] \(Dense\(units=2, activation='identity', input_dim=4\)\) has input_dim=4, but only the "
               r"first layer may give input_dim, the model's number of input features \(layers\[1\] takes layers\[0\]'s "
               r"output\): remove it$")
    model = fm.Sequential()
    model.add(fm.Dense(3))
    with pytest.raises(ValueError, match=message):
        model.add(fm.Dense(2, input_dim=4))
    assert len(model.layers) == 1
    with pytest.raises(ValueError, match=message):
        fm.Sequential([fm.Dense(3), fm.Dense(2, input_dim=4)])
    config = {"input_dim": 5, "seed": 0, "layers": [fm.Dense(3).get_config(), fm.Dense(2, input_dim=4).get_config()]}
    with pytest.raises(ValueError, match=message):
        fm.Sequential.from_config(config)


def test_conflicting_input_dims_raise_naming_both_values():
    message = (r"^Sequential\(input_dim=4\) and the first layer's input_dim=5 \(Dense\(units=3, activation='identity', "
               r"input_dim=5\)\) disagree: give the number of input features once \(or the same value twice\)$")
    model = fm.Sequential(input_dim=4)
    with pytest.raises(ValueError, match=message):
        model.add(fm.Dense(3, input_dim=5))
    assert model.layers == []
    with pytest.raises(ValueError, match=message):
        fm.Sequential([fm.Dense(3, input_dim=5)], input_dim=4)
    with pytest.raises(ValueError, match=message):
        fm.Sequential.from_config({"input_dim": 4, "layers": [fm.Dense(3, input_dim=5).get_config()]})
    same = fm.Sequential([fm.Dense(3, input_dim=4)], input_dim=4)  # the same value twice is fine
    assert same.built and same.input_dim == 4


def test_a_config_with_input_dim_on_the_first_layer_builds_with_it():
    model = fm.Sequential.from_config({"input_dim": None, "layers": [fm.Dense(3, input_dim=7).get_config()]})
    assert model.built and model.input_dim == 7


# --------------------------------------------------------------------------- build
def test_build_twice():
    model = fm.Sequential([fm.Dense(3)])
    model.build(4)
    before = [p.copy() for p in model.parameters()]
    model.build(4)
    model.build((None, 4))
    model.build()
    assert all(np.array_equal(a, b) for a, b in zip(before, model.parameters()))  # the same width: nothing happens
    with pytest.raises(ValueError, match=r"^the model is already built for input_dim=4, got build\(5\); a built "
                                         r"model's input width cannot change: create a new fm.Sequential$"):
        model.build(5)
    with pytest.raises(ValueError, match=r"already built for input_dim=4, got build\(\(None, 6\)\)"):
        model.build((None, 6))


def test_build_errors():
    model = fm.Sequential([fm.Dense(3)])
    with pytest.raises(ValueError, match=r"^build\(\) needs the number of input features: model.build\(32\), or give "
                                         r"input_dim to Sequential or to the first layer$"):
        model.build()
    for bad in ((None, None), (1, 2, 3), (), (None,), "32"):
        with pytest.raises(ValueError, match=r"^input_dim must be the number of features \(32\) or a Keras input shape "
                                             r"\(None, 32\) or \(32,\), got |^input_dim must be a positive integer"):
            model.build(bad)
    for bad in (0, -3, 2.0, True, (None, 0)):
        with pytest.raises(ValueError, match="must be a positive integer"):
            model.build(bad)
    assert not model.built
    declared = fm.Sequential()
    declared.add(fm.Dense(3, input_dim=4))
    with pytest.raises(ValueError, match=r"^build\(5\) asks for 5 input features, but the model declares "
                                         r"input_dim=4 \(Sequential\(input_dim=...\) or the first layer's input_dim\)$"):
        declared.build(5)
    assert not declared.built


# --------------------------------------------------------------------------- stack checks when used
def _bad_stacks():
    no_dense = fm.Sequential()
    no_dense.add(fm.Dropout(0.1))
    early_softmax = fm.Sequential()
    early_softmax.add(fm.Dense(3, activation="softmax"))
    early_softmax.add(fm.Dense(2))
    return [(fm.Sequential(), NO_LAYERS), (fm.Sequential(input_dim=4), NO_LAYERS),
            (no_dense, "layers has no Dense layer; it must contain at least one fm.Dense layer"),
            (early_softmax, SOFTMAX_FIRST)]


SOFTMAX_FIRST = r"layers\[0\] \(Dense\(3, activation='softmax'\)\): softmax is only allowed on the last layer"


USES = {
    "build": lambda m, tmp: m.build(4),
    "compile": lambda m, tmp: m.compile(loss="mse"),
    "fit": lambda m, tmp: m.fit(np.zeros((4, 4), np.float32), np.zeros((4, 2), np.float32), verbose=0),
    "predict": lambda m, tmp: m.predict(np.zeros((4, 4), np.float32)),
    "summary": lambda m, tmp: m.summary(print_fn=lambda _: None),
    "get_config": lambda m, tmp: m.get_config(),
    "save": lambda m, tmp: m.save(tmp / "m.safetensors"),
    "parameters": lambda m, tmp: m.parameters(),
    "get_weights": lambda m, tmp: m.get_weights(),
    "set_weights": lambda m, tmp: m.set_weights([]),
    "output_dim": lambda m, tmp: m.output_dim,
}


@pytest.mark.parametrize("use", sorted(USES))
def test_the_stack_is_checked_when_an_unbuilt_model_is_used(use, tmp_path):
    for model, message in _bad_stacks():
        if use == "output_dim" and message is SOFTMAX_FIRST:
            continue  # the output width exists: the last Dense's
        if use == "fit":  # compile checks the stack too: layers added after compile are checked by fit
            compiled = fm.Sequential()
            compiled.add(fm.Dense(3, activation="softmax") if message is SOFTMAX_FIRST else fm.Dense(2))
            compiled.compile(loss="mse")
            if message is SOFTMAX_FIRST:
                compiled.add(fm.Dense(2))
            else:
                compiled.layers.clear()  # what the check guards against: a list changed behind the model's back
            model = compiled
            message = message if message is SOFTMAX_FIRST else NO_LAYERS
        with pytest.raises(ValueError, match=message):
            USES[use](model, tmp_path)
        assert not model.built


def test_adding_does_not_check_a_partial_stack():
    model = fm.Sequential()
    model.add(fm.BatchNorm(input_dim=4))  # no Dense yet: fine while adding
    model.add(fm.Dense(3, activation="softmax"))
    model.add(fm.Dropout(0.1))  # softmax not last: fine while adding
    with pytest.raises(ValueError, match="softmax is only allowed on the last layer"):
        model.compile(loss="cross_entropy")
    assert not model.compiled and not model.built


def test_the_list_form_still_checks_at_construction():
    with pytest.raises(ValueError, match="at least one fm.Dense layer"):
        fm.Sequential([fm.Dropout(0.5)])
    with pytest.raises(ValueError, match="softmax is only allowed on the last layer"):
        fm.Sequential([fm.Dense(2, activation="softmax"), fm.Dense(2)])


# --------------------------------------------------------------------------- config, files, pickling, summary
def _header(data):
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n])


def test_files_of_an_added_model_are_those_of_the_list_form(tmp_path):
    X, y = _data()
    for model, name in ((_added(), "added"), (_listed(), "listed")):
        model.compile(loss="mse")
        model.fit(X, y, epochs=1, verbose=0)
        model.save(tmp_path / f"{name}.safetensors")
    added, listed = ((tmp_path / f"{name}.safetensors").read_bytes() for name in ("added", "listed"))
    # the same header (safetensors may order its keys differently) and the same data area
    assert _header(added) == _header(listed) and len(added) == len(listed)
    start = 8 + struct.unpack("<Q", added[:8])[0]
    assert added[start:] == listed[start:]
    loaded = fm.load(tmp_path / "added.safetensors")
    assert loaded.layers[0].input_dim is None and loaded.input_dim == 32  # held once, by the model
    assert _same_weights(loaded, fm.load(tmp_path / "listed.safetensors"))
    again = fm.Sequential.from_config(_added().get_config())
    assert again.built and _same_weights(again, _listed())


def test_summary_of_an_added_model():
    assert _added().summary(print_fn=lambda _: None) == _listed().summary(print_fn=lambda _: None)
    model = fm.Sequential()
    model.add(fm.Dense(3))
    with pytest.raises(RuntimeError, match=r"^the model is not built: give Sequential an input_dim \(or the first layer "
                                           r"input_dim=...\), call model.build\(input_dim\) or fit first$"):
        model.summary()


def test_pickling_keeps_an_unbuilt_model_as_it_stands():
    pending = _added()
    twin = pickle.loads(pickle.dumps(pending))
    assert not twin.built and twin.input_dim == 32 and twin.layers[0].input_dim == 32
    assert repr(twin) == repr(pending)
    twin.build()
    assert _same_weights(twin, _listed())
    empty = pickle.loads(pickle.dumps(fm.Sequential(input_dim=3, seed=7)))
    assert empty.layers == [] and empty.input_dim == 3 and empty.seed == 7
    partial = fm.Sequential()
    partial.add(fm.Dropout(0.1))  # not a model yet: pickles as it stands
    again = pickle.loads(pickle.dumps(partial))
    assert repr(again) == repr(partial)
    again.add(fm.Dense(2))
    again.build(3)
    trained = _added()
    trained.compile(loss="mse")
    X, y = _data()
    trained.fit(X, y, epochs=1, verbose=0)
    twin = pickle.loads(pickle.dumps(trained))
    assert twin.compiled and _same_weights(twin, trained)
    assert twin.layers[0].get_weights()[0].tobytes() == trained.layers[0].get_weights()[0].tobytes()


# --------------------------------------------------------------------------- a layer in two models
def test_a_layer_already_in_a_model_is_copied_into_another():
    dense = fm.Dense(3)
    first = fm.Sequential([dense], input_dim=2, seed=0)
    second = fm.Sequential([dense], input_dim=2, seed=1)
    assert first.layers[0] is dense and second.layers[0] is not dense
    assert repr(second.layers[0]) == repr(dense)
    assert np.array_equal(dense.get_weights()[0], first.parameters()[0].T)  # the first model's
    assert np.array_equal(second.layers[0].get_weights()[0], second.parameters()[0].T)
    third = fm.Sequential()
    third.add(dense)
    assert third.layers[0] is not dense
    twice = fm.Sequential([fm.Dense(2), fm.Dropout(0.1)])
    twice.add(twice.layers[1])
    assert twice.layers[2] is not twice.layers[1] and twice.layers[2].rate == 0.1
    # a layer whose model is gone joins the next one as it is
    loose = fm.Dense(4)
    model = fm.Sequential([loose], input_dim=2)
    del model
    gc.collect()
    assert fm.Sequential([loose]).layers[0] is loose


def test_to_bytes_builds_a_model_whose_width_is_declared():
    model = fm.Sequential()
    model.add(fm.Dense(3, "relu", input_dim=4))
    model.add(fm.Dense(2))
    restored = fm.io.from_bytes(fm.io.to_bytes(model))
    assert model.built and restored.input_dim == 4
    for a, b in zip(model.parameters(), restored.parameters()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(RuntimeError, match=r"^the model has no weights yet: give Sequential an input_dim"):
        fm.io.to_bytes(fm.Sequential([fm.Dense(2)]))
