"""Keras's binary set-up, a sigmoid output layer with binary cross-entropy, trains the binary
cross-entropy of the sigmoid probabilities: the output sigmoid is fused with the loss (which takes
logits), as a softmax output is with cross_entropy. Before, the sigmoid was applied twice."""

import numpy as np
import pytest

import fastmlp as fm


def _data(n=97, features=7, outputs=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, features)).astype(np.float32)
    y = (rng.random((n, outputs)) < 0.4).astype(np.float32)
    return X, y


def _bce_of_probabilities(p, y):
    p = p.astype(np.float64)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log1p(-p))))


def _model(last, outputs=1, hidden="relu"):
    layers = [fm.Dense(5, activation=hidden)]
    layers += [fm.Dense(outputs, activation="sigmoid")] if last == "dense" else [fm.Dense(outputs)]
    if last == "activation":
        layers.append(fm.Activation("sigmoid"))
    model = fm.Sequential(layers, input_dim=7, seed=3)
    model.compile(loss="binary_crossentropy", optimizer=fm.optim.Adam(lr=1e-2), metrics=["accuracy"])
    return model


@pytest.mark.parametrize("last", ["dense", "activation"])
@pytest.mark.parametrize("outputs", [1, 3])
def test_a_sigmoid_output_trains_the_same_weights_as_logits(last, outputs):
    X, y = _data(outputs=outputs)
    fused, logits = _model(last, outputs), _model("linear", outputs)
    for model in (fused, logits):
        model.fit(X, y, epochs=3, batch_size=16, verbose=0)
    for a, b in zip(fused.parameters(), logits.parameters()):
        np.testing.assert_array_equal(a, b)
    z = logits.predict(X).astype(np.float64)
    np.testing.assert_allclose(fused.predict(X), 1.0 / (1.0 + np.exp(-z)), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("last", ["dense", "activation"])
def test_the_reported_loss_and_accuracy_are_those_of_the_probabilities(last):
    X, y = _data()
    model = _model(last)
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    p = model.predict(X)
    assert p.min() > 0.0 and p.max() < 1.0
    scores = model.evaluate(X, y)
    assert scores["loss"] == pytest.approx(_bce_of_probabilities(p, y), rel=1e-5)
    assert scores["accuracy"] == pytest.approx(float(np.mean((p > 0.5) == (y > 0.5))), abs=1e-12)


def test_a_hidden_sigmoid_is_not_fused():
    X, y = _data()
    model = _model("linear", hidden="sigmoid")
    z = model.predict(X).astype(np.float64)  # logits: the output layer is linear
    expected = float(np.mean(np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z)))))
    assert model.evaluate(X, y)["loss"] == pytest.approx(expected, rel=1e-5)


def test_the_gradient_is_pytorch_s_bce_of_the_sigmoid():
    torch = pytest.importorskip("torch")
    X, y = _data(n=13)
    model = _model("dense")
    loss, grads = model.loss_and_gradients(X, y)
    W0, b0, W1, b1 = (torch.tensor(p.astype(np.float64), requires_grad=True) for p in model.parameters())
    hidden = torch.relu(torch.tensor(X, dtype=torch.float64) @ W0.T + b0)
    p = torch.sigmoid(hidden @ W1.T + b1)
    reference = torch.nn.functional.binary_cross_entropy(p, torch.tensor(y, dtype=torch.float64))
    reference.backward()
    assert loss == pytest.approx(reference.item(), rel=1e-5)
    for ours, theirs in zip(grads, (W0.grad, b0.grad, W1.grad, b1.grad)):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-4, atol=1e-6)
