"""The network's generator states (shuffling, dropout) can be read and restored: an epoch run
from a restored state repeats exactly, which is what checkpoint resumption relies on."""

import numpy as np
import pytest

import fastmlp as fm


def _model():
    model = fm.Sequential([fm.Dense(16, "relu"), fm.Dropout(0.3), fm.Dense(3)], input_dim=5, seed=7)
    model.compile(loss="cross_entropy", optimizer=fm.optim.SGD(lr=0.1))
    return model


def test_an_epoch_from_a_restored_generator_state_repeats_exactly():
    rng = np.random.default_rng(0)
    X = rng.random((50, 5), dtype=np.float32)
    y = rng.integers(0, 3, 50)
    model = _model()
    model.fit(X, y, epochs=1, batch_size=8, verbose=0)  # move the generators off their seeds
    state = model._net.rng_state()
    weights = [p.copy() for p in model.parameters()]
    model.fit(X, y, epochs=1, batch_size=8, verbose=0)
    first = [p.copy() for p in model.parameters()]
    assert model._net.rng_state() != state
    model._net.set_rng_state(state)
    for p, w in zip(model.parameters(), weights):
        p[...] = w
    model.fit(X, y, epochs=1, batch_size=8, verbose=0)
    for got, want in zip(model.parameters(), first):
        assert np.array_equal(got, want)


def test_state_is_eight_words_and_all_zero_generators_are_refused():
    net = _model()
    net.predict(np.zeros((1, 5), np.float32))
    state = net._net.rng_state()
    assert len(state) == 8 and all(0 <= w < 2**64 for w in state)
    with pytest.raises(ValueError, match="all zeros"):
        net._net.set_rng_state([0] * 4 + state[4:])
    with pytest.raises(ValueError, match="8 uint64 words"):
        net._net.set_rng_state(state[:7])
