"""model.get_weights() / set_weights() and model.layers[i].get_weights() / set_weights() in Keras's
order and shapes (TensorFlow is not installed: the shapes Keras documents are written out by hand
below), against the zero-copy views of parameters() and buffers(); every validation error checked,
and nothing written by a call that fails."""

from __future__ import annotations

import copy
import gc
import pickle

import numpy as np
import pytest

import fastmlp as fm


def _model(seed=0, momentum=None):
    """Every layer kind, input width 4: Dense(5) LayerNorm BatchNorm Dropout Activation
    BatchNorm(momentum) Dense(3)."""
    return fm.Sequential([fm.Dense(5, activation="relu"), fm.LayerNorm(), fm.BatchNorm(), fm.Dropout(0.2),
                          fm.Activation("tanh"), fm.BatchNorm(momentum=momentum), fm.Dense(3)], input_dim=4, seed=seed)


# What Keras's get_weights() gives for the same stack (Dense kernel (in, out) then bias; LayerNorm
# gamma, beta; BatchNormalization gamma, beta, moving_mean, moving_variance), plus fastmlp's
# num_batches_tracked counter after a BatchNorm(momentum=None).
KERAS_SHAPES = [(4, 5), (5,), (5,), (5,), (5,), (5,), (5,), (5,), (5,), (5,), (5,), (5,), (), (5, 3), (3,)]
KERAS_DTYPES = [np.float32] * 12 + [np.int64] + [np.float32] * 2


def _data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)).astype(np.float32), rng.integers(0, 3, n)


def _trained(seed=0, momentum=None):
    """Moved away from the initial values: running statistics and the batch counter too."""
    model = _model(seed, momentum)
    model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-2))
    X, y = _data()
    model.fit(X, y, epochs=2, batch_size=16, verbose=0)
    return model


def _state(model):
    return [a.copy() for a in model.parameters() + model.buffers()]


def _unchanged(model, before):
    return all(a.tobytes() == b.tobytes() for a, b in zip(model.parameters() + model.buffers(), before, strict=True))


# --------------------------------------------------------------------------- order, shapes, values
def test_get_weights_has_keras_order_shapes_and_the_models_values():
    model = _trained()
    weights = model.get_weights()
    assert [w.shape for w in weights] == KERAS_SHAPES
    assert [w.dtype for w in weights] == KERAS_DTYPES
    assert all(w.flags.c_contiguous for w in weights)
    # parameters(): PyTorch layout, layer by layer; buffers(): running statistics and the counter
    W0, b0, g1, be1, g2, be2, g5, be5, W6, b6 = model.parameters()
    m2, v2, m5, v5, n5 = model.buffers()
    expected = [W0.T, b0, g1, be1, g2, be2, m2, v2, g5, be5, m5, v5, n5, W6.T, b6]
    for got, want in zip(weights, expected, strict=True):
        assert got.tobytes() == np.ascontiguousarray(want).tobytes()
    assert int(weights[12]) == 6  # two epochs of three batches
    assert not np.all(weights[6] == 0) and not np.all(weights[7] == 1)  # trained running statistics


def test_get_weights_returns_copies():
    model = _trained()
    before = _state(model)
    for w in model.get_weights() + model.layers[0].get_weights():
        w[...] = 7
    assert _unchanged(model, before)


@pytest.mark.parametrize("layer,names,shapes", [
    (fm.Dense(3), ["kernel", "bias"], [(4, 3), (3,)]),
    (fm.LayerNorm(), ["gamma", "beta"], [(4,), (4,)]),
    (fm.LayerNorm(elementwise_affine=False), [], []),
    (fm.BatchNorm(), ["gamma", "beta", "moving_mean", "moving_variance"], [(4,)] * 4),
    (fm.BatchNorm(affine=False), ["moving_mean", "moving_variance"], [(4,), (4,)]),  # Keras: center=scale=False
    (fm.BatchNorm(track_running_stats=False), ["gamma", "beta"], [(4,), (4,)]),
    (fm.BatchNorm(momentum=None, affine=False), ["moving_mean", "moving_variance", "num_batches_tracked"],
     [(4,), (4,), ()]),
    (fm.Dropout(0.5), [], []),
    (fm.Activation("relu"), [], []),
], ids=repr)
def test_each_kind_contributes_its_keras_arrays(layer, names, shapes):
    model = fm.Sequential([layer, fm.Dense(2)], input_dim=4)
    assert [w.keras_name for w in layer.keras_weights(4)] == names
    assert [w.shape for w in layer.keras_weights(4)] == shapes
    assert [w.shape for w in model.layers[0].get_weights()] == shapes
    assert [w.shape for w in model.get_weights()] == shapes + [(layer.output_width(4), 2), (2,)]


