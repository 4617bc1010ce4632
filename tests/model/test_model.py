"""The public Sequential API end to end: the design snippet, parameter/gradient views, fit vs
train_step, determinism across seeds and thread counts, dropout, save/load, digits, EarlyStopping,
summary()."""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm

import reference as ref


def _random_classification(seed, n, n_in, classes):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, n_in)).astype(np.float32), rng.integers(0, classes, size=n)


# --------------------------------------------------------------------------- the design snippet
def test_design_snippet_verbatim(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.random((512, 784), dtype=np.float32)
    y = rng.integers(0, 10, size=512)
    Xv = rng.random((129, 784), dtype=np.float32)
    yv = rng.integers(0, 10, size=129)
    monkeypatch.chdir(tmp_path)

    model = fm.Sequential([fm.Dense(256, activation="relu"), fm.Dropout(0.1), fm.Dense(10)], input_dim=784, seed=0)
    model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-3), metrics=["accuracy"])
    history = model.fit(X, y, epochs=10, batch_size=128, validation_data=(Xv, yv),
                        callbacks=[fm.callbacks.EarlyStopping(patience=3)], verbose=1)
    out = model.predict(Xv)              # (n, 10) float32 network outputs (logits here)
    scores = model.evaluate(Xv, yv)      # {"loss": ..., "accuracy": ...}
    model.save("model.safetensors")
    same = fm.load("model.safetensors")

    h = history.history
    assert set(h) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    n_epochs = len(history.epoch)
    assert 1 <= n_epochs <= 10
    assert history.epoch == list(range(n_epochs))
    assert all(len(v) == n_epochs for v in h.values())
    assert all(np.isfinite(v) for vals in h.values() for v in vals)
    assert all(0.0 <= a <= 1.0 for a in h["accuracy"] + h["val_accuracy"])
    # 512 random samples in 784 dimensions are easy to fit: the training loss must fall
    assert h["loss"][-1] < h["loss"][0]
    assert out.shape == (129, 10) and out.dtype == np.float32 and np.all(np.isfinite(out))
    assert set(scores) == {"loss", "accuracy"}
    # the last epoch's validation numbers are the evaluation of the final model
    assert scores["loss"] == pytest.approx(h["val_loss"][-1], rel=1e-5)
    assert scores["accuracy"] == pytest.approx(h["val_accuracy"][-1], abs=1e-9)
    assert scores["accuracy"] == pytest.approx(ref.accuracy(out, yv), abs=1e-9)
    assert (tmp_path / "model.safetensors").is_file()
    assert np.array_equal(same.predict(Xv), out)


def test_history_keys_for_regression_metrics_and_verbose_zero_is_silent(capsys):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((65, 3)).astype(np.float32)
    Y = rng.standard_normal((65, 2)).astype(np.float32)
    model = fm.Sequential([fm.Dense(7, activation="tanh"), fm.Dense(2)], input_dim=3, seed=1)
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.01), metrics=["mae", "mse"])
    capsys.readouterr()
    history = model.fit(X, Y, epochs=3, batch_size=16, verbose=0)
    assert capsys.readouterr().out == ""
    assert set(history.history) == {"loss", "mae", "mse"}
    assert history.epoch == [0, 1, 2]
    history = model.fit(X, Y, epochs=2, batch_size=16, validation_data=(X[:7], Y[:7]), verbose=0)
    assert set(history.history) == {"loss", "mae", "mse", "val_loss", "val_mae", "val_mse"}
    assert all(len(v) == 2 for v in history.history.values())


