"""A sample's prediction does not depend on the batch it comes in: predict on one row, on a slice
or on the whole set gives bitwise the same outputs (scikit-learn's estimator checks rely on it, and
users expect it). The GEMM must therefore never choose a different summation for a different
number of rows."""

import numpy as np
import pytest

import fastmlp as fm

ARCHS = {
    "one_output": ([fm.Dense(17, "relu"), fm.Dense(1)], 33),
    "wide": ([fm.Dense(64, "tanh"), fm.Dense(10)], 70),
    "norm": ([fm.Dense(40, "gelu"), fm.LayerNorm(), fm.Dense(3, "softmax")], 9),
    "single_input": ([fm.Dense(5, "relu"), fm.Dense(1)], 1),
}


@pytest.mark.parametrize("name", sorted(ARCHS))
def test_prediction_of_a_row_is_the_same_in_any_batch(name):
    layers, d = ARCHS[name]
    model = fm.Sequential(layers, input_dim=d, seed=4)
    X = np.random.default_rng(0).standard_normal((300, d)).astype(np.float32)
    full = model.predict(X)
    for i in (0, 1, 150, 299):
        assert np.array_equal(model.predict(X[i:i + 1])[0], full[i])
    assert np.array_equal(model.predict(X[7:20]), full[7:20])
