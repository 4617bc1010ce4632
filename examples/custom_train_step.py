"""A hand-written training loop with ``model.train_step``: your own batching, your own
learning-rate rule, your own bookkeeping, each step still one C++ call.

The data are three interleaved spirals (generated with NumPy, no download, no scikit-learn), which
a linear model cannot separate. The loop shuffles with its own generator, sets the learning rate
before every step from a custom rule (linear warm-up, then inverse-square-root decay), reads the
global gradient norm from ``model.gradients()`` after each step, evaluates on validation points
after each epoch with ``model.evaluate``, keeps a copy of the weights with the lowest validation
loss from ``model.parameters()``, writes them back at the end (the views are writable) and
evaluates them on test points it has not used.

Run from the repository root (needs only NumPy and fastmlp):

    python examples/custom_train_step.py [--epochs 60] [--seed 0]

It prints one line every 10 epochs and "test accuracy: 0.9xxx" as its last line.
"""

from __future__ import annotations

import argparse
import math
from typing import List, Optional, Tuple

import numpy as np

import fastmlp as fm


def spirals(n_per_class: int, classes: int, noise: float, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """(n, 2) float32 points on `classes` interleaved spiral arms and their (n,) int64 labels."""
    radius = np.tile(np.linspace(0.05, 1.0, n_per_class), classes)
    label = np.repeat(np.arange(classes), n_per_class)
    angle = label * (2 * math.pi / classes) + radius * 6.0 + rng.normal(0.0, noise, radius.shape)
    X = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    return X.astype(np.float32), label.astype(np.int64)


def learning_rate(step: int, base: float, warmup: int) -> float:
    """Linear warm-up to `base` over `warmup` steps, then base * sqrt(warmup / step)."""
    if step < warmup:
        return base * (step + 1) / warmup
    return base * math.sqrt(warmup / (step + 1))


def main(argv: Optional[List[str]] = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    X, y = spirals(500, 3, noise=0.25, rng=rng)
    train, val, test = np.split(rng.permutation(len(X)), [int(0.6 * len(X)), int(0.8 * len(X))])
    X_train, y_train, X_val, y_val, X_test, y_test = X[train], y[train], X[val], y[val], X[test], y[test]

    model = fm.Sequential(
        [fm.Dense(64, activation="tanh"), fm.Dense(64, activation="tanh"), fm.Dense(3)], input_dim=2, seed=args.seed
    )
    model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-2), metrics=["accuracy"])

    base_lr, warmup = 1e-2, 100
    step = 0
    best_loss, best_epoch, best_weights = math.inf, 0, [p.copy() for p in model.parameters()]
    for epoch in range(args.epochs):
        perm = rng.permutation(len(X_train))
        losses, grad_norms = [], []
        for start in range(0, len(perm), args.batch_size):
            batch = perm[start:start + args.batch_size]
            model.learning_rate = learning_rate(step, base_lr, warmup)  # keeps Adam's moments
            losses.append(model.train_step(X_train[batch], y_train[batch]))  # loss before the update
            grad_norms.append(math.sqrt(sum(float(np.square(g).sum()) for g in model.gradients())))
            step += 1
        scores = model.evaluate(X_val, y_val)
        if scores["loss"] < best_loss:
            best_loss, best_epoch = scores["loss"], epoch
            best_weights = [p.copy() for p in model.parameters()]
        if (epoch + 1) % 10 == 0 or epoch == 0:
            print(
                f"epoch {epoch + 1:3d}: lr {model.learning_rate:.5f}  train loss {np.mean(losses):.4f}  "
                f"mean |grad| {np.mean(grad_norms):.3f}  val loss {scores['loss']:.4f}  "
                f"val accuracy {scores['accuracy']:.4f}"
            )

    for view, best in zip(model.parameters(), best_weights):
        view[...] = best  # writing the zero-copy views changes the model
    final = model.evaluate(X_test, y_test)
    print(f"{step} steps; restored the weights of epoch {best_epoch + 1} (val loss {best_loss:.4f})")
    print(f"test loss: {final['loss']:.4f}")
    print(f"test accuracy: {final['accuracy']:.4f}")
    return float(final["accuracy"])


if __name__ == "__main__":
    main()