# --------------------------------------------------------------------------- views
def test_parameters_are_writable_zero_copy_views():
    model = fm.Sequential([fm.Dense(13, activation="relu"), fm.Dense(3)], input_dim=7, seed=2)
    model.compile(loss="cross_entropy", optimizer=fm.optim.SGD(lr=0.1))
    params = model.parameters()
    assert [p.shape for p in params] == [(13, 7), (13,), (3, 13), (3,)]
    assert all(p.dtype == np.float32 and p.flags.writeable for p in params)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((17, 7)).astype(np.float32)

    # writing the views changes predict
    params[2][...] = 0.0
    params[3][...] = np.array([1.0, -2.0, 3.5], dtype=np.float32)
    np.testing.assert_array_equal(model.predict(X), np.tile(params[3], (17, 1)))

    new = [rng.uniform(-0.5, 0.5, p.shape).astype(np.float32) for p in params]
    for p, v in zip(params, new):
        p[...] = v
    expected = ref.mlp_predict(ref.layers_from_params(new, ["relu", None]), X)
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-5, atol=1e-6)

    # and the views see the model's own updates (zero copy)
    snapshot = [p.copy() for p in params]
    model.train_step(X, rng.integers(0, 3, size=17))
    assert any(not np.array_equal(p, s) for p, s in zip(params, snapshot))
    for p, fresh in zip(params, model.parameters()):
        np.testing.assert_array_equal(p, fresh)


@pytest.mark.parametrize("batch", [1, 3, 33])
def test_gradients_layout_and_values(batch):
    acts = ["relu", "tanh", "sigmoid", None]
    model = fm.Sequential([fm.Dense(17, activation="relu"), fm.Dense(8, activation="tanh"),
                           fm.Dense(5, activation="sigmoid"), fm.Dense(2)], input_dim=31, seed=batch)
    model.compile(loss="cross_entropy", optimizer=fm.optim.SGD(lr=0.0))
    rng = np.random.default_rng(batch)
    x = rng.standard_normal((batch, 31)).astype(np.float32)
    y = rng.integers(0, 2, size=batch)
    loss = model.train_step(x, y)
    grads = model.gradients()
    params = model.parameters()
    assert [g.shape for g in grads] == [p.shape for p in params]
    assert all(g.dtype == np.float32 for g in grads)
    rloss, rgrads, _ = ref.mlp_loss_and_grads(ref.layers_from_params(params, acts), x, y, "cross_entropy")
    assert loss == pytest.approx(rloss, rel=1e-5, abs=1e-6)
    for g, rg in zip(grads, rgrads):
        np.testing.assert_allclose(g, rg, rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------- fit vs train_step
@pytest.mark.parametrize("n,batch_size", [(101, 16), (13, 1), (7, 64)])
def test_unshuffled_fit_equals_train_step_loop(n, batch_size):
    X, y = _random_classification(n, n, 9, 4)

    def make():
        model = fm.Sequential([fm.Dense(17, activation="tanh"), fm.Dense(4)], input_dim=9, seed=3)
        model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-2))
        return model

    a, b = make(), make()
    history = a.fit(X, y, epochs=1, batch_size=batch_size, shuffle=False, verbose=0)
    losses = [b.train_step(X[i : i + batch_size], y[i : i + batch_size]) for i in range(0, n, batch_size)]
    for pa, pb in zip(a.parameters(), b.parameters()):
        np.testing.assert_allclose(pa, pb, rtol=1e-6, atol=1e-7)
    # the epoch loss is an average of the batch losses
    assert min(losses) - 1e-6 <= history.history["loss"][0] <= max(losses) + 1e-6
    # and the last (partial) batch was used: dropping it gives different weights
    if n % batch_size:
        c = make()
        for i in range(0, n - n % batch_size, batch_size):
            c.train_step(X[i : i + batch_size], y[i : i + batch_size])
        assert any(not np.allclose(pa, pc, rtol=1e-6, atol=1e-7) for pa, pc in zip(a.parameters(), c.parameters()))


def _fit_model(seed, X, y, dropout=0.2):
    model = fm.Sequential([fm.Dense(129, activation="relu"), fm.Dropout(dropout), fm.Dense(33, activation="tanh"),
                           fm.Dense(5)], input_dim=X.shape[1], seed=seed)
    model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-3))
    model.fit(X, y, epochs=2, batch_size=64, shuffle=True, verbose=0)
    return [p.copy() for p in model.parameters()]