def test_a_round_trip_to_a_twin_gives_identical_weights_and_predictions():
    X, y = _data()
    original = _trained(seed=0)
    twin = _model(seed=5)
    twin.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-2))
    assert twin.predict(X).tobytes() != original.predict(X).tobytes()
    twin.set_weights(original.get_weights())
    assert _unchanged(twin, _state(original))
    assert twin.predict(X).tobytes() == original.predict(X).tobytes()
    # layer by layer too
    third = _model(seed=9)
    for source, target in zip(original.layers, third.layers):
        target.set_weights(source.get_weights())
    assert _unchanged(third, _state(original))


def test_layer_weights_are_the_models_slices_and_set_only_that_layer():
    model = _trained()
    per_layer = [layer.get_weights() for layer in model.layers]
    assert [len(w) for w in per_layer] == [2, 2, 4, 0, 0, 5, 2]
    flat = [w for ws in per_layer for w in ws]
    assert all(a.tobytes() == b.tobytes() for a, b in zip(flat, model.get_weights(), strict=True))
    before = _state(model)
    kernel = np.arange(15, dtype=np.float32).reshape(5, 3)
    model.layers[6].set_weights([kernel, np.zeros(3)])
    assert np.array_equal(model.parameters()[8], kernel.T) and np.all(model.parameters()[9] == 0)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(model.parameters()[:8] + model.buffers(),
                                                         before[:8] + before[10:]))
    model.layers[5].set_weights([np.ones(5), np.zeros(5), np.zeros(5), np.full(5, 2.0), 11])
    assert int(model.buffers()[4]) == 11 and np.all(model.buffers()[3] == 2)
    model.layers[3].set_weights([])  # a layer without weights takes an empty list


def test_set_weights_converts_integers_float64_and_lists():
    model = fm.Sequential([fm.Dense(2)], input_dim=3)
    model.set_weights([np.arange(6, dtype=np.int32).reshape(3, 2), [0.5, 1e-3]])
    assert model.parameters()[0].dtype == np.float32
    assert np.array_equal(model.parameters()[0], np.arange(6, dtype=np.float32).reshape(3, 2).T)
    assert model.parameters()[1].tolist() == [0.5, np.float32(1e-3)]
    model.set_weights((np.ones((3, 2), np.float64), np.ones(2, np.float16)))
    assert np.all(model.parameters()[0] == 1)
    counter = fm.Sequential([fm.BatchNorm(momentum=None), fm.Dense(1)], input_dim=2)
    weights = counter.get_weights()
    weights[4] = np.uint8(3)
    counter.set_weights(weights)
    assert counter.buffers()[2].dtype == np.int64 and int(counter.buffers()[2]) == 3


# --------------------------------------------------------------------------- validation
def _bad(weights, index, value):
    changed = list(weights)
    changed[index] = value
    return changed


