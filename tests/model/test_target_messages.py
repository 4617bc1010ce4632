"""Targets that do not fit the model or the loss: each message names what was given, what was
expected and the fix, as a user coming from Keras, PyTorch or scikit-learn needs it.

Decisions pinned here (per loss):
- cross_entropy takes integer labels (n,) or a column of them (n, 1) (squeezed, as Keras's
  sparse_categorical_crossentropy and scikit-learn's column_or_1d take it; PyTorch refuses a
  (n, 1) target), or probability rows (n, outputs). A model with one output is refused by
  compile (PyTorch and Keras accept it, and it learns nothing: the loss is 0 whatever the weights),
  with the binary_cross_entropy / Dense(2) advice.
- the regression losses and binary_cross_entropy take (n, outputs); (n,) only for one output.
"""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm

N = 20
rng = np.random.default_rng(0)
X = rng.standard_normal((N, 4)).astype(np.float32)


def _model(units, loss):
    model = fm.Sequential([fm.Dense(8, activation="relu"), fm.Dense(units)], input_dim=4, seed=0)
    model.compile(loss=loss, optimizer="sgd")
    return model


def _message(units, loss, y, call="fit"):
    model = _model(units, loss)
    with pytest.raises(ValueError) as info:
        if call == "fit":
            model.fit(X, y, epochs=1, verbose=0)
        elif call == "evaluate":
            model.evaluate(X, y)
        else:
            model.train_step(X, y)
    return str(info.value)


# --------------------------------------------------------------------------- Dense(1) + cross_entropy
ONE_OUTPUT = (
    "loss='cross_entropy' needs one output per class, but the last Dense has 1 unit: over one output the loss is 0 "
    "whatever the weights and the model learns nothing. For two classes use loss='binary_cross_entropy' with "
    "fm.Dense(1) (labels 0/1), or fm.Dense(2) with cross_entropy"
)


@pytest.mark.parametrize("loss", ["cross_entropy", "sparse_categorical_crossentropy", fm.losses.CrossEntropy(0.1)])
def test_one_output_with_cross_entropy_is_refused_by_compile_naming_both_fixes(loss):
    model = fm.Sequential([fm.Dense(8, activation="relu"), fm.Dense(1)], input_dim=4, seed=0)
    with pytest.raises(ValueError) as info:
        model.compile(loss=loss, optimizer="sgd")
    assert str(info.value) == ONE_OUTPUT
    assert not model.compiled


def test_one_output_added_after_compile_is_refused_when_the_model_builds():
    model = fm.Sequential()
    model.add(fm.Dense(8, activation="relu"))
    model.compile(loss="cross_entropy", optimizer="sgd")  # unbuilt: layers may still be added
    model.add(fm.Dense(1))
    with pytest.raises(ValueError) as info:
        model.fit(X, np.zeros(N, np.int64), verbose=0)
    assert str(info.value) == ONE_OUTPUT
    assert not model.built


@pytest.mark.parametrize("fix", ["binary_cross_entropy", "dense2"])
def test_both_fixes_the_message_names_train(fix):
    y = (X[:, 0] > 0).astype(np.int64)
    model = _model(1, "binary_cross_entropy") if fix == "binary_cross_entropy" else _model(2, "cross_entropy")
    model.compile(loss=model.loss, optimizer=fm.optim.Adam(lr=0.05), metrics=["accuracy"])
    history = model.fit(X, y, epochs=50, batch_size=5, verbose=0)
    assert history.history["accuracy"][-1] > 0.8


# --------------------------------------------------------------------------- labels out of range
def test_one_based_labels_say_so_and_give_the_fix():
    y = np.arange(N) % 10 + 1  # 1..10 for Dense(10)
    assert _message(10, "cross_entropy", y) == (
        "y labels must be in [0, 10) for a model with 10 outputs, got values in [1, 10]: 2 labels are >= 10 (e.g. 10 "
        "in row 9). The labels look 1-based (1 to 10): class labels count from 0, so give y - 1 (or make the last "
        "Dense layer Dense(11))."
    )


