"""Demo: train an MLP on scikit-learn's bundled digits data (1797 8x8 images, no download) and
report per-epoch loss, held-out accuracy and training speed.

    python -m fastmlp.demo [--epochs 30] [--threads N] [--plot history.png]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import fastmlp as fm


def main(argv: "list[str] | None" = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None, help="kernel threads (default: all allowed cores)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", default="fastmlp-demo-history.png", metavar="PNG",
                        help="save the loss and accuracy curves to this PNG (needs matplotlib; '' to skip)")
    args = parser.parse_args(argv)

    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        raise SystemExit('the demo needs scikit-learn: pip install ".[demo]"') from None

    if args.threads is not None:
        fm.set_num_threads(args.threads)
    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)  # pixel values 0..16 -> [0, 1]
    y = digits.target.astype(np.int64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=args.seed, stratify=y
    )
    print(
        f"fastmlp {fm.__version__} | kernel: {fm.get_isa()} | threads: {fm.get_num_threads()} | "
        f"digits: {len(X_train)} train / {len(X_test)} test samples, {X.shape[1]} features, 10 classes"
    )

    model = fm.Sequential(
        [fm.Dense(128, activation="relu"), fm.Dropout(0.1), fm.Dense(64, activation="relu"), fm.Dense(10)],
        input_dim=X.shape[1],
        seed=args.seed,
    )
    model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-3), metrics=["accuracy"])

    start = time.perf_counter()
    history = model.fit(
        X_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
        validation_data=(X_test, y_test), verbose=2,
    )
    seconds = time.perf_counter() - start
    accuracy = model.evaluate(X_test, y_test)["accuracy"]
    samples_per_s = args.epochs * len(X_train) / seconds
    print(
        f"test accuracy: {accuracy:.4f} | trained {args.epochs} epochs in {seconds:.2f} s "
        f"({samples_per_s:,.0f} samples/s, validation included)"
    )
    if args.plot:
        try:
            fm.plot_history(history, args.plot, title=f"fastmlp {fm.__version__} demo: digits")
        except ImportError:
            print('training curves not saved: pip install ".[plot]" for matplotlib')
        else:
            print(f"training curves saved to {args.plot}")
    return accuracy


if __name__ == "__main__":
    main()