def test_same_seed_gives_same_weights_after_fit():
    X, y = _random_classification(4, 300, 65, 5)
    a, b, c = _fit_model(7, X, y), _fit_model(7, X, y), _fit_model(8, X, y)
    for pa, pb, pc in zip(a, b, c):
        assert np.array_equal(pa, pb)
        assert not np.array_equal(pa, pc)


def test_one_and_two_threads_give_identical_weights_after_fit():
    # Wide enough that every product of a batch (256 x 600 x 301, ~46M multiply-adds) is split
    # over 2 threads; small products stay on one thread by design.
    X, y = _random_classification(5, 515, 301, 5)

    def fit_wide():
        model = fm.Sequential([fm.Dense(600, activation="relu"), fm.Dropout(0.2), fm.Dense(5)],
                              input_dim=301, seed=11)
        model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-3))
        model.fit(X, y, epochs=2, batch_size=256, shuffle=True, verbose=0)
        return [p.copy() for p in model.parameters()]

    fm.set_num_threads(1)
    one = fit_wide()
    fm.set_num_threads(2)
    assert fm.get_num_threads() == 2
    two = fit_wide()
    for p1, p2 in zip(one, two):
        assert np.array_equal(p1, p2)


# --------------------------------------------------------------------------- dropout
def test_dropout_is_off_in_predict_and_evaluate():
    X, y = _random_classification(6, 33, 13, 3)
    model = fm.Sequential([fm.Dense(31, activation="relu"), fm.Dropout(0.5), fm.Dense(3)], input_dim=13, seed=6)
    model.compile(loss="cross_entropy", optimizer=fm.optim.SGD(lr=0.0))
    p1, p2 = model.predict(X), model.predict(X)
    assert np.array_equal(p1, p2)
    layers = ref.layers_from_params(model.parameters(), ["relu", None])
    np.testing.assert_allclose(p1, ref.mlp_predict(layers, X), rtol=1e-5, atol=1e-6)
    e1, e2 = model.evaluate(X, y), model.evaluate(X, y)
    assert e1 == e2
    np.testing.assert_allclose(e1["loss"], ref.mlp_loss(layers, X, y, "cross_entropy"), rtol=1e-5)


def test_dropout_in_training_is_inverted_dropout():
    rate, hidden = 0.5, 256
    model = fm.Sequential([fm.Dense(hidden, activation="relu"), fm.Dropout(rate), fm.Dense(3)], input_dim=7, seed=12)
    model.compile(loss="cross_entropy", optimizer=fm.optim.SGD(lr=0.0))
    rng = np.random.default_rng(12)
    x = rng.standard_normal((1, 7)).astype(np.float32)
    y = np.array([1])
    W0, b0, W1, b1 = (p.astype(np.float64) for p in model.parameters())
    h = np.maximum(x @ W0.T + b0, 0.0)[0]
    active = h > 0
    assert active.sum() > 50
    loss = model.train_step(x, y)
    dW1 = model.gradients()[2].astype(np.float64)
    dropped = active & np.all(dW1 == 0.0, axis=0)
    # about `rate` of the active units are dropped (binomial, > 6 sigma margin)
    frac = dropped.sum() / active.sum()
    assert 0.25 < frac < 0.75, frac
    # kept units are scaled by 1 / (1 - rate); recompute the whole step with the inferred mask
    mask = (~dropped).astype(np.float64)
    hd = h * mask / (1.0 - rate)
    logits = hd @ W1.T + b1
    rloss, dlogits = ref.cross_entropy(logits[None, :], y)
    assert loss == pytest.approx(rloss, rel=1e-5)
    np.testing.assert_allclose(dW1, np.outer(dlogits[0], hd), rtol=1e-4, atol=1e-7)
    # evaluate (no dropout) sees the unscaled network: a different loss
    assert model.evaluate(x, y)["loss"] != pytest.approx(loss, rel=1e-4)


