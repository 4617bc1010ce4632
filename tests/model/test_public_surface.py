"""Sequential's public surface for checkpoints, schedules, sklearn and gradient checks: built,
compiled, loss, optimizer, loss_and_gradients, training_state / set_training_state; and no module
but model.py reaching into a Sequential's private state."""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest

import fastmlp as fm

PACKAGE = pathlib.Path(fm.__file__).parent


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)).astype(np.float32), rng.integers(0, 3, n)


def _model(seed=1, schedule=None):
    model = fm.Sequential([fm.Dense(8, activation="tanh"), fm.Dropout(0.3), fm.Dense(3)], input_dim=4, seed=seed)
    model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-2), metrics=["accuracy"],
                  lr_schedule=schedule, clip_value=0.5)
    return model


def test_built_compiled_loss_and_optimizer_follow_the_model():
    model = fm.Sequential([fm.Dense(3)])
    assert not model.built and not model.compiled and model.loss is None and model.optimizer is None
    optimizer = fm.optim.SGD(lr=0.1)
    model.compile(loss="mse", optimizer=optimizer)
    assert model.compiled and not model.built
    assert isinstance(model.loss, fm.losses.MSE) and model.optimizer is optimizer
    model.predict(np.zeros((2, 5), np.float32))
    assert model.built and model.input_dim == 5
    for name in ("built", "compiled", "loss", "optimizer"):
        with pytest.raises(AttributeError):
            setattr(model, name, None)


def test_loss_and_gradients_equal_a_training_step_without_changing_anything():
    X, y = _data()
    model = fm.Sequential([fm.Dense(8, activation="tanh"), fm.Dense(3)], input_dim=4, seed=1)
    model.compile(loss="cross_entropy", optimizer=fm.optim.SGD(lr=0.0))
    before = [p.copy() for p in model.parameters()]
    state = model.optimizer_state()
    loss, grads = model.loss_and_gradients(X, y)
    assert isinstance(loss, float) and loss == model.evaluate(X, y)["loss"]
    assert [g.shape for g in grads] == [p.shape for p in model.parameters()]
    assert all(g.dtype == np.float32 for g in grads)
    for p, b in zip(model.parameters(), before):
        assert np.array_equal(p, b)
    assert model.optimizer_state()["step"] == state["step"]
    # copies: changing them leaves gradients() alone
    grads[0][...] = 0.0
    assert np.abs(model.gradients()[0]).sum() > 0
    # without dropout the loss and gradient are those of a training step (lr 0: no update)
    step_loss = model.train_step(X, y)
    assert step_loss == pytest.approx(loss, rel=1e-6)
    _, again = model.loss_and_gradients(X, y)
    for g, h in zip(again, model.gradients()):
        np.testing.assert_allclose(g, h, rtol=1e-5, atol=1e-7)


def test_loss_and_gradients_validates_its_arguments_and_builds_the_model():
    X, y = _data()
    with pytest.raises(RuntimeError, match="compile"):
        fm.Sequential([fm.Dense(3)]).loss_and_gradients(X, y)
    model = fm.Sequential([fm.Dense(3)])
    model.compile(loss="cross_entropy")
    loss, grads = model.loss_and_gradients(X.astype(np.float64), list(y))
    assert model.built and np.isfinite(loss) and len(grads) == 2
    with pytest.raises(ValueError, match="X has 3 features"):
        model.loss_and_gradients(X[:, :3], y)
    with pytest.raises(ValueError, match="labels must be in"):
        model.loss_and_gradients(X, y + 5)


def test_loss_and_gradients_with_sample_weight_equal_repeated_rows():
    """Integer weights give the loss and gradient of the data with each row repeated that many
    times (the weighted mean, as fit); the L2 penalty is included once; weights are validated."""
    X, y = _data()
    weights = np.arange(len(X)) % 3  # zeros included
    model = fm.Sequential([fm.Dense(8, activation="tanh", kernel_regularizer=fm.regularizers.L2(0.01)), fm.Dense(3)],
                          input_dim=4, seed=1)
    model.compile(loss="cross_entropy", optimizer=fm.optim.SGD(lr=0.0))
    loss, grads = model.loss_and_gradients(X, y, sample_weight=weights)
    rep_loss, rep_grads = model.loss_and_gradients(np.repeat(X, weights, axis=0), np.repeat(y, weights))
    assert loss == pytest.approx(rep_loss, rel=1e-6)
    assert loss == pytest.approx(model.evaluate(X, y, sample_weight=weights)["loss"], rel=1e-6)
    for g, h in zip(grads, rep_grads):
        np.testing.assert_allclose(g, h, rtol=1e-5, atol=1e-7)
    unweighted, _ = model.loss_and_gradients(X, y)
    assert loss != pytest.approx(unweighted, rel=1e-3)
    with pytest.raises(ValueError, match="sample_weight"):
        model.loss_and_gradients(X, y, sample_weight=np.zeros(len(X)))
    with pytest.raises(ValueError, match="sample_weight"):
        model.loss_and_gradients(X, y, sample_weight=np.ones(3))


