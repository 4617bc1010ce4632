"""Training throughput (samples/s) on the reference MLPs: fastmlp vs PyTorch vs scikit-learn,
same synthetic data, same batch size and optimizer (Adam 1e-3), same process, threads pinned.

    python bench/train.py [--threads 1] [--quick]

Prints samples/s and ratios; writes bench/results/train_<threads>t.json.
"""

from __future__ import annotations

import argparse
import time
import warnings

import _common

THREADS = _common.threads_from_argv()
CPUS = _common.pin(THREADS)

import numpy as np  # noqa: E402

import fastmlp as fm  # noqa: E402

# (name, layer widths, batch, loss, samples timed)
CONFIGS = [
    ("S-tabular", [32, 64, 64, 1], 64, "mse", 262144),
    ("M-mnist", [784, 256, 128, 10], 128, "cross_entropy", 32768),
    ("L-wide", [1024, 2048, 2048, 1000], 256, "cross_entropy", 2048),
]


def make_data(widths, loss, n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, widths[0]), dtype=np.float32)
    if loss == "mse":
        return X, rng.standard_normal((n, widths[-1]), dtype=np.float32)
    return X, rng.integers(0, widths[-1], size=n)


def time_fastmlp(widths, batch, loss, X, y):
    layers = [fm.Dense(w, activation="relu") for w in widths[1:-1]] + [fm.Dense(widths[-1])]
    model = fm.Sequential(layers, input_dim=widths[0], seed=0)
    model.compile(loss=loss, optimizer=fm.optim.Adam(lr=1e-3))
    model.fit(X[: batch * 4], y[: batch * 4], epochs=1, batch_size=batch, verbose=0)  # warm-up
    start = time.perf_counter()
    model.fit(X, y, epochs=1, batch_size=batch, verbose=0)
    return len(X) / (time.perf_counter() - start)


def time_torch(widths, batch, loss, X, y):
    import torch

    torch.manual_seed(0)
    mods = []
    for i in range(len(widths) - 1):
        mods.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            mods.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*mods)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.MSELoss() if loss == "mse" else torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    batches = [(Xt[i : i + batch], yt[i : i + batch]) for i in range(0, len(X), batch)]

    def epoch(bs):
        for xb, yb in bs:
            opt.zero_grad()
            loss_fn(net(xb), yb).backward()
            opt.step()

    epoch(batches[:4])
    start = time.perf_counter()
    epoch(batches)
    return len(X) / (time.perf_counter() - start)


def time_sklearn(widths, batch, loss, X, y):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    kind = MLPRegressor if loss == "mse" else MLPClassifier
    model = kind(hidden_layer_sizes=tuple(widths[1:-1]), solver="adam", alpha=0.0, batch_size=batch,
                 learning_rate_init=1e-3, max_iter=1, shuffle=False, random_state=0)
    target = y.ravel() if loss == "mse" else y
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # Warm-up; the first call of a classifier must name every class.
        extra = {} if loss == "mse" else {"classes": np.arange(widths[-1])}
        model.partial_fit(X[: batch * 4], target[: batch * 4], **extra)
        start = time.perf_counter()
        model.partial_fit(X, target)
        return len(X) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="a quarter of the samples")
    args = parser.parse_args()
    fm.set_num_threads(THREADS)
    runners = {"fastmlp": time_fastmlp, "torch": time_torch, "sklearn": time_sklearn}
    try:
        import torch

        torch.set_num_threads(THREADS)
    except ImportError:
        del runners["torch"]
        print("(torch not installed: skipped)")
    try:
        import sklearn  # noqa: F401
    except ImportError:
        del runners["sklearn"]
        print("(scikit-learn not installed: skipped)")
    info = _common.machine_info(THREADS, CPUS)
    print(f"threads={THREADS} pinned to CPUs {CPUS}; fastmlp kernel {info['fastmlp_isa']}")
    print(f"{'config':10s} " + " ".join(f"{k:>10s}" for k in runners) + "   fastmlp/other")
    rows = []
    for name, widths, batch, loss, n in CONFIGS:
        n = max(batch * 8, n // 4) if args.quick else n
        X, y = make_data(widths, loss, n)
        rates = {k: run(widths, batch, loss, X, y) for k, run in runners.items()}
        ratios = {k: rates["fastmlp"] / v for k, v in rates.items() if k != "fastmlp"}
        print(f"{name:10s} " + " ".join(f"{v:10,.0f}" for v in rates.values()) + "   " +
              " ".join(f"{k} {r:.2f}x" for k, r in ratios.items()))
        rows.append({"config": name, "widths": widths, "batch": batch, "loss": loss, "samples": n,
                     "samples_per_s": rates, "fastmlp_ratio": ratios})
    path = _common.write_json(f"train_{THREADS}t.json", {"machine": info, "results": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
