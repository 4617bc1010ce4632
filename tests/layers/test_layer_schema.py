"""The layer schema (fm.layers): the registry and strict from_config of every layer kind, the tensor
table against a built model's parameters() and buffers(), parameter counts, the stack rules, the
size check counting every layer kind, and the validators of fm._validation that io and the layers
share."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import _validation
from fastmlp import layers as L

# Every registered kind with its options; each stack below builds (input width 5).
INSTANCES = [
    fm.Dense(3),
    fm.Dense(4, activation="relu"),
    fm.Dense(4, activation=fm.activations.LeakyReLU(0.2), kernel_init="he_normal", bias_init="zeros"),
    fm.Dense(2, activation=fm.activations.Softplus(beta=2.0, threshold=5.0), kernel_regularizer="l1_l2"),
    fm.Dense(2, activation="gelu_tanh", kernel_regularizer=fm.regularizers.L1(0.5)),
    fm.Dense(2, activation="softmax", kernel_regularizer=fm.regularizers.L2(0.25)),
    fm.Dropout(0.0),
    fm.Dropout(0.5),
    fm.LayerNorm(),
    fm.LayerNorm(eps=1e-3, elementwise_affine=False),
    fm.BatchNorm(),
    fm.BatchNorm(momentum=0.3, eps=1e-4, affine=False),
    fm.BatchNorm(track_running_stats=False),
    fm.BatchNorm(momentum=1.0, affine=False, track_running_stats=False),
    fm.Activation("relu"),
    fm.Activation({"name": "softplus", "beta": 2.0, "threshold": 10.0}),
    fm.Activation("softmax"),
]

STACKS = [
    [fm.Dense(3)],
    [fm.Dense(7, activation="relu"), fm.Dropout(0.2), fm.Dense(2)],
    [fm.LayerNorm(), fm.Dense(6), fm.BatchNorm(), fm.Dense(4, "tanh"), fm.LayerNorm(elementwise_affine=False),
     fm.Dense(3)],
    [fm.BatchNorm(affine=False), fm.Dense(6), fm.BatchNorm(track_running_stats=False), fm.Dropout(0.1),
     fm.Dense(4), fm.BatchNorm(momentum=0.5), fm.Dense(2, activation="softmax")],
    [fm.Dropout(0.3), fm.Dense(8), fm.BatchNorm(affine=False, track_running_stats=False), fm.Dense(1)],
    [fm.Activation("tanh"), fm.Dense(5), fm.BatchNorm(), fm.Activation("gelu"), fm.Dense(3), fm.Activation("softmax")],
]


# --------------------------------------------------------------------------- registry
def test_the_registry_holds_every_layer_kind_under_its_class_name():
    assert L.layer_types() == {"Dense": fm.Dense, "Dropout": fm.Dropout, "LayerNorm": fm.LayerNorm,
                               "BatchNorm": fm.BatchNorm, "Activation": fm.Activation}
    for name, cls in L.layer_types().items():
        assert cls.__name__ == name
    L.layer_types().clear()  # a copy: the registry is unchanged
    assert len(L.layer_types()) == 5


@pytest.mark.parametrize("layer", INSTANCES, ids=repr)
def test_every_layer_kind_round_trips_through_the_registry(layer):
    config = layer.get_config()
    assert config["type"] == type(layer).__name__
    assert set(config) <= {"type", *type(layer).config_keys, *type(layer).optional_config_keys}
    assert set(type(layer).config_keys) <= set(config)
    for again in (L.from_config(config), type(layer).from_config(config), L.from_config(json.loads(json.dumps(config)))):
        assert type(again) is type(layer)
        assert again.get_config() == config
        assert repr(again) == repr(layer)


def test_a_registered_kind_is_known_to_from_config(monkeypatch):
    monkeypatch.setattr(L, "_LAYER_TYPES", dict(L._LAYER_TYPES))

    @L.register
    class Scale(L.Layer):
        config_keys = ("factor",)

        def __init__(self, factor):
            self.factor = _validation.real_number("factor", factor)

        def get_config(self):
            return {"type": "Scale", "factor": self.factor}

    assert "Scale" in L.layer_types()
    assert L.from_config({"type": "Scale", "factor": 2}).factor == 2.0
    with pytest.raises(TypeError, match=r"^layers\[3\]: factor must be a number, got 'x'$"):
        L.from_config({"type": "Scale", "factor": "x"}, "layers[3]")
    layer = Scale(2.0)
    assert layer.output_width(7) == 7 and layer.activation_values(7) == 7
    assert layer.tensors(7) == L.TensorTable([], []) and layer.num_params(7) == 0
    assert layer.summary_kind() == "Scale"
    layer.check_position(0, 3)  # no ordering rule by default


def test_register_takes_only_layer_classes():
    with pytest.raises(TypeError, match="register takes a subclass of fm.layers.Layer"):
        L.register(dict)


def test_kind_lookup_falls_back_to_the_nearest_base_class():
    class MyDense(fm.Dense):
        pass

    table = {fm.Dense: "dense", L.Layer: "any"}
    assert L.kind_lookup(table, MyDense(2)) == "dense"
    assert L.kind_lookup(table, fm.Dropout(0.1)) == "any"
    assert L.kind_lookup({fm.Dense: 1}, fm.LayerNorm()) is None


# --------------------------------------------------------------------------- strict from_config
BAD_CONFIGS = [
    ([1, 2], TypeError, "layers[0] must be a JSON object, got list"),
    ({"units": 3}, ValueError, "layers[0] has unknown layer type None; expected one of: Dense, Dropout"),
    ({"type": "Conv2D"}, ValueError, "layers[0] has unknown layer type 'Conv2D'"),
    ({"type": 3}, ValueError, "layers[0] has unknown layer type 3"),
    ({"type": "Dense"}, ValueError, "layers[0] lacks 'units'"),
    ({"type": "Dense", "units": 3, "use_bias": False}, ValueError, "layers[0] has unknown keys ['use_bias']"),
    ({"type": "Dense", "units": 0}, ValueError, "layers[0]: units must be a positive integer, got 0"),
    ({"type": "Dense", "units": 2.0}, ValueError, "layers[0]: units must be a positive integer, got 2.0"),
    ({"type": "Dense", "units": 2, "activation": "gelux"}, ValueError, "layers[0]: unknown activation 'gelux'"),
    ({"type": "Dense", "units": 2, "activation": 3}, TypeError, "layers[0]: activation must be a string"),
    ({"type": "Dense", "units": 2, "kernel_init": "bogus"}, ValueError, "layers[0]: unknown kernel_init 'bogus'"),
    ({"type": "Dense", "units": 2, "kernel_regularizer": "l2"}, TypeError,
     "layers[0]: kernel_regularizer must be a JSON object, got str"),
    ({"type": "Dense", "units": 2, "kernel_regularizer": {"type": "L3"}}, ValueError,
     "layers[0]: kernel_regularizer has unknown type 'L3'"),
    ({"type": "Dense", "units": 2, "kernel_regularizer": {"type": "L1", "l1": 0.1, "l2": 0.1}}, ValueError,
     "layers[0]: kernel_regularizer has unknown keys ['l2']"),
    ({"type": "Dense", "units": 2, "kernel_regularizer": {"type": "L1L2", "l1": 0.1}}, ValueError,
     "layers[0]: kernel_regularizer lacks 'l2'"),
    ({"type": "Dense", "units": 2, "kernel_regularizer": {"type": "L2", "l2": -1}}, ValueError,
     "layers[0]: kernel_regularizer: l2 must be a finite number >= 0, got -1"),
    ({"type": "Dropout"}, ValueError, "layers[0] lacks 'rate'"),
    ({"type": "Dropout", "rate": 1.0}, ValueError, "layers[0]: rate must be in [0, 1), got 1.0"),
    ({"type": "Dropout", "rate": "0.1"}, TypeError, "layers[0]: rate must be a number, got '0.1'"),
    ({"type": "LayerNorm", "eps": 1e-5}, ValueError, "layers[0] lacks 'elementwise_affine'"),
    ({"type": "LayerNorm", "eps": 0.0, "elementwise_affine": True}, ValueError,
     "layers[0]: eps must be a finite number > 0, got 0.0"),
    ({"type": "LayerNorm", "eps": 1e-5, "elementwise_affine": 1}, TypeError,
     "layers[0]: elementwise_affine must be True or False, got 1"),
    ({"type": "BatchNorm", "eps": 1e-5, "affine": True, "track_running_stats": True}, ValueError,
     "layers[0] lacks 'momentum'"),
    ({"type": "BatchNorm", "momentum": 1.5, "eps": 1e-5, "affine": True, "track_running_stats": True}, ValueError,
     "layers[0]: momentum must be in [0, 1], got 1.5"),
    ({"type": "BatchNorm", "momentum": 0.1, "eps": 1e-5, "affine": True, "track_running_stats": "yes"}, TypeError,
     "layers[0]: track_running_stats must be True or False, got 'yes'"),
    ({"type": "BatchNorm", "momentum": 0.1, "eps": 1e-5, "affine": True, "track_running_stats": True,
      "elementwise_affine": True}, ValueError, "layers[0] has unknown keys ['elementwise_affine']"),
]


@pytest.mark.parametrize("config, error, message", BAD_CONFIGS, ids=[m for _, _, m in BAD_CONFIGS])
def test_strict_from_config_names_the_layer_and_the_key(config, error, message):
    with pytest.raises(error) as info:
        L.from_config(config, "layers[0]")
    assert str(info.value).startswith(message), str(info.value)


def test_a_class_from_config_refuses_another_kind_and_defaults_its_name():
    with pytest.raises(ValueError, match=r"^config has type 'Dropout', expected 'Dense'$"):
        fm.Dense.from_config({"type": "Dropout", "rate": 0.1})
    with pytest.raises(ValueError, match=r"^config lacks 'rate'$"):
        L.from_config({"type": "Dropout"})


# --------------------------------------------------------------------------- tensors and counts
@pytest.mark.parametrize("layers", STACKS, ids=lambda s: "-".join(type(layer).__name__ for layer in s))
def test_the_tensor_table_matches_a_built_model(layers):
    model = fm.Sequential(layers, input_dim=5, seed=0)
    table = L.tensor_table(model.layers, 5)
    assert [shape for _, shape in table.parameters] == [p.shape for p in model.parameters()]
    assert [shape for _, shape in table.buffers] == [b.shape for b in model.buffers()]
    assert table.num_params == model.num_params == sum(p.size for p in model.parameters())
    assert table.num_buffer_values == sum(b.size for b in model.buffers())
    assert all(isinstance(n, int) for _, shape in table.parameters + table.buffers for n in shape)
    # per layer: the stack's table is the layers' own tables, prefixed with their index
    width, params, buffers = 5, [], []
    for i, layer in enumerate(model.layers):
        own = layer.tensors(width)
        assert layer.num_params(width) == own.num_params
        params += [(f"layers.{i}.{name}", shape) for name, shape in own.parameters]
        buffers += [(f"layers.{i}.{name}", shape) for name, shape in own.buffers]
        width = layer.output_width(width)
    assert (params, buffers) == (table.parameters, table.buffers)
    assert width == model.output_dim


@pytest.mark.parametrize("layers", STACKS, ids=lambda s: "-".join(type(layer).__name__ for layer in s))
def test_saved_files_and_gradient_checks_use_the_tensor_table_names(tmp_path, layers):
    from safetensors import safe_open

    model = fm.Sequential(layers, input_dim=5, seed=0)
    table = L.tensor_table(model.layers, 5)
    model.save(tmp_path / "m.safetensors")
    with safe_open(str(tmp_path / "m.safetensors"), framework="np") as f:
        assert sorted(f.keys()) == sorted(name for name, _ in table.parameters + table.buffers)
        for (name, _), view in zip(table.parameters + table.buffers, model.parameters() + model.buffers()):
            assert np.array_equal(f.get_tensor(name), view)
    model.compile(loss="mse", optimizer="sgd")
    X = np.random.default_rng(0).standard_normal((6, 5)).astype(np.float32)
    y = np.zeros((6, model.output_dim), np.float32)
    if layers[-1].get_config().get("activation") == "softmax":
        model.compile(loss="cross_entropy", optimizer="sgd")
        y = np.arange(6) % model.output_dim
    assert list(fm.check_gradients(model, X, y, max_checks_per_tensor=1)) == [name for name, _ in table.parameters]


def test_tensors_by_layer_groups_arrays_by_layer():
    model = fm.Sequential(STACKS[2], input_dim=5, seed=0)
    grouped = L.tensors_by_layer(model.layers, 5, model.parameters() + model.buffers())
    assert [sorted(g) for g in grouped] == [
        ["bias", "weight"], ["bias", "weight"], ["bias", "running_mean", "running_var", "weight"],
        ["bias", "weight"], [], ["bias", "weight"],
    ]
    assert grouped[2]["running_var"] is not None and grouped[2]["running_var"].shape == (6,)
    with pytest.raises(AssertionError, match="do not match the tensor table"):
        L.tensors_by_layer(model.layers, 5, model.parameters())


def test_the_tensor_table_sizes_models_too_large_to_build():
    table = L.tensor_table([fm.Dense(2**40), fm.LayerNorm(), fm.Dense(3)], 2**33)
    assert table.parameters[0] == ("layers.0.weight", (2**40, 2**33))
    assert table.num_params == 2**40 * (2**33 + 1) + 2 * 2**40 + 3 * (2**40 + 1)


def test_activation_values_per_sample():
    assert fm.Dense(7).activation_values(3) == 7
    assert fm.Dropout(0.5).activation_values(3) == 6  # the output and the mask
    assert fm.LayerNorm().activation_values(3) == 5  # the output and each row's mean and 1/std
    assert fm.BatchNorm().activation_values(3) == 3


def test_summary_counts_every_layer_kind_from_the_schema():
    model = fm.Sequential(STACKS[3], input_dim=5, seed=0)
    text = model.summary(print_fn=lambda _: None)
    table = L.tensor_table(model.layers, 5)
    assert f"Total params: {table.num_params + table.num_buffer_values:,}" in text
    assert f"Trainable params: {model.num_params:,}" in text
    assert f"Non-trainable params: {table.num_buffer_values:,}" in text
    assert "dense_2 (Dense, softmax)" in text and "batch_norm" not in text and "batchnorm_2 (BatchNorm)" in text


# --------------------------------------------------------------------------- stack rules
def test_softmax_is_allowed_only_last():
    L.check_layer_order([fm.Dense(3), fm.Dense(2, activation="softmax")])
    with pytest.raises(ValueError, match=r"layers\[0\] \(Dense\(3, activation='softmax'\)\): softmax is only allowed "
                                         r"on the last layer, the model's output, and 2 layer\(s\) follow it"):
        L.check_layer_order([fm.Dense(3, activation="softmax"), fm.Dropout(0.1), fm.Dense(2)])


def test_a_stack_needs_a_dense_layer():
    L.check_layer_stack([fm.LayerNorm(), fm.Dense(1)])
    with pytest.raises(ValueError, match="layers has no Dense layer; it must contain at least one fm.Dense layer"):
        L.check_layer_stack([fm.LayerNorm(), fm.Dropout(0.1)])
    with pytest.raises(ValueError, match="softmax is only allowed on the last layer"):
        L.check_layer_stack([fm.Dense(2, activation="softmax"), fm.Dense(2)])


# --------------------------------------------------------------------------- model size
def test_check_model_size_counts_normalisation_layers(monkeypatch):
    """[LayerNorm, Dense(1)] over 100,000 inputs: 100,001 Dense parameters fit in 1 MiB with their
    gradients (0.8 MB), the LayerNorm's 200,000 more do not."""
    monkeypatch.setattr(_validation, "_physical_memory_bytes", lambda: 2**20)
    fm.Sequential([fm.Dense(1)], input_dim=100_000)
    for norm in (fm.LayerNorm(), fm.BatchNorm()):
        with pytest.raises(MemoryError, match="has 300,001 parameters") as info:
            fm.Sequential([norm, fm.Dense(1)], input_dim=100_000)
        assert "input_dim=100000" in str(info.value) and type(norm).__name__ in str(info.value)
    fm.Sequential([fm.LayerNorm(elementwise_affine=False), fm.Dense(1)], input_dim=100_000)