def test_a_training_state_moved_to_a_twin_continues_training_bit_for_bit():
    X, y = _data()
    original = _model(schedule=fm.schedules.StepLR(1, gamma=0.5))
    original.fit(X, y, epochs=2, batch_size=8, verbose=0)
    state = original.training_state()
    assert set(state) == {"loss", "optimizer", "metrics", "lr_schedule", "clip_norm", "clip_value", "learning_rate",
                          "optimizer_state", "epoch", "rng_state"}
    assert state["epoch"] == 2 and state["clip_norm"] is None and state["clip_value"] == 0.5
    assert len(state["rng_state"]) == 8 and state["optimizer_state"]["step"] == 10

    twin = fm.Sequential([fm.Dense(8, activation="tanh"), fm.Dropout(0.3), fm.Dense(3)], input_dim=4, seed=99)
    for view, value in zip(twin.parameters(), original.parameters()):
        view[...] = value
    twin.set_training_state(state)
    assert twin.epoch == 2 and twin.learning_rate == original.learning_rate
    for model in (original, twin):
        model.fit(X, y, epochs=4, batch_size=8, verbose=0, initial_epoch=2)
    for a, b in zip(original.parameters(), twin.parameters()):
        assert a.tobytes() == b.tobytes()
    assert twin.learning_rate == original.learning_rate


def test_the_training_state_is_a_snapshot():
    X, y = _data()
    schedule = fm.schedules.ExponentialLR(0.9)
    model = _model(schedule=schedule)
    model.fit(X, y, epochs=1, batch_size=8, verbose=0)
    state = model.training_state()
    assert state["lr_schedule"] is not schedule and state["lr_schedule"].model is None
    assert state["lr_schedule"].state_dict() == schedule.state_dict()
    frozen = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in state["optimizer_state"].items()}
    model.fit(X, y, epochs=2, batch_size=8, verbose=0, initial_epoch=1)
    assert state["epoch"] == 1 and state["lr_schedule"].last_step == 1
    for key, value in frozen.items():
        assert np.array_equal(state["optimizer_state"][key], value)


def test_an_invalid_training_state_raises_and_changes_nothing():
    X, y = _data()
    model = _model()
    model.fit(X, y, epochs=1, batch_size=8, verbose=0)
    before = model.training_state()
    bad_size = dict(before["optimizer_state"], exp_avg=before["optimizer_state"]["exp_avg"][:-1].copy())
    cases = [
        ({**before, "extra": 1}, ValueError, "unknown keys"),
        ({k: v for k, v in before.items() if k != "epoch"}, ValueError, "lacks"),
        ({**before, "epoch": -1}, ValueError, "epoch"),
        ({**before, "optimizer": fm.optim.SGD(lr=0.5, momentum=0.9)}, ValueError, None),  # an SGD state for an Adam one
        ({**before, "optimizer_state": bad_size}, ValueError, None),
        ({**before, "rng_state": [0] * 8}, ValueError, "all zeros"),
        ({**before, "learning_rate": -1.0}, ValueError, "learning_rate"),
        ({**before, "metrics": ["r2"]}, ValueError, "r2"),
    ]
    for state, error, fragment in cases:
        with pytest.raises(error, match=fragment):
            model.set_training_state(state)
        after = model.training_state()
        assert repr(after["optimizer"]) == repr(before["optimizer"]) and after["metrics"] == before["metrics"]
        assert after["learning_rate"] == before["learning_rate"] and after["epoch"] == before["epoch"]
        assert after["rng_state"] == before["rng_state"]
        for key, value in before["optimizer_state"].items():
            assert np.array_equal(after["optimizer_state"][key], value)

    fresh = fm.Sequential([fm.Dense(8, activation="tanh"), fm.Dropout(0.3), fm.Dense(3)], input_dim=4)
    with pytest.raises(ValueError):
        fresh.set_training_state({**before, "rng_state": [0] * 8})
    assert not fresh.compiled
    with pytest.raises(RuntimeError, match="compile"):
        fresh.training_state()
    with pytest.raises(RuntimeError, match="no weights"):
        fm.Sequential([fm.Dense(3)]).set_training_state(before)


def test_schedules_read_the_base_rate_and_momentum_from_the_optimizer():
    assert fm.optim.Adam().has_momentum and fm.optim.AdamW().has_momentum
    assert fm.optim.SGD(momentum=0.9).has_momentum and not fm.optim.SGD().has_momentum
    assert not fm.optim.SGD(momentum=1e-50).has_momentum  # 0 in float32: the core keeps no buffer
    assert fm.optim.RMSprop(momentum=0.1).has_momentum and not fm.optim.RMSprop().has_momentum
    assert not fm.optim.Adagrad().has_momentum
    X, y = _data()
    model = fm.Sequential([fm.Dense(3)], input_dim=4)
    model.compile(loss="cross_entropy", optimizer=fm.optim.SGD(lr=0.1))
    with pytest.raises(ValueError, match="needs an optimizer with momentum"):
        model.fit(X, y, epochs=1, verbose=0, callbacks=[fm.schedules.OneCycleLR(0.1, total_steps=100)])
    schedule = fm.schedules.StepLR(1)
    model.fit(X, y, epochs=1, verbose=0, callbacks=[schedule])
    assert schedule.base_lr == model.optimizer.lr == 0.1


_PRIVATE_ACCESS = re.compile(r"\b(?:model_?|self\.model|est\.model_)\._[a-z]\w*")


@pytest.mark.parametrize("path", sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "model.py"))
def test_no_module_but_model_py_reads_a_sequentials_private_state(path):
    found = _PRIVATE_ACCESS.findall((PACKAGE / path).read_text())
    assert not found, f"{path} reaches into a Sequential: {found}"