def test_labels_beyond_the_outputs_give_the_units_the_last_layer_needs():
    y = np.arange(N) % 5  # 5 classes for Dense(3)
    assert _message(3, "cross_entropy", y) == (
        "y labels must be in [0, 3) for a model with 3 outputs, got values in [0, 4]: 8 labels are >= 3 (e.g. 3 in "
        "row 3). The last Dense layer needs one unit per class, max(label) + 1 = 5 units (Dense(5)); or, for 3 "
        "classes, labels from 0 to 2."
    )


def test_one_label_out_of_range_is_counted_in_the_singular():
    y = np.arange(N) % 3
    y[7] = 3
    message = _message(3, "cross_entropy", y, "train_step")
    assert "got values in [0, 3]: 1 label is >= 3 (e.g. 3 in row 7)" in message, message


def test_negative_labels_are_counted_and_ignore_index_is_named():
    y = np.where(np.arange(N) % 4 == 0, -1, 1)
    assert _message(3, "cross_entropy", y) == (
        "y labels must be in [0, 3) for a model with 3 outputs, got values in [-1, 1]: 5 labels are negative (e.g. -1 "
        "in row 0). Class labels count from 0; there is no ignore_index: drop the rows with negative labels."
    )


def test_garbage_labels_get_no_units_advice():
    y = np.arange(N, dtype=np.float64) % 3
    y[2] = 1e30
    message = _message(3, "cross_entropy", y)
    assert "1 label is >= 3 (e.g. 1000000000000000019884624838656 in row 2)." in message, message
    assert "Dense(" not in message


def test_validation_labels_are_named_as_validation_data():
    model = _model(3, "cross_entropy")
    with pytest.raises(ValueError, match=r"^validation_data\[1\] labels must be in \[0, 3\)"):
        model.fit(X, np.arange(N) % 3, validation_data=(X, np.arange(N) % 4), epochs=1, verbose=0)


# --------------------------------------------------------------------------- one-hot y where labels are expected
def test_one_hot_of_another_width_says_it_looks_one_hot():
    y = np.eye(4)[np.arange(N) % 4]
    assert _message(3, "cross_entropy", y) == (
        "y must be integer class labels of shape (20,) or probability rows of shape (20, 3) for cross_entropy, got "
        "shape (20, 4): it looks one-hot (4 classes) but the model has 3 outputs. Give the class labels, "
        "y.argmax(axis=1), or make the last Dense layer Dense(4), one unit per class"
    )


def test_one_hot_of_the_output_width_is_taken_as_probabilities_and_equals_the_labels():
    labels = np.arange(N) % 3
    a, b = _model(3, "cross_entropy"), _model(3, "cross_entropy")
    assert a.evaluate(X, labels)["loss"] == pytest.approx(b.evaluate(X, np.eye(3)[labels])["loss"], rel=1e-6)


def test_a_2d_y_that_is_not_one_hot_gets_no_one_hot_advice():
    message = _message(3, "cross_entropy", np.ones((N, 2)))
    assert message.endswith("got shape (20, 2)"), message


def test_one_hot_for_binary_cross_entropy_with_one_output_says_argmax():
    y = np.eye(2)[np.arange(N) % 2]
    assert _message(1, "binary_cross_entropy", y) == (
        "y must have shape (20, 1) to match the model's outputs, got (20, 2): it looks one-hot (2 classes); with one "
        "output give the 0/1 labels, y.argmax(axis=1)"
    )


def test_one_hot_for_a_regression_loss_of_another_width():
    y = np.eye(5)[np.arange(N) % 5]
    assert _message(3, "mse", y) == (
        "y must have shape (20, 3) to match the model's outputs, got (20, 5): it looks one-hot (5 classes) but the "
        "model has 3 outputs (the last Dense layer's units); make the last Dense layer Dense(5), or, for class "
        "labels, use loss='cross_entropy' with y.argmax(axis=1)"
    )


