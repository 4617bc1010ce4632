"""Checkpoints carry compile's lr_schedule (class, configuration, progress): 3 epochs + save + load
+ 3 epochs equal 6 epochs bit for bit; files without a schedule load as before; a malformed
schedule entry is refused with a message naming the field."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

import fastmlp as fm

EPOCHS, BATCH = 6, 16
STEPS_PER_EPOCH = 6  # 96 rows in batches of 16

SCHEDULES = {
    "StepLR": lambda: fm.schedules.StepLR(step_size=2, gamma=0.5),
    "MultiStepLR": lambda: fm.schedules.MultiStepLR([1, 4, 4], gamma=0.3),
    "ExponentialLR": lambda: fm.schedules.ExponentialLR(gamma=0.7),
    "CosineAnnealingLR_warmup": lambda: fm.schedules.CosineAnnealingLR(T_max=5, eta_min=1e-4, warmup_epochs=2),
    "OneCycleLR": lambda: fm.schedules.OneCycleLR(max_lr=0.05, total_steps=EPOCHS * STEPS_PER_EPOCH),
    # a threshold no epoch after the first meets: reductions after epochs 3 and 6 (patience 1,
    # cooldown 1), so at the save after epoch 3 the lr is reduced and the cooldown under way
    "ReduceLROnPlateau": lambda: fm.schedules.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1,
                                                                 threshold=0.9, cooldown=1),
}


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((96, 5)).astype(np.float32)
    return X, rng.integers(0, 3, 96), X[:24] * 0.5, rng.integers(0, 3, 24)


def _model(schedule):
    model = fm.Sequential([fm.Dense(12, activation="tanh"), fm.Dropout(0.2), fm.Dense(3)], input_dim=5, seed=2)
    model.compile(loss="cross_entropy", optimizer=fm.optim.SGD(lr=0.05, momentum=0.9), metrics=["accuracy"],
                  lr_schedule=schedule)
    return model


def _fit(model, epochs, initial_epoch=0):
    X, y, Xv, yv = _data()
    return model.fit(X, y, epochs=epochs, batch_size=BATCH, validation_data=(Xv, yv), verbose=0,
                     initial_epoch=initial_epoch)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_resuming_from_a_checkpoint_continues_the_schedule_bit_for_bit(tmp_path, name):
    straight = _model(SCHEDULES[name]())
    history = _fit(straight, EPOCHS)

    first = _model(SCHEDULES[name]())
    _fit(first, EPOCHS // 2)
    first.save(tmp_path / "half.safetensors")
    resumed = fm.load(tmp_path / "half.safetensors")
    assert resumed.epoch == EPOCHS // 2
    restored = resumed.training_state()["lr_schedule"]
    assert type(restored).__name__ == type(straight.training_state()["lr_schedule"]).__name__
    assert restored.state_dict() == first.training_state()["lr_schedule"].state_dict()
    assert restored.get_config() == SCHEDULES[name]().get_config()
    rest = _fit(resumed, EPOCHS, initial_epoch=resumed.epoch)

    for a, b in zip(straight.parameters(), resumed.parameters(), strict=True):
        assert a.tobytes() == b.tobytes()
    assert resumed.learning_rate == straight.learning_rate
    assert rest.history["loss"] == history.history["loss"][EPOCHS // 2:]
    assert (resumed.training_state()["lr_schedule"].state_dict()
            == straight.training_state()["lr_schedule"].state_dict())


def test_the_plateau_schedule_really_reduces_and_is_mid_cooldown_at_the_save(tmp_path):
    model = _model(SCHEDULES["ReduceLROnPlateau"]())
    _fit(model, EPOCHS // 2)
    state = model.training_state()["lr_schedule"].state_dict()
    assert state["lr"] == pytest.approx(0.05 * 0.5) and state["cooldown_counter"] == 1
    assert model.learning_rate == pytest.approx(state["lr"])
    _fit(model, EPOCHS, initial_epoch=EPOCHS // 2)
    assert model.learning_rate == pytest.approx(0.05 * 0.5**2)


def test_a_model_without_schedule_writes_no_schedule_key_and_old_files_load(tmp_path):
    plain = _model(None)
    _fit(plain, 1)
    plain.save(tmp_path / "plain.safetensors")
    with safe_open(str(tmp_path / "plain.safetensors"), framework="numpy") as f:
        assert "lr_schedule" not in json.loads(f.metadata()["training"])
    assert fm.load(tmp_path / "plain.safetensors").training_state()["lr_schedule"] is None

    # a file written before schedules were saved: the same training state without the key
    path = _rewrite(tmp_path, lambda t: t.pop("lr_schedule"))
    loaded = fm.load(path)
    assert loaded.compiled and loaded.training_state()["lr_schedule"] is None


def _rewrite(tmp_path, edit):
    model = _model(fm.schedules.ReduceLROnPlateau(monitor="loss"))
    _fit(model, 1)
    path = tmp_path / "m.safetensors"
    model.save(path)
    with safe_open(str(path), framework="numpy") as f:
        metadata = dict(f.metadata())
    training = json.loads(metadata["training"])
    edit(training)
    metadata["training"] = json.dumps(training)
    metadata.pop("weights_crc32")
    save_file(load_file(str(path)), str(path), metadata=metadata)
    return path


def _schedule(edit):
    return lambda t: edit(t["lr_schedule"])


def _set(where, key, value):
    return _schedule(lambda s: (s[where] if where else s).__setitem__(key, value))


def _pop(where, key):
    return _schedule(lambda s: (s[where] if where else s).pop(key))


HOSTILE_SCHEDULES = [
    ("not_an_object", lambda t: t.__setitem__("lr_schedule", [1, 2]), "training.lr_schedule must be a JSON object"),
    ("unknown_type", _set(None, "type", "CyclicLR"),
     "training.lr_schedule.type must be 'CosineAnnealingLR', 'ExponentialLR', 'MultiStepLR', 'OneCycleLR', 'ReduceLROnPlateau' or 'StepLR', got 'CyclicLR'"),
    ("base_class", _set(None, "type", "LRSchedule"),
     "training.lr_schedule.type must be 'CosineAnnealingLR', 'ExponentialLR', 'MultiStepLR', 'OneCycleLR', 'ReduceLROnPlateau' or 'StepLR', got 'LRSchedule'"),
    ("missing_state", _pop(None, "state"), "training.lr_schedule lacks 'state'"),
    ("extra_key", _set(None, "extra", 1), "unknown keys ['extra']"),
    ("config_not_object", _set(None, "config", "x"), "training.lr_schedule.config must be a JSON object"),
    ("config_unknown_arg", _set("config", "foo", 1), "foo"),
    ("config_bad_value", _set("config", "factor", 1.5), "factor must be in [0, 1)"),
    ("config_bad_mode", _set("config", "mode", "up"), "mode must be"),
    ("state_missing_key", _pop("state", "best"), "lacks 'best'"),
    ("state_unknown_key", _set("state", "step", 3), "unknown keys ['step']"),
    ("last_step_negative", _set("state", "last_step", -1), "last_step"),
    ("last_step_bool", _set("state", "last_step", True), "last_step"),
    ("last_step_float", _set("state", "last_step", 2.0), "last_step"),
    ("last_step_2**62", _set("state", "last_step", 2**62), "last_step"),
    ("base_lr_string", _set("state", "base_lr", "0.1"), "base_lr"),
    ("base_lr_negative", _set("state", "base_lr", -0.1), "base_lr"),
    ("lr_huge", _set("state", "lr", 1e300), "lr must be a finite number"),
    ("best_nan_string", _set("state", "best", "nan"), "best"),
    ("best_list", _set("state", "best", [1.0]), "best"),
    ("num_bad_epochs_negative", _set("state", "num_bad_epochs", -2), "num_bad_epochs"),
    ("cooldown_counter_float", _set("state", "cooldown_counter", 0.5), "cooldown_counter"),
]


@pytest.mark.parametrize("case, edit, fragment", HOSTILE_SCHEDULES, ids=[c[0] for c in HOSTILE_SCHEDULES])
def test_a_malformed_schedule_is_refused_naming_the_field(tmp_path, case, edit, fragment):
    path = _rewrite(tmp_path, edit)
    with pytest.raises(ValueError, match="cannot load a fastmlp model") as info:
        fm.load(path)
    assert fragment in str(info.value)


def test_an_infinite_best_round_trips(tmp_path):
    # before any improvement ReduceLROnPlateau's best is PyTorch's "worst": +inf in min mode
    path = _rewrite(tmp_path, _set("state", "best", "inf"))
    schedule = fm.load(path).training_state()["lr_schedule"]
    assert schedule.best == float("inf")
    loaded = fm.load(path)
    loaded.save(tmp_path / "again.safetensors")
    with safe_open(str(tmp_path / "again.safetensors"), framework="numpy") as f:
        assert json.loads(f.metadata()["training"])["lr_schedule"]["state"]["best"] == "inf"


class _Halving(fm.schedules.LRSchedule):
    def get_lr(self, step):
        return self._require_base_lr() * 0.5**step


def test_a_schedule_class_outside_fm_schedules_cannot_be_saved(tmp_path):
    model = _model(_Halving())
    _fit(model, 1)
    with pytest.raises(ValueError, match="_Halving cannot be saved"):
        model.save(tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists()
    model.save(tmp_path / "w.safetensors", include_optimizer=False)
    assert not fm.load(tmp_path / "w.safetensors").compiled