def test_every_set_weights_error_names_the_array_and_changes_nothing():
    model = _trained()
    good = model.get_weights()
    before = _state(model)
    kernel = r"weights\[0\] \(layers\[0\] \(Dense\) kernel\)"
    cases = [
        (good[:-1], ValueError,
         r"^set_weights expects 15 array\(s\) in get_weights\(\)'s order, got 14; expected: layers\[0\] \(Dense\) kernel "
         r"\(4, 5\), layers\[0\] \(Dense\) bias \(5,\), layers\[1\] \(LayerNorm\) gamma \(5,\), layers\[1\] \(LayerNorm\) "
         r"beta \(5,\), layers\[2\] \(BatchNorm\) gamma \(5,\), layers\[2\] \(BatchNorm\) beta \(5,\), layers\[2\] "
         r"\(BatchNorm\) moving_mean \(5,\), layers\[2\] \(BatchNorm\) moving_variance \(5,\), .*layers\[5\] "
         r"\(BatchNorm\) num_batches_tracked \(\), layers\[6\] \(Dense\) kernel \(5, 3\), layers\[6\] \(Dense\) bias "
         r"\(3,\)$"),
        (good + [good[0]], ValueError, r"^set_weights expects 15 array\(s\) in get_weights\(\)'s order, got 16; "),
        (_bad(good, 0, good[0].T), ValueError,
         rf"^{kernel} must have shape \(4, 5\), got \(5, 4\): that is its transpose, fastmlp's/PyTorch's \(out, in\) "
         r"layout; get_weights\(\) and set_weights\(\) use Keras's \(in, out\), so pass array.T \(or write "
         r"PyTorch-layout arrays into model.parameters\(\)\)$"),
        (_bad(good, 1, np.zeros(4)), ValueError,
         r"^weights\[1\] \(layers\[0\] \(Dense\) bias\) must have shape \(5,\), got \(4,\)$"),
        (_bad(good, 12, np.zeros(1, np.int64)), ValueError,
         r"^weights\[12\] \(layers\[5\] \(BatchNorm\) num_batches_tracked\) must have shape \(\), got \(1,\)$"),
        (_bad(good, 0, good[0] > 0), ValueError, rf"^{kernel} must hold real numbers \(float or integer dtype\), got dtype bool$"),
        (_bad(good, 0, good[0] + 1j), ValueError, rf"^{kernel} must hold real numbers \(float or integer dtype\), got dtype complex"),
        (_bad(good, 0, good[0].astype(str)), ValueError, rf"^{kernel} must hold real numbers \(float or integer dtype\), got dtype <U"),
        (_bad(good, 0, good[0].astype(object)), ValueError, rf"^{kernel} must hold real numbers \(float or integer dtype\), got dtype object$"),
        (_bad(good, 1, [[1.0], [2.0, 3.0]]), ValueError, r"^weights\[1\] \(layers\[0\] \(Dense\) bias\) must be a numeric array: "),
        (_bad(good, 14, np.array([0.0, np.nan, 0.0])), ValueError,
         r"^weights\[14\] \(layers\[6\] \(Dense\) bias\) contains NaN or infinite values$"),
        (_bad(good, 14, np.array([0.0, -np.inf, 0.0], np.float32)), ValueError, r"^weights\[14\] .* contains NaN or infinite"),
        (_bad(good, 13, np.full((5, 3), 1e39)), ValueError,
         r"^weights\[13\] \(layers\[6\] \(Dense\) kernel\) holds values too large for float32 \(largest magnitude 1e\+39; "
         r"float32 reaches about 3.403e\+38\)$"),
        (_bad(good, 7, np.array([1.0, 1.0, -0.5, 1.0, 1.0])), ValueError,
         r"^weights\[7\] \(layers\[2\] \(BatchNorm\) moving_variance\) holds a negative variance -0.5; variances are >= 0$"),
        (_bad(good, 12, np.float64(3.0)), ValueError,
         r"^weights\[12\] \(layers\[5\] \(BatchNorm\) num_batches_tracked\) must hold an integer \(it counts training "
         r"batches\), got dtype float64$"),
        (_bad(good, 12, -1), ValueError, r"^weights\[12\] .* must be a non-negative int64 count, got -1$"),
        (_bad(good, 12, np.uint64(2**63)), ValueError, r"must be a non-negative int64 count, got 9223372036854775808$"),
        (good[0], TypeError, r"^set_weights takes a list of arrays, as get_weights\(\) returns, got ndarray \(wrap a single "
                             r"array in a list: \[array\]\)$"),
        ({"kernel": good[0]}, TypeError, r"^set_weights takes a list of arrays, as get_weights\(\) returns, got dict$"),
        ("weights", TypeError, r"got str$"),
        (None, TypeError, r"got NoneType$"),
    ]
    for weights, error, message in cases:
        with pytest.raises(error, match=message):
            model.set_weights(weights)
        assert _unchanged(model, before)