# --------------------------------------------------------------------------- (n, 1) versus (n,)
def test_cross_entropy_takes_a_column_of_labels_as_the_labels():
    labels = np.arange(N) % 3
    a, b = _model(3, "cross_entropy"), _model(3, "cross_entropy")
    ha = a.fit(X, labels, epochs=2, batch_size=5, verbose=0)
    hb = b.fit(X, labels[:, None], epochs=2, batch_size=5, verbose=0)
    assert ha.history["loss"] == hb.history["loss"]
    for p, q in zip(a.parameters(), b.parameters()):
        assert np.array_equal(p, q)


@pytest.mark.parametrize("loss", ["mse", "mae", "huber", "binary_cross_entropy"])
def test_one_output_takes_n_and_n_by_1_alike(loss):
    y = (np.arange(N) % 2).astype(np.float32)
    a, b = _model(1, loss), _model(1, loss)
    assert a.evaluate(X, y)["loss"] == b.evaluate(X, y[:, None])["loss"]


def test_a_1d_y_for_several_regression_outputs_names_the_expected_shape():
    assert _message(3, "mse", np.ones(N)) == (
        "y must have shape (20, 3) to match the model's outputs, got (20,): a 1-D y holds one target per sample, "
        "but the model has 3 outputs (the last Dense layer's units): give one column per output, or use Dense(1) "
        "for one target"
    )


def test_a_y_with_other_columns_names_both_counts():
    assert _message(3, "huber", np.ones((N, 2))) == (
        "y must have shape (20, 3) to match the model's outputs, got (20, 2): y has 2 columns but the model has 3 "
        "outputs (the last Dense layer's units)"
    )


def test_labels_for_binary_cross_entropy_with_two_outputs_name_both_fixes():
    assert _message(2, "binary_cross_entropy", np.arange(N) % 2) == (
        "y must have shape (20, 2) to match the model's outputs, got (20,): a 1-D y holds one target per sample, but "
        "the model has 2 outputs (the last Dense layer's units). For one 0/1 target per sample use Dense(1); for "
        "integer class labels use loss='cross_entropy' with Dense(2) (one unit per class)"
    )


# --------------------------------------------------------------------------- non-integer and string labels
def test_fractional_labels_in_0_1_point_to_probability_rows_or_binary_cross_entropy():
    y = np.linspace(0, 1, N)
    assert _message(3, "cross_entropy", y) == (
        "y must hold integer class labels for cross_entropy, got non-integer floats (0.05263157894736842 in row 1). "
        "For probability targets give rows of shape (20, 3) summing to 1; for one probability per sample use "
        "loss='binary_cross_entropy' with Dense(1)"
    )


def test_fractional_labels_beyond_1_get_no_probability_advice():
    y = np.arange(N) % 3 + 0.5
    assert _message(3, "cross_entropy", y) == (
        "y must hold integer class labels for cross_entropy, got non-integer floats (0.5 in row 0)"
    )


def test_string_labels_say_how_to_encode_them():
    y = np.array(["cat", "dog"] * (N // 2))
    assert _message(3, "cross_entropy", y) == (
        "y must hold real numbers (float or integer dtype), got dtype <U3 (e.g. 'cat'): fm.Sequential needs integer "
        "class labels 0 to k-1, so encode them, e.g. classes, codes = np.unique(y, return_inverse=True), or use "
        "fastmlp.sklearn.MLPClassifier, which keeps the classes in classes_"
    )


def test_string_regression_targets_get_no_label_advice():
    message = _message(1, "mse", np.array(["1.5"] * N))
    assert message == "y must hold real numbers (float or integer dtype), got dtype <U3 (e.g. '1.5')"


def test_the_fix_the_one_output_message_names_compiles_after_add():
    """compile checks the loss it is given, not the one it replaces."""
    model = fm.Sequential()
    model.add(fm.Dense(4, activation="relu"))
    model.compile(loss="cross_entropy", optimizer="sgd")
    model.add(fm.Dense(1))
    model.compile(loss="binary_cross_entropy", optimizer="sgd")
    model.fit(X, (X[:, 0] > 0).astype(np.float32), epochs=1, verbose=0)
    assert model.built and model.loss.name == "binary_cross_entropy"
