"""pandas input, as scikit-learn accepts it: nullable dtypes (Int64, Float64, boolean) without
missing values, numeric ``category`` columns and object columns of numbers train exactly as their
NumPy equivalents; a missing value, strings, string categories or dates fail naming the column and
its dtype (and, for labels, how to encode them). pandas is never imported by fastmlp itself."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import fastmlp as fm

pd = pytest.importorskip("pandas")

N = 24
rng = np.random.default_rng(0)
A = rng.integers(0, 5, N)
B = rng.standard_normal(N)
C = rng.integers(0, 2, N).astype(bool)
LABELS = rng.integers(0, 3, N)
X_NUMPY = np.column_stack([A, B, C]).astype(np.float32)


def _frame(**replace):
    columns = {
        "a": pd.array(A, dtype="Int64"),
        "b": pd.array(B, dtype="Float64"),
        "c": pd.array(C, dtype="boolean"),
    }
    columns.update(replace)
    return pd.DataFrame(columns)


def _model(units=3, loss="cross_entropy"):
    model = fm.Sequential([fm.Dense(6, activation="tanh"), fm.Dense(units)], input_dim=3, seed=0)
    model.compile(loss=loss, optimizer=fm.optim.SGD(lr=0.1))
    return model


def _fit_same(X, y, X_ref=X_NUMPY, y_ref=LABELS, units=3, loss="cross_entropy", **kwargs):
    """fit on (X, y) and on the NumPy reference: same losses, same weights, same predictions."""
    a, b = _model(units, loss), _model(units, loss)
    ha = a.fit(X, y, epochs=2, batch_size=8, verbose=0, **kwargs)
    hb = b.fit(X_ref, y_ref, epochs=2, batch_size=8, verbose=0)
    assert ha.history["loss"] == hb.history["loss"]
    for p, q in zip(a.parameters(), b.parameters()):
        assert np.array_equal(p, q)
    assert np.array_equal(a.predict(X), b.predict(X_ref))


def _error(X, y, units=3, loss="cross_entropy"):
    with pytest.raises(ValueError) as info:
        _model(units, loss).fit(X, y, epochs=1, verbose=0)
    return str(info.value)


# --------------------------------------------------------------------------- accepted
def test_nullable_feature_columns_and_nullable_labels_train_as_numpy():
    _fit_same(_frame(), pd.Series(LABELS, dtype="Int64"))


def test_a_plain_numpy_backed_frame_and_series_train_as_numpy():
    frame = pd.DataFrame({"a": A, "b": B, "c": C})
    _fit_same(frame, pd.Series(LABELS))


def test_integer_categories_are_their_values_as_labels_and_as_features():
    y = pd.Series(pd.Categorical(LABELS, categories=[2, 0, 1]))  # codes differ from the values
    _fit_same(_frame(a=pd.Categorical(A)), y)


def test_object_columns_are_named_even_of_numbers_as_numpy_object_arrays_are_refused():
    assert _error(_frame(b=pd.Series(B, dtype=object)), LABELS) == (
        f"X column 'b' has dtype object (e.g. {float(B[0])!r}), not numbers (float, integer or bool): convert it to "
        "numbers first, e.g. with pd.to_numeric or .astype(float)"
    )
    assert _error(_frame(b=pd.Series(["1.5"] * N, dtype=object)), LABELS) == (
        "X column 'b' has dtype object (e.g. '1.5'), not numbers (float, integer or bool): encode it as numbers "
        "first, e.g. with pd.get_dummies(X) or scikit-learn's OneHotEncoder"
    )
    assert _error(_frame(), pd.Series(LABELS, dtype=object)).startswith("y has dtype object (e.g. 0), not numbers")
    _fit_same(_frame(b=pd.Series(B, dtype=object).astype(float)), LABELS)  # the fix works


def test_unsigned_and_small_nullable_dtypes():
    _fit_same(_frame(a=pd.array(A, dtype="UInt8"), b=pd.array(B.astype(np.float32), dtype="Float32")),
              pd.Series(LABELS, dtype="Int8"))


def test_nullable_regression_targets_and_sample_weights():
    y = rng.standard_normal((N, 2))
    w = np.linspace(0.5, 2.0, N)
    a, b = _model(2, "mse"), _model(2, "mse")
    ha = a.fit(_frame(), pd.DataFrame({"u": pd.array(y[:, 0], dtype="Float64"), "v": y[:, 1]}), epochs=2,
               batch_size=8, verbose=0, sample_weight=pd.Series(w, dtype="Float64"))
    hb = b.fit(X_NUMPY, y, epochs=2, batch_size=8, verbose=0, sample_weight=w)
    assert ha.history["loss"] == hb.history["loss"]


def test_a_one_column_frame_of_labels_is_a_column_of_labels():
    _fit_same(_frame(), pd.DataFrame({"label": pd.array(LABELS, dtype="Int64")}))


def test_validation_data_evaluate_and_predict_take_frames():
    model = _model()
    X, y = _frame(), pd.Series(LABELS, dtype="Int64")
    history = model.fit(X, y, validation_data=(X, y), epochs=1, verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(model.evaluate(X_NUMPY, LABELS)["loss"], rel=1e-6)
    assert np.array_equal(model.predict(X), model.predict(X_NUMPY))


# --------------------------------------------------------------------------- refused, naming the column
def test_missing_values_in_a_nullable_feature_column_name_the_column_and_the_count():
    b = pd.array(B, dtype="Float64")
    b[[1, 5, 9]] = pd.NA
    assert _error(_frame(b=b), LABELS) == (
        "X column 'b' (dtype Float64) holds 3 missing values (NaN or pd.NA): fastmlp needs a number in every cell; "
        "fill them (fillna) or drop those rows (dropna) first"
    )


def test_a_missing_label_names_the_series():
    y = pd.Series(LABELS, dtype="Int64", name="target")
    y[4] = pd.NA
    assert _error(_frame(), y) == (
        "y (Series 'target') (dtype Int64) holds 1 missing value (NaN or pd.NA): fastmlp needs a number in every "
        "cell; fill them (fillna) or drop those rows (dropna) first"
    )


def test_nan_in_a_numpy_float_column_of_a_frame_names_the_column():
    b = B.copy()
    b[[0, 3]] = np.nan
    assert _error(pd.DataFrame({"a": pd.array(A, dtype="Int64"), "b": b, "c": C}), LABELS) == (
        "X contains NaN or infinite values, or values too large for float32, in column 'b' (2 values)"
    )
    assert _error(pd.DataFrame({"a": A, "b": b, "c": C}), LABELS).endswith("in column 'b' (2 values)")


def test_a_string_feature_column_is_named_with_its_dtype_and_an_example():
    X = _frame(city=np.where(C, "Paris", "Rome")).drop(columns="c")
    message = _error(X, LABELS)
    dtype = X["city"].dtype  # "str" in pandas 3, object before
    assert message == (
        f"X column 'city' has dtype {dtype} (e.g. {X['city'][0]!r}), not numbers (float, integer or bool): encode it "
        "as numbers first, e.g. with pd.get_dummies(X) or scikit-learn's OneHotEncoder"
    )


def test_string_categories_as_features_point_to_the_codes():
    X = _frame(c=pd.Categorical(np.where(C, "yes", "no")))
    message = _error(X, LABELS)
    assert message.startswith("X column 'c' has dtype category with categories of dtype "), message
    assert message.endswith(", not numbers: encode it as numbers first, e.g. with pd.get_dummies(X) or scikit-learn's "
                            "OneHotEncoder, or take a category column's codes, X[column].cat.codes"), message


def test_string_category_labels_say_to_use_the_codes_or_mlp_classifier():
    y = pd.Series(pd.Categorical(np.array(["cat", "dog", "emu"])[LABELS]), name="animal")
    message = _error(_frame(), y)
    assert message.startswith("y (Series 'animal') has dtype category with categories of dtype "), message
    assert message.endswith(
        ", not numbers: fm.Sequential needs integer class labels 0 to k-1, so encode them, e.g. y.cat.codes (the "
        "classes are y.cat.categories), or use fastmlp.sklearn.MLPClassifier, which keeps the classes in classes_"
    ), message
    # ... and the codes train
    _fit_same(_frame(), y.cat.codes, y_ref=y.cat.codes.to_numpy())


def test_string_labels_say_pd_factorize():
    y = pd.Series(np.array(["cat", "dog", "emu"])[LABELS])
    message = _error(_frame(), y)
    assert message.endswith(
        "not numbers (float, integer or bool): fm.Sequential needs integer class labels 0 to k-1, so encode them, "
        "e.g. codes, classes = pd.factorize(y), or use fastmlp.sklearn.MLPClassifier, which keeps the classes in "
        "classes_"), message
    assert message.startswith(f"y has dtype {y.dtype} (e.g. 'emu')") or message.startswith(f"y has dtype {y.dtype}")


def test_string_targets_for_a_regression_loss_get_no_label_advice():
    message = _error(_frame(), pd.Series(["1.5"] * N, dtype="string"), units=1, loss="mse")
    assert message == "y has dtype string (e.g. '1.5'), not numbers (float, integer or bool)"


def test_a_date_column_is_named_and_needs_converting():
    X = _frame(c=pd.to_datetime(["2024-01-01"] * N))
    message = _error(X, LABELS)
    assert message.startswith("X column 'c' has dtype datetime64[")
    assert message.endswith("not numbers (float, integer or bool): convert it to numbers first"), message


def test_messages_name_validation_data():
    model = _model()
    X = _frame()
    bad = _frame(a=pd.array([None] * N, dtype="Int64"))
    with pytest.raises(ValueError, match=r"^validation_data\[0\] column 'a' \(dtype Int64\) holds 24 missing values"):
        model.fit(X, LABELS, validation_data=(bad, LABELS), epochs=1, verbose=0)


# --------------------------------------------------------------------------- scikit-learn wrappers and imports
def test_the_sklearn_wrappers_take_nullable_frames_and_string_categories():
    from fastmlp.sklearn import MLPClassifier, MLPRegressor

    y = pd.Series(pd.Categorical(np.array(["cat", "dog", "emu"])[LABELS]))
    clf = MLPClassifier(hidden_layer_sizes=(6,), max_iter=3, random_state=0)
    with pytest.warns(Warning):  # ConvergenceWarning after 3 iterations
        clf.fit(_frame(), y)
    assert list(clf.classes_) == ["cat", "dog", "emu"]
    assert set(clf.predict(_frame())) <= {"cat", "dog", "emu"}
    reg = MLPRegressor(hidden_layer_sizes=(6,), max_iter=3, random_state=0)
    with pytest.warns(Warning):
        reg.fit(_frame(), pd.Series(B, dtype="Float64"))
    assert reg.predict(_frame()).shape == (N,)


def test_importing_fastmlp_does_not_import_pandas():
    code = "import sys, fastmlp, fastmlp.io, fastmlp.losses; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