# --------------------------------------------------------------------------- save / load
def test_save_load_roundtrip_is_bit_identical(tmp_path):
    X, y = _random_classification(8, 65, 17, 7)
    model = fm.Sequential([fm.Dense(33, activation="sigmoid"), fm.Dropout(0.3), fm.Dense(13, activation="tanh"),
                           fm.Dense(7)], input_dim=17, seed=8)
    model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-2))
    model.fit(X, y, epochs=2, batch_size=16, verbose=0)
    path = tmp_path / "m.safetensors"
    model.save(str(path))
    loaded = fm.load(str(path))
    assert len(loaded.parameters()) == len(model.parameters())
    for pa, pb in zip(model.parameters(), loaded.parameters()):
        assert pa.shape == pb.shape and np.array_equal(pa, pb)
    assert np.array_equal(loaded.predict(X), model.predict(X))
    assert np.array_equal(loaded.predict(X[:1]), model.predict(X[:1]))
    # the loaded model is a working model: it can be compiled and trained
    loaded.compile(loss="cross_entropy", optimizer=fm.optim.SGD(lr=0.1))
    before = [p.copy() for p in loaded.parameters()]
    loaded.train_step(X[:5], y[:5])
    assert any(not np.array_equal(p, b) for p, b in zip(loaded.parameters(), before))
    # ... and independent of the original
    assert np.array_equal(model.predict(X), fm.load(str(path)).predict(X))


# --------------------------------------------------------------------------- digits
def test_digits_reaches_95_percent_test_accuracy():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(X, digits.target, test_size=0.25, random_state=0)
    model = fm.Sequential([fm.Dense(64, activation="relu"), fm.Dense(10)], input_dim=64, seed=0)
    model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-3), metrics=["accuracy"])
    history = model.fit(X_train, y_train, epochs=30, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    scores = model.evaluate(X_test, y_test)
    assert scores["accuracy"] >= 0.95, scores
    assert ref.accuracy(model.predict(X_test), y_test) >= 0.95


# --------------------------------------------------------------------------- EarlyStopping
def _linear_regression(seed=0, n=64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)).astype(np.float32)
    Y = (X @ np.array([[1.0], [-2.0], [0.5]]) + 0.3).astype(np.float32)
    return X, Y


@pytest.mark.parametrize("patience", [1, 2, 4])
def test_early_stopping_stops_when_loss_is_flat(patience):
    # lr = 0 and full-batch, unshuffled epochs: every epoch reports the same loss -> no improvement.
    # Without validation data the default monitor "val_loss" is not logged: monitor "loss".
    X, Y = _linear_regression()
    model = fm.Sequential([fm.Dense(1)], input_dim=3, seed=0)
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.0))
    stopper = fm.callbacks.EarlyStopping(monitor="loss", patience=patience)
    history = model.fit(X, Y, epochs=20, batch_size=64, shuffle=False, callbacks=[stopper], verbose=0)
    assert len(history.history["loss"]) == patience + 1
    assert history.epoch == list(range(patience + 1))


def test_early_stopping_on_val_loss():
    X, Y = _linear_regression()
    model = fm.Sequential([fm.Dense(1)], input_dim=3, seed=0)
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.0))
    history = model.fit(X, Y, epochs=20, batch_size=64, shuffle=False, validation_data=(X[:9], Y[:9]),
                        callbacks=[fm.callbacks.EarlyStopping(monitor="val_loss", patience=3)], verbose=0)
    assert len(history.history["val_loss"]) == 4


