"""copy.copy(model) and copy.deepcopy(model) give an independent model: changing or training the
copy leaves the original alone (built and compiled, built and uncompiled, unbuilt, declared but
unbuilt), the copy's next epoch is bit for bit the original's (weights, buffers, optimizer state,
learning rate and schedule, epoch counter, generators), its layers are its own, and copying works
where a checkpoint cannot be written (non-finite weights, a schedule class of the user's)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import fastmlp as fm

COPIES = {"copy": copy.copy, "deepcopy": copy.deepcopy}


def _data(n=80, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 6)).astype(np.float32), rng.integers(0, 3, n)


def _layers():
    return [fm.Dense(16, activation="relu"), fm.BatchNorm(momentum=None), fm.Dropout(0.25), fm.Dense(3)]


def _compile(model, schedule=None):
    model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-2, amsgrad=True), metrics=["accuracy"],
                  lr_schedule=schedule, clip_norm=2.0)


def _trained(schedule=None):
    model = fm.Sequential(_layers(), input_dim=6, seed=3)
    _compile(model, schedule)
    X, y = _data()
    model.fit(X, y, epochs=2, batch_size=16, verbose=0)
    return model


def _snapshot(model):
    """Everything that decides the next epoch, as bytes."""
    state = [a.tobytes() for a in model.parameters() + model.buffers() + model.gradients()]
    if model.compiled:
        training = model.training_state()
        state += [training["learning_rate"], training["epoch"], training["rng_state"],
                  {k: (v.tobytes() if isinstance(v, np.ndarray) else v) for k, v in training["optimizer_state"].items()}]
    return state


@pytest.mark.parametrize("how", sorted(COPIES))
def test_the_copy_of_a_trained_model_continues_bit_for_bit(how):
    X, y = _data()
    original = _trained(fm.schedules.StepLR(1, gamma=0.5))
    twin = COPIES[how](original)
    assert twin is not original and twin.built and twin.compiled and twin.epoch == 2
    assert _snapshot(twin) == _snapshot(original)
    for model in (original, twin):
        model.fit(X, y, epochs=3, batch_size=16, verbose=0, initial_epoch=2)
    assert _snapshot(twin) == _snapshot(original)
    assert twin.learning_rate == original.learning_rate == pytest.approx(1e-2 * 0.5**3)
    assert twin.predict(X).tobytes() == original.predict(X).tobytes()
    # train_step too (the generators and optimizer state are the copy's own from here on)
    for model in (original, twin):
        model.train_step(X[:16], y[:16])
    assert _snapshot(twin) == _snapshot(original)


@pytest.mark.parametrize("how", sorted(COPIES))
@pytest.mark.parametrize("state", ["built_compiled", "built_uncompiled", "unbuilt_compiled", "unbuilt", "declared"])
def test_changing_and_training_the_copy_leaves_the_original_alone(how, state):
    X, y = _data()
    if state == "built_compiled":
        original = _trained(fm.schedules.ExponentialLR(0.9))
    elif state == "declared":  # the input width is known, the model not built yet
        original = fm.Sequential(input_dim=6, seed=3)
        for layer in _layers():
            original.add(layer)
    else:
        original = fm.Sequential(_layers(), input_dim=6 if state.startswith("built") else None, seed=3)
        if state.endswith("compiled") and not state.endswith("uncompiled"):
            _compile(original)
    was_built = original.built
    before = _snapshot(original) if was_built else None
    config = original.get_config() if was_built else None
    twin = COPIES[how](original)
    assert twin.built == was_built and twin.compiled == original.compiled
    if not twin.compiled:
        _compile(twin)
    twin.fit(X, y, epochs=2, batch_size=16, verbose=0, initial_epoch=twin.epoch)
    twin.parameters()[0][...] = 0.5
    twin.buffers()[0][...] = 9.0
    twin.layers[3].set_weights([np.ones((16, 3)), np.ones(3)])
    assert original.built == was_built  # training the copy did not build the original
    if was_built:
        assert _snapshot(original) == before and original.get_config() == config
    assert original.epoch == (2 if state == "built_compiled" else 0)
    if state == "built_compiled":
        assert original.learning_rate == pytest.approx(1e-2 * 0.9**2)


@pytest.mark.parametrize("how", sorted(COPIES))
def test_the_layers_of_a_copy_are_its_own(how):
    original = _trained()
    twin = COPIES[how](original)
    for mine, theirs in zip(twin.layers, original.layers, strict=True):
        assert mine is not theirs and repr(mine) == repr(theirs)
    twin.parameters()[0][...] = 0.0
    assert np.all(twin.layers[0].get_weights()[0] == 0)
    assert np.array_equal(original.layers[0].get_weights()[0], original.parameters()[0].T)
    assert not np.all(original.parameters()[0] == 0)


def test_the_schedule_of_a_copy_is_its_own_and_points_at_the_copy():
    X, y = _data()
    schedule = fm.schedules.StepLR(1, gamma=0.5)
    original = _trained(schedule)
    twin = copy.copy(original)
    twin.fit(X, y, epochs=3, batch_size=16, verbose=0, initial_epoch=2)
    assert schedule.last_step == 2 and twin.training_state()["lr_schedule"].last_step == 3
    assert original.learning_rate == pytest.approx(1e-2 * 0.25)


@pytest.mark.parametrize("how", sorted(COPIES))
def test_copies_work_where_a_checkpoint_cannot_be_written(how):
    """Pickling goes through the checkpoint format, which refuses these: copying does not."""

    class MySchedule(fm.schedules.StepLR):
        pass

    X, y = _data()
    custom = fm.Sequential(_layers(), input_dim=6, seed=3)
    _compile(custom, MySchedule(1, gamma=0.5))
    custom.fit(X, y, epochs=1, batch_size=16, verbose=0)
    with pytest.raises(ValueError, match="cannot be saved"):
        fm.io.to_bytes(custom)
    twin = COPIES[how](custom)
    for model in (custom, twin):
        model.fit(X, y, epochs=2, batch_size=16, verbose=0, initial_epoch=1)
    assert _snapshot(twin) == _snapshot(custom)

    diverged = fm.Sequential([fm.Dense(2)], input_dim=3)
    diverged.parameters()[0][0, 0] = np.nan
    twin = COPIES[how](diverged)
    assert np.isnan(twin.parameters()[0][0, 0])
    twin.parameters()[0][0, 0] = 1.0
    assert np.isnan(diverged.parameters()[0][0, 0])


@pytest.mark.parametrize("how", sorted(COPIES))
def test_an_empty_model_copies(how):
    twin = COPIES[how](fm.Sequential(input_dim=4, seed=2))
    assert twin.layers == [] and twin.input_dim == 4 and twin.seed == 2
    twin.add(fm.Dense(1))
    twin.build()
    assert twin.built


def test_a_copy_inside_a_deep_copied_structure_keeps_the_links():
    original = _trained()
    layer = original.layers[0]
    twin, twin_layer = copy.deepcopy([original, layer])
    assert twin_layer is twin.layers[0]
    assert np.array_equal(twin_layer.get_weights()[0], twin.parameters()[0].T)