def test_orthogonal_kernels_after_normalisation_layers():
    """The orthogonal kernel_init finds each Dense's weight through the tensor table (it used to
    take every other parameter, so a LayerNorm's gamma before a Dense broke it)."""
    model = fm.Sequential([fm.Dense(4, kernel_init="orthogonal"), fm.LayerNorm(), fm.BatchNorm(),
                           fm.Dense(3, kernel_init="orthogonal")], input_dim=6, seed=0)
    w0, _, gamma, beta, gamma2, beta2, w3, _ = model.parameters()
    np.testing.assert_allclose(w0 @ w0.T, np.eye(4), atol=1e-5)
    np.testing.assert_allclose(w3 @ w3.T, np.eye(3), atol=1e-5)
    for g, b in ((gamma, beta), (gamma2, beta2)):
        assert np.all(g == 1) and np.all(b == 0)


# --------------------------------------------------------------------------- shared validators
def test_int_in():
    assert _validation.int_in("seed", 3, 0, 5) == 3
    for value in (-1, 6, 2.0, True, "3", None):
        with pytest.raises(ValueError, match=r"^seed must be an integer in \[0, 5\], got "):
            _validation.int_in("seed", value, 0, 5)


def test_number_in():
    assert _validation.number_in("rate", 0, 0.0, 1.0, high_open=True) == 0.0
    assert _validation.number_in("momentum", 1, 0.0, 1.0) == 1.0
    with pytest.raises(ValueError, match=r"^rate must be in \[0, 1\), got 1.0$"):
        _validation.number_in("rate", 1.0, 0.0, 1.0, high_open=True)
    with pytest.raises(ValueError, match=r"^momentum must be in \[0, 1\], got nan$"):
        _validation.number_in("momentum", math.nan, 0.0, 1.0)
    with pytest.raises(TypeError, match=r"^rate must be a number, got None$"):
        _validation.number_in("rate", None, 0.0, 1.0)


def test_check_keys_and_in_context():
    assert _validation.check_keys("cfg", {"a": 1, "b": 2}, ("a",), ("b", "c")) == {"a": 1, "b": 2}
    with pytest.raises(ValueError, match=r"^cfg lacks 'a', 'c'$"):
        _validation.check_keys("cfg", {"b": 1}, ("a", "b", "c"))
    with pytest.raises(ValueError, match=r"^cfg has unknown keys \[1, 'z'\]$"):
        _validation.check_keys("cfg", {"a": 1, "z": 0, 1: 0}, ("a",))
    with pytest.raises(TypeError, match=r"^cfg must be a JSON object, got list$"):
        _validation.check_keys("cfg", [], ())
    assert type(_validation.in_context("x", TypeError("bad"))) is TypeError
    error = _validation.in_context("layers[2]", ValueError("rate must be in [0, 1), got 2"))
    assert type(error) is ValueError and str(error) == "layers[2]: rate must be in [0, 1), got 2"


def test_is_int():
    assert _validation.is_int(3) and _validation.is_int(np.int64(3))
    assert not any(_validation.is_int(v) for v in (True, np.bool_(True), 3.0, "3", None))