def test_early_stopping_does_not_stop_while_improving():
    # full-batch gradient descent with a small step on a linear least-squares problem: the loss
    # decreases every epoch
    X, Y = _linear_regression()
    model = fm.Sequential([fm.Dense(1)], input_dim=3, seed=0)
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.05))
    history = model.fit(X, Y, epochs=8, batch_size=64, shuffle=False, validation_data=(X, Y),
                        callbacks=[fm.callbacks.EarlyStopping(patience=1)], verbose=0)
    losses = history.history["loss"]
    assert len(losses) == 8
    assert all(b < a for a, b in zip(losses, losses[1:]))


def test_early_stopping_min_delta():
    # the same improving run, but improvements smaller than min_delta do not count
    X, Y = _linear_regression()
    model = fm.Sequential([fm.Dense(1)], input_dim=3, seed=0)
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.05))
    history = model.fit(X, Y, epochs=8, batch_size=64, shuffle=False,
                        callbacks=[fm.callbacks.EarlyStopping(monitor="loss", patience=2, min_delta=1e6)], verbose=0)
    assert len(history.history["loss"]) == 3


# --------------------------------------------------------------------------- summary
ARCHS = [
    # (input_dim, layers)
    (1, [fm.Dense(1)]),
    (7, [fm.Dense(13, activation="relu"), fm.Dropout(0.5), fm.Dense(3)]),
    (784, [fm.Dense(256, activation="relu"), fm.Dense(128, activation="tanh"), fm.Dense(10)]),
    (5, [fm.Dropout(0.1), fm.Dense(2, activation="sigmoid"), fm.Dense(2), fm.Dropout(0.2), fm.Dense(31)]),
]


@pytest.mark.parametrize("case", range(len(ARCHS)))
def test_summary_counts_parameters_and_shapes(case):
    n_in, layers = ARCHS[case]
    model = fm.Sequential(layers, input_dim=n_in)
    printed = []
    text = model.summary(print_fn=printed.append)
    assert printed == [text]
    assert f"Total params: {model.num_params:,}" in text
    assert "Trainable params" in text and "Non-trainable params: 0" in text
    width = n_in
    rows = [line for line in text.splitlines() if line.startswith(("dense", "dropout"))]
    assert len(rows) == len(layers)
    for row, layer in zip(rows, layers):
        if isinstance(layer, fm.Dense):
            params = layer.units * (width + 1)
            width = layer.units
        else:
            params = 0
        assert row.split()[-1] == f"{params:,}" and f"(None, {width})" in row


def test_summary_names_layers_like_keras_and_prints(capsys):
    model = fm.Sequential([fm.Dense(4, activation="relu"), fm.Dropout(0.1), fm.Dense(2)], input_dim=3)
    text = model.summary()
    assert capsys.readouterr().out == text + "\n"
    names = [line.split()[0] for line in text.splitlines() if line.startswith(("dense", "dropout"))]
    assert names == ["dense", "dropout", "dense_1"]


def test_summary_before_the_input_width_is_known_raises():
    with pytest.raises(RuntimeError, match="input_dim"):
        fm.Sequential([fm.Dense(3)]).summary()


def test_summary_counts_normalisation_parameters_and_running_statistics():
    model = fm.Sequential([fm.Dense(6), fm.BatchNorm(), fm.Dense(4), fm.LayerNorm(), fm.BatchNorm(affine=False),
                           fm.LayerNorm(elementwise_affine=False)], input_dim=3)
    text = model.summary(print_fn=lambda _: None)
    n_buffers = sum(b.size for b in model.buffers())
    assert n_buffers == 2 * 6 + 2 * 4
    assert f"Trainable params: {model.num_params:,}" in text
    assert f"Non-trainable params: {n_buffers:,}" in text
    assert f"Total params: {model.num_params + n_buffers:,}" in text
    counts = [line.split()[-1] for line in text.splitlines() if line.startswith(("batchnorm", "layernorm"))]
    assert counts == [f"{4 * 6}", f"{2 * 4}", f"{2 * 4}", "0"]
