"""``learning_rate=`` (Keras's spelling) is ``lr=`` (PyTorch's, the primary one) in every optimizer:
the same configuration, repr, pickle, checkpoint and training step; both given is an error, and a
bad value is reported under the name the user wrote."""

from __future__ import annotations

import inspect
import json
import pickle

import numpy as np
import pytest

import fastmlp as fm

OPTIMIZERS = {
    "SGD": (fm.optim.SGD, dict(momentum=0.9), 1e-3),
    "Adam": (fm.optim.Adam, dict(weight_decay=0.01), 1e-3),
    "AdamW": (fm.optim.AdamW, dict(amsgrad=True), 1e-3),
    "RMSprop": (fm.optim.RMSprop, dict(momentum=0.5, centered=True), 1e-2),
    "Adagrad": (fm.optim.Adagrad, dict(lr_decay=0.01), 1e-2),
}
NAMES = sorted(OPTIMIZERS)
RATE = 0.037  # not any default


def _data(seed=0, n=24):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 5)).astype(np.float32), rng.integers(0, 3, n)


def _compiled(optimizer, seed=3):
    model = fm.Sequential([fm.Dense(8, activation="tanh"), fm.Dense(3)], input_dim=5, seed=seed)
    model.compile(loss="cross_entropy", optimizer=optimizer, metrics=["accuracy"])
    return model


@pytest.mark.parametrize("name", NAMES)
def test_learning_rate_is_lr_config_repr_and_one_step_bit_for_bit(name):
    cls, extra, default = OPTIMIZERS[name]
    keras, torch_style = cls(learning_rate=RATE, **extra), cls(lr=RATE, **extra)
    assert keras.lr == torch_style.lr == RATE != default
    assert keras.get_config() == torch_style.get_config() and "learning_rate" not in keras.get_config()
    assert repr(keras) == repr(torch_style) and repr(keras).startswith(f"{name}(lr={RATE!r}, ")
    X, y = _data()
    a, b = _compiled(keras), _compiled(torch_style)
    before = [p.copy() for p in a.parameters()]
    assert a.train_step(X, y) == b.train_step(X, y)
    assert any(not np.array_equal(p, q) for p, q in zip(a.parameters(), before))  # it trained
    for p, q in zip(a.parameters(), b.parameters()):
        assert p.tobytes() == q.tobytes()
    sa, sb = a.optimizer_state(), b.optimizer_state()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert np.array_equal(sa[key], sb[key]), key
    assert a.learning_rate == b.learning_rate == np.float32(RATE)


@pytest.mark.parametrize("name", NAMES)
def test_positional_and_default_rate_unchanged(name):
    cls, _, default = OPTIMIZERS[name]
    assert cls().lr == default and type(cls().lr) is float
    assert cls(RATE).lr == RATE
    assert cls(learning_rate=None).lr == default


@pytest.mark.parametrize("name", NAMES)
def test_signature_shows_both_spellings(name):
    cls, _, default = OPTIMIZERS[name]
    params = inspect.signature(cls).parameters
    assert list(params)[0] == "lr" and params["lr"].default == default
    assert params["learning_rate"].default is None
    assert params["learning_rate"].kind is inspect.Parameter.KEYWORD_ONLY
    assert "learning_rate" in inspect.getdoc(fm.optim)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("lr", ["default", "other"])
def test_both_spellings_is_an_error_naming_both(name, lr):
    cls, _, default = OPTIMIZERS[name]
    given = default if lr == "default" else 0.5  # even lr equal to the default counts as given
    with pytest.raises(TypeError, match=rf"^{name} got lr={given!r} and learning_rate=0.01: give lr or learning_rate, not both"):
        cls(lr=given, learning_rate=0.01)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "value, error, match",
    [(-0.5, ValueError, r"^learning_rate must be a finite number >= 0, got -0.5$"),
     (float("nan"), ValueError, r"^learning_rate must be a finite number"),
     (1e39, ValueError, r"^learning_rate must be a finite number \(within float32's range\)"),
     ("0.1", TypeError, r"^learning_rate must be a number, got '0.1'$"),
     (True, TypeError, r"^learning_rate must be a number, got True$")],
)
def test_invalid_learning_rate_is_named_as_given(name, value, error, match):
    cls = OPTIMIZERS[name][0]
    with pytest.raises(error, match=match):
        cls(learning_rate=value)
    with pytest.raises(error, match=match.replace("learning_rate", "lr")):
        cls(lr=value)


def test_a_schedule_as_learning_rate_points_to_compile():
    schedule = fm.schedules.ExponentialLR(0.9)
    with pytest.raises(TypeError, match=r"learning_rate must be a number, got the schedule ExponentialLR.*"
                                        r"compile\(\.\.\., lr_schedule=schedule\)"):
        fm.optim.Adam(learning_rate=schedule)
    with pytest.raises(TypeError, match=r"^lr must be a number, got the schedule"):
        fm.optim.SGD(lr=schedule)


def _file(data):
    """A safetensors file as (header as a dict, tensor bytes): the header's key order is not fixed."""
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + size])
    header["__metadata__"]["training"] = json.loads(header["__metadata__"]["training"])
    return header, data[8 + size:]


@pytest.mark.parametrize("name", NAMES)
def test_pickle_and_checkpoint_are_those_of_lr(name, tmp_path):
    cls, extra, _ = OPTIMIZERS[name]
    keras, torch_style = cls(learning_rate=RATE, **extra), cls(lr=RATE, **extra)
    assert pickle.dumps(keras) == pickle.dumps(torch_style)
    copy = pickle.loads(pickle.dumps(keras))
    assert type(copy) is cls and copy.get_config() == torch_style.get_config()
    X, y = _data(1)
    a, b = _compiled(keras), _compiled(torch_style)
    a.train_step(X, y)
    b.train_step(X, y)
    assert _file(fm.io.to_bytes(a)) == _file(fm.io.to_bytes(b))
    a.save(tmp_path / "a.safetensors")
    loaded = fm.load(tmp_path / "a.safetensors")
    assert loaded.optimizer.get_config() == torch_style.get_config() and repr(loaded.optimizer) == repr(torch_style)
    assert loaded.train_step(X, y) == b.train_step(X, y)
    for p, q in zip(loaded.parameters(), b.parameters()):
        assert p.tobytes() == q.tobytes()