def test_an_invalid_last_array_leaves_the_valid_first_ones_unwritten():
    model = _trained()
    before = _state(model)
    weights = [np.zeros_like(w) for w in model.get_weights()]
    weights[-1] = np.full(3, np.nan, np.float32)
    with pytest.raises(ValueError, match="contains NaN"):
        model.set_weights(weights)
    assert _unchanged(model, before)
    layer_weights = [np.zeros((5, 3)), np.zeros(2)]
    with pytest.raises(ValueError, match=r"^weights\[1\] \(layers\[6\] \(Dense\) bias\) must have shape \(3,\), got \(2,\)$"):
        model.layers[6].set_weights(layer_weights)
    assert _unchanged(model, before)


def test_layer_set_weights_errors_name_the_layer():
    model = _trained()
    with pytest.raises(ValueError, match=r"^layers\[6\] \(Dense\).set_weights expects 2 array\(s\) in get_weights\(\)'s "
                                         r"order, got 1; expected: layers\[6\] \(Dense\) kernel \(5, 3\), layers\[6\] "
                                         r"\(Dense\) bias \(3,\)$"):
        model.layers[6].set_weights([np.zeros((5, 3))])
    with pytest.raises(ValueError, match=r"^layers\[3\] \(Dropout\).set_weights expects 0 array\(s\) in get_weights\(\)'s "
                                         r"order, got 1; expected: none$"):
        model.layers[3].set_weights([np.zeros(5)])
    with pytest.raises(TypeError, match=r"^layers\[0\] \(Dense\).set_weights takes a list of arrays"):
        model.layers[0].set_weights(np.zeros((4, 5)))


# --------------------------------------------------------------------------- unbuilt models, loose layers
def test_an_unbuilt_model_says_to_build_it_first():
    model = fm.Sequential([fm.Dense(2)])
    message = (r"^the model has no weights yet: give Sequential an input_dim \(or the first layer input_dim=...\), "
               r"call model.build\(input_dim\) or fit first$")
    for call in (model.get_weights, lambda: model.set_weights([np.zeros((3, 2)), np.zeros(2)]),
                 model.layers[0].get_weights, lambda: model.layers[0].set_weights([])):
        with pytest.raises(RuntimeError, match=message):
            call()
    assert not model.built
    model.build(3)
    model.set_weights([np.ones((3, 2)), np.zeros(2)])
    assert np.all(model.parameters()[0] == 1)


def test_a_layer_in_no_model_says_how_to_get_weights():
    message = (r"^Dense\(units=2, activation='identity'\) belongs to no model, so it has no weights to {}: add it to a "
               r"model \(model.add\(layer\) or fm.Sequential\(\[...\]\)\) and build the model \(model.build\(input_dim\) "
               r"or fit\), then use model.layers\[i\]; or use model.get_weights\(\) / model.set_weights\(\)$")
    loose = fm.Dense(2)
    with pytest.raises(RuntimeError, match=message.format("get")):
        loose.get_weights()
    with pytest.raises(RuntimeError, match=message.format("set")):
        loose.set_weights([])
    model = fm.Sequential([fm.Dense(2)], input_dim=3)
    for unbound in (copy.copy(model.layers[0]), copy.deepcopy(model.layers[0]),
                    pickle.loads(pickle.dumps(model.layers[0]))):
        with pytest.raises(RuntimeError, match=message.format("get")):
            unbound.get_weights()
    removed = model.layers.pop()  # taken out of the model behind its back: no longer its layer
    with pytest.raises(RuntimeError, match="belongs to no model"):
        removed.get_weights()


def test_a_layer_outliving_its_model():
    model = fm.Sequential([fm.Dense(2)], input_dim=3)
    layer = model.layers[0]
    assert layer.get_weights()[0].shape == (3, 2)
    del model
    gc.collect()
    with pytest.raises(RuntimeError, match="belongs to no model"):
        layer.get_weights()


def test_a_declared_model_builds_for_get_and_set_weights():
    model = fm.Sequential()
    model.add(fm.Dense(2, input_dim=3))
    model.set_weights([np.ones((3, 2)), np.zeros(2)])
    assert model.built and np.all(model.parameters()[0] == 1)
