"""Divergence and concurrency: training never continues from a NaN loss, and a model is never
used by two threads at once, while separate models train in parallel threads correctly."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import fastmlp as fm


def _regression_data(seed=0, n=160, d=32):
    rng = np.random.default_rng(seed)
    X = np.abs(rng.standard_normal((n, d))).astype(np.float32)
    y = rng.standard_normal((n, 1)).astype(np.float32)
    return X, y


def _model(seed=0, d=32):
    """ReLU network with all weights 0.1: a row of 3e38 (finite in float32) then overflows to inf in
    the first layer (32 * 0.1 * 3e38 > 3.4e38), and the loss of its batch is infinite."""
    model = fm.Sequential([fm.Dense(17, activation="relu"), fm.Dense(1)], input_dim=d, seed=seed)
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=1e-3, momentum=0.9))
    for p in model.parameters():
        p[...] = 0.1
    return model


def test_fit_stops_at_the_first_non_finite_loss_naming_epoch_and_step():
    X, y = _regression_data()
    X[70, :] = 3e38
    model = _model()
    with pytest.raises(FloatingPointError, match=r"epoch 1, step 3\b"):
        model.fit(X, y, epochs=2, batch_size=32, shuffle=False, verbose=0)
    # The weights are those after steps 1 and 2: the diverging step made no update.
    twin = _model()
    twin.train_step(X[:32], y[:32])
    twin.train_step(X[32:64], y[32:64])
    for got, want in zip(model.parameters(), twin.parameters()):
        assert np.all(np.isfinite(got))
        assert np.array_equal(got, want)
    # The model is still usable after the error.
    assert np.all(np.isfinite(model.predict(X[:64])))


def test_train_step_with_a_non_finite_loss_raises_and_leaves_weights_unchanged():
    X, y = _regression_data(1)
    model = _model(1)
    model.train_step(X[:32], y[:32])
    before = [p.copy() for p in model.parameters()]
    X_bad = X[:32].copy()
    X_bad[5] = 3e38
    with pytest.raises(FloatingPointError, match="unchanged"):
        model.train_step(X_bad, y[:32])
    for got, want in zip(model.parameters(), before):
        assert np.array_equal(got, want)


def _overflowing_gradient_case(seed=0):
    """A batch whose loss is finite (it is summed in float64) but whose gradient is not: with all
    weights 1e-10 and inputs 3e38 the hidden units are ~1e29 and the output ~4e19, so
    dL/dW2 = output * hidden overflows float32."""
    model = fm.Sequential([fm.Dense(4, activation="relu"), fm.Dense(1)], input_dim=3, seed=seed)
    model.compile(loss="mse", optimizer=fm.optim.Adam(lr=1e-2))
    for p in model.parameters():
        p[...] = 1e-10
    rng = np.random.default_rng(seed)
    X_good = rng.random((8, 3), dtype=np.float32)
    y = rng.random((8, 1), dtype=np.float32)
    X_bad = np.full((8, 3), 3e38, np.float32)
    return model, X_good, X_bad, y


def test_a_finite_loss_with_an_overflowing_gradient_leaves_weights_and_optimizer_state_unchanged():
    model, X_good, X_bad, y = _overflowing_gradient_case()
    twin, _, _, _ = _overflowing_gradient_case()
    assert np.isfinite(model.evaluate(X_bad, y)["loss"])
    model.train_step(X_good, y)
    twin.train_step(X_good, y)
    with pytest.raises(FloatingPointError, match=r"gradient overflowed.*unchanged"):
        model.train_step(X_bad, y)
    assert not all(np.isfinite(g).all() for g in model.gradients())
    # Adam's step count and moments did not move either: the next good step matches a twin that
    # never saw the bad batch, bit for bit.
    model.train_step(X_good, y)
    twin.train_step(X_good, y)
    for got, want in zip(model.parameters(), twin.parameters()):
        assert np.array_equal(got, want)


def test_fit_stops_on_an_overflowing_gradient_naming_epoch_and_step():
    model, X_good, X_bad, y = _overflowing_gradient_case(1)
    X = np.concatenate([X_good, X_good, X_bad])
    yy = np.concatenate([y, y, y])
    with pytest.raises(FloatingPointError, match=r"epoch 1, step 3\b.*gradient"):
        model.fit(X, yy, epochs=1, batch_size=8, shuffle=False, verbose=0)
    assert all(np.isfinite(p).all() for p in model.parameters())


def _train_copy(seed, X, y, out, key):
    model = fm.Sequential([fm.Dense(64, activation="relu"), fm.Dense(3)], input_dim=X.shape[1], seed=seed)
    model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-3))
    model.fit(X, y, epochs=3, batch_size=16, verbose=0)
    out[key] = [p.copy() for p in model.parameters()]


def test_two_models_in_two_threads_equal_sequential_training():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((400, 29)).astype(np.float32)
    y = rng.integers(0, 3, size=400)
    sequential, parallel = {}, {}
    _train_copy(1, X, y, sequential, "a")
    _train_copy(2, X, y, sequential, "b")
    threads = [threading.Thread(target=_train_copy, args=(s, X, y, parallel, k)) for s, k in ((1, "a"), (2, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for key in ("a", "b"):
        for got, want in zip(parallel[key], sequential[key]):
            assert np.array_equal(got, want)


def test_using_one_model_from_two_threads_at_once_is_an_error():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((200_000, 64)).astype(np.float32)
    y = rng.integers(0, 4, size=200_000)
    model = fm.Sequential([fm.Dense(1024, activation="relu"), fm.Dense(4)], input_dim=64, seed=3)
    model.compile(loss="cross_entropy", optimizer=fm.optim.SGD(lr=1e-3))
    model_state = model.training_state()
    done = threading.Event()
    errors = []

    class StopWhenDone(fm.callbacks.Callback):
        def on_epoch_end(self, epoch, logs):
            if done.is_set():
                model.stop_training = True

    def long_fit():  # epochs of 200k samples x 1024 units: each well over a second here
        try:
            model.fit(X, y, epochs=1000, batch_size=256, verbose=0, callbacks=[StopWhenDone()])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    worker = threading.Thread(target=long_fit)
    worker.start()
    try:
        time.sleep(0.3)  # the worker is now inside the C++ loop of its first epoch
        with pytest.raises(RuntimeError, match="another thread"):
            model.fit(X[:64], y[:64], epochs=1, verbose=0)
        with pytest.raises(RuntimeError, match="another thread"):
            model.predict(X[:8])
        # changing the settings the running loop reads is refused too, and leaves them as they were
        with pytest.raises(RuntimeError, match="another thread"):
            model.compile(loss="mse", optimizer=fm.optim.Adam(lr=0.5), clip_norm=1.0)
        assert model.loss.name == "cross_entropy" and isinstance(model.optimizer, fm.optim.SGD)
        with pytest.raises(RuntimeError, match="another thread"):
            model.set_training_state(model_state)
    finally:
        done.set()
        worker.join()
    assert errors == []
    assert np.all(np.isfinite(model.predict(X[:8])))  # usable again once the worker is done
