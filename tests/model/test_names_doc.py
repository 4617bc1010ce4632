"""Keras and PyTorch loss and metric names (issue 15): docs/names.md lists every alias with what it
maps to, and cannot go stale (its tables are compared with the code's alias tables); each alias
compiles to its fastmlp name; Keras's softmax + "sparse_categorical_crossentropy" habit trains the
right loss on probabilities."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import _compiled_metrics, losses, metrics

NAMES_DOC = Path(__file__).resolve().parents[2] / "docs" / "names.md"  # tests/model/ -> the repository root
ROW = re.compile(r"^\| `([^`]+)` \| `([^`]+)` \|(.*)$")


def _table(section):
    """{you write: fastmlp name} and {you write: the rest of the row's cells} of the table under
    the heading `## section` of docs/names.md."""
    text = NAMES_DOC.read_text(encoding="utf-8")
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    mapping, rest = {}, {}
    for line in body.splitlines():
        match = ROW.match(line)
        if match:
            assert match.group(1) not in mapping, f"{match.group(1)} listed twice"
            mapping[match.group(1)] = match.group(2)
            rest[match.group(1)] = [cell.strip() for cell in match.group(3).split("|")[:-1]]
    return mapping, rest


def test_the_loss_table_is_the_code_s():
    mapping, _ = _table("Losses")
    assert mapping == {**{name: name for name in losses.NAMES}, **losses._ALIASES}


def test_the_metric_table_is_the_code_s_with_the_loss_each_alias_needs():
    mapping, rest = _table("Metrics")
    assert mapping == {**{name: name for name in metrics.NAMES}, **_compiled_metrics._ALIASES}
    only_with = {name: cells[0].strip("`") for name, cells in rest.items() if cells[0]}
    assert only_with == _compiled_metrics._ALIAS_LOSS


def test_aliases_are_lower_case_and_map_to_fastmlp_names():
    for table, names in ((losses._ALIASES, losses.NAMES), (_compiled_metrics._ALIASES, metrics.NAMES)):
        for alias, target in table.items():
            assert alias == alias.lower() and alias not in names and target in names


# ------------------------------------------------------------------------------ the aliases work
def _data(seed=0, n=64, classes=4):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5)).astype(np.float32)
    y = (X[:, :classes] @ rng.standard_normal((classes, classes))).argmax(axis=1)
    return X, y


@pytest.mark.parametrize("alias", sorted(losses._ALIASES))
def test_every_loss_alias_compiles_to_its_fastmlp_loss(alias):
    model = fm.Sequential([fm.Dense(3)], input_dim=5, seed=0)
    for spelling in (alias, alias.upper()):
        model.compile(loss=spelling, optimizer="sgd")
        assert model.loss.name == losses._ALIASES[alias]


LOSS_FOR = {True: ("cross_entropy", lambda X, y: y), False: ("mse", lambda X, y: X[:, :3])}


@pytest.mark.parametrize("alias", sorted(_compiled_metrics._ALIASES))
def test_every_metric_alias_logs_under_its_fastmlp_name(alias):
    target = _compiled_metrics._ALIASES[alias]
    classification = target not in ("mse", "mae", "r2")
    loss = _compiled_metrics._ALIAS_LOSS.get(alias, LOSS_FOR[classification][0])
    X, y = _data()
    targets = (y[:, None] == 0).astype(np.float32) if loss == "binary_cross_entropy" else LOSS_FOR[classification][1](X, y)
    model = fm.Sequential([fm.Dense(1 if loss == "binary_cross_entropy" else 4 if classification else 3)], input_dim=5)
    model.compile(loss=loss, optimizer="sgd", metrics=[alias])
    assert list(model.evaluate(X, targets)) == ["loss", target]
    history = model.fit(X, targets, epochs=1, validation_split=0.25, verbose=0)
    assert list(history.history) == ["loss", target, "val_loss", f"val_{target}"]


@pytest.mark.parametrize("alias,loss", [("sparse_categorical_accuracy", "binary_cross_entropy"),
                                        ("categorical_accuracy", "bce"),
                                        ("binary_accuracy", "sparse_categorical_crossentropy")])
def test_a_keras_accuracy_for_another_loss_is_refused(alias, loss):
    model = fm.Sequential([fm.Dense(2)], input_dim=5)
    with pytest.raises(ValueError) as info:
        model.compile(loss=loss, metrics=[alias])
    assert str(info.value).startswith(f"metric '{alias}' is Keras's accuracy for the loss "
                                      f"'{_compiled_metrics._ALIAS_LOSS[alias]}', but the loss is ")
    assert "use metrics=['accuracy']" in str(info.value)


def test_the_keras_accuracies_equal_keras_s_definitions():
    X, y = _data(1)
    model = fm.Sequential([fm.Dense(4)], input_dim=5, seed=3)
    model.compile(loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])
    logits = model.predict(X)
    assert model.evaluate(X, y)["accuracy"] == np.mean(logits.argmax(axis=1) == y)
    onehot = np.eye(4, dtype=np.float32)[y]
    model.compile(loss="categorical_crossentropy", metrics=["categorical_accuracy"])
    assert model.evaluate(X, onehot)["accuracy"] == np.mean(logits.argmax(axis=1) == onehot.argmax(axis=1))

    targets = (X[:, :2] > 0.3).astype(np.float32)
    binary = fm.Sequential([fm.Dense(2)], input_dim=5, seed=3)
    binary.compile(loss="binary_crossentropy", metrics=["binary_accuracy"])
    probabilities = 1.0 / (1.0 + np.exp(-binary.predict(X).astype(np.float64)))
    assert binary.evaluate(X, targets)["accuracy"] == np.mean((probabilities > 0.5) == targets)  # Keras's rule


def test_an_unknown_name_suggests_the_close_alias():
    model = fm.Sequential([fm.Dense(3)], input_dim=5)
    with pytest.raises(ValueError, match="Did you mean 'sparse_categorical_crossentropy'"):
        model.compile(loss="sparse_categorical_crossentropy_")
    with pytest.raises(ValueError, match="Did you mean 'categorical_accuracy'"):
        model.compile(loss="cross_entropy", metrics=["categorical_acuracy"])


# ------------------------------------------------------------------------------ logits and softmax
def _softmax_cross_entropy(probabilities, y):
    p = probabilities.astype(np.float64)
    return float(-np.mean(np.log(p[np.arange(len(y)), y])))


def test_keras_softmax_with_sparse_categorical_crossentropy_trains_the_right_loss():
    """The Keras habit (softmax output + a crossentropy that Keras feeds probabilities) and the
    PyTorch habit (linear output + cross_entropy on logits) train the same weights; the reported
    loss is the cross-entropy of the softmax probabilities, not of a second softmax over them."""
    X, y = _data(2, n=96)
    keras = fm.Sequential([fm.Dense(8, activation="tanh"), fm.Dense(4, activation="softmax")], input_dim=5, seed=4)
    keras.compile(loss="sparse_categorical_crossentropy", optimizer=fm.optim.Adam(lr=0.01), metrics=["acc"])
    torch_like = fm.Sequential([fm.Dense(8, activation="tanh"), fm.Dense(4)], input_dim=5, seed=4)
    torch_like.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=0.01), metrics=["accuracy"])
    h_keras = keras.fit(X, y, epochs=3, batch_size=16, verbose=0)
    h_torch = torch_like.fit(X, y, epochs=3, batch_size=16, verbose=0)
    assert h_keras.history == h_torch.history
    for a, b in zip(keras.parameters(), torch_like.parameters(), strict=True):
        assert np.array_equal(a, b)

    probabilities = keras.predict(X)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    logits = torch_like.predict(X).astype(np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(probabilities, np.exp(log_softmax), rtol=1e-5, atol=1e-7)

    reported = keras.evaluate(X, y)["loss"]
    # the float64 cross-entropy of the float32 probabilities predict returns (rounded once) ...
    np.testing.assert_allclose(reported, _softmax_cross_entropy(probabilities, y), rtol=1e-6)
    # ... and of the exact softmax of the logits; far from the cross-entropy of a second softmax
    np.testing.assert_allclose(reported, float(-np.mean(log_softmax[np.arange(len(y)), y])), rtol=1e-6)
    twice = np.exp(probabilities) / np.exp(probabilities).sum(axis=1, keepdims=True)
    assert abs(reported - _softmax_cross_entropy(twice, y)) > 0.1

    onehot = np.eye(4, dtype=np.float32)[y]
    keras.compile(loss="categorical_crossentropy", metrics=["categorical_accuracy"])
    assert keras.evaluate(X, onehot) == keras.evaluate(X, y) == torch_like.evaluate(X, y)
