"""The metrics computed from predictions (precision, recall, f1, top-k) with the targets a user
gives: one-hot rows for cross_entropy score as their labels; binary_cross_entropy, whose outputs are
not classes, refuses them at compile instead of reporting numbers that mean nothing."""

import numpy as np
import pytest

import fastmlp as fm

METRICS = ["accuracy", "precision", "recall_micro", "f1_weighted", "top_2_accuracy"]


def test_one_hot_targets_score_as_their_labels():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(61, 5)).astype(np.float32)
    labels = rng.integers(0, 4, size=61)
    one_hot = np.eye(4, dtype=np.float32)[labels]
    model = fm.Sequential([fm.Dense(8, "relu"), fm.Dense(4)], input_dim=5, seed=2)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=METRICS)
    history = model.fit(X, one_hot, epochs=2, batch_size=16, verbose=0, validation_data=(X, one_hot))
    assert set(history.history) == {"loss", *METRICS, *("val_" + m for m in ["loss", *METRICS])}
    with_labels = model.evaluate(X, labels)
    with_rows = model.evaluate(X, one_hot)
    for m in METRICS:
        assert with_rows[m] == pytest.approx(with_labels[m], abs=1e-12), m
    predicted = model.predict(X).argmax(axis=1)
    assert with_rows["accuracy"] == pytest.approx(float(np.mean(predicted == labels)))


@pytest.mark.parametrize("metric", ["precision", "recall", "f1_macro", "top_k_accuracy"])
def test_binary_cross_entropy_refuses_class_ranking_metrics(metric):
    model = fm.Sequential([fm.Dense(1)], input_dim=3)
    with pytest.raises(ValueError, match=rf"metric '{metric}' ranks the outputs as classes and needs the loss "
                       r"'cross_entropy', but the loss is 'binary_cross_entropy': use metrics=\['accuracy'\]"):
        model.compile(loss="binary_cross_entropy", optimizer="adam", metrics=[metric])
    assert not model.compiled
