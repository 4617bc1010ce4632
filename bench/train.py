"""Training throughput (samples/s) on the reference MLPs: fastmlp vs PyTorch vs scikit-learn.

    taskset -c 0 python bench/train.py --threads 1 [--quick]

Same synthetic data, batch size and optimizer (Adam, lr 1e-3) for every framework, in one process
with the same pinned thread count. Each framework trains one warm-up epoch, then `--repeats` timed
epochs, interleaved across frameworks; the best epoch counts. Prints samples/s and the ratios
fastmlp/PyTorch and fastmlp/scikit-learn; writes bench/results/train_<threads>t.json.
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

torch = _common.optional_module("torch")
sklearn = _common.optional_module("sklearn")

# (name, layer widths, batch, loss, samples per epoch)
CONFIGS = [
    ("S-tabular", [32, 64, 64, 1], 64, "mse", 262144),
    ("M-mnist", [784, 256, 128, 10], 128, "cross_entropy", 32768),
    ("L-wide", [1024, 2048, 2048, 1000], 256, "cross_entropy", 4096),
]


def make_data(widths, loss, n, seed=0):
    """Random float32 inputs; float targets (n, outputs) for mse, int64 labels otherwise."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, widths[0]), dtype=np.float32)
    if loss == "mse":
        return X, rng.standard_normal((n, widths[-1]), dtype=np.float32)
    return X, rng.integers(0, widths[-1], size=n)


def fastmlp_epoch(widths, batch, loss, X, y):
    """A fastmlp model; returns a call that trains it one epoch with `fit` (default shuffling)."""
    layers = [fm.Dense(w, activation="relu") for w in widths[1:-1]] + [fm.Dense(widths[-1])]
    model = fm.Sequential(layers, input_dim=widths[0], seed=0)
    model.compile(loss=loss, optimizer=fm.optim.Adam(lr=1e-3))
    return lambda: model.fit(X, y, epochs=1, batch_size=batch, verbose=0)


def torch_epoch(widths, batch, loss, X, y):
    """A torch.nn.Sequential; returns a call that runs the standard loop over pre-made batches."""
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

    def epoch():
        for xb, yb in batches:
            opt.zero_grad()
            loss_fn(net(xb), yb).backward()
            opt.step()

    return epoch


def sklearn_epoch(widths, batch, loss, X, y):
    """An MLPRegressor/MLPClassifier (adam, alpha=0); returns a call running one `partial_fit`."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    kind = MLPRegressor if loss == "mse" else MLPClassifier
    model = kind(hidden_layer_sizes=tuple(widths[1:-1]), solver="adam", alpha=0.0, batch_size=batch,
                 learning_rate_init=1e-3, shuffle=False, random_state=0)
    target = y.ravel() if loss == "mse" else y
    # A classifier's first partial_fit must name every class; later calls may too.
    extra = {} if loss == "mse" else {"classes": np.arange(widths[-1])}

    def epoch():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.partial_fit(X, target, **extra)

    return epoch


def frameworks():
    """The epoch builders of the importable frameworks, fastmlp first."""
    out = {"fastmlp": fastmlp_epoch}
    if torch is not None:
        out["torch"] = torch_epoch
    if sklearn is not None:
        out["sklearn"] = sklearn_epoch
    return out


def samples_per_second(epochs, n, repeats):
    """Best samples/s per framework: one warm-up epoch each, then `repeats` interleaved timed epochs."""
    for epoch in epochs.values():
        epoch()
    best = {name: float("inf") for name in epochs}
    for _ in range(repeats):
        for name, epoch in epochs.items():
            start = time.perf_counter()
            epoch()
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: n / seconds for name, seconds in best.items()}


def measure(quick, repeats):
    """Measures every config; returns a list of result rows."""
    rows = []
    for name, widths, batch, loss, n in CONFIGS:
        n = max(batch * 8, n // 4) if quick else n
        X, y = make_data(widths, loss, n)
        epochs = {fw: build(widths, batch, loss, X, y) for fw, build in frameworks().items()}
        rates = samples_per_second(epochs, n, repeats)
        ratios = {f"fastmlp/{fw}": rates["fastmlp"] / r for fw, r in rates.items() if fw != "fastmlp"}
        rows.append({"config": name, "widths": widths, "batch": batch, "loss": loss, "samples": n,
                     "samples_per_s": rates, "ratios": ratios})
    return rows


def print_table(rows):
    """One line per config: samples/s per framework, then the fastmlp ratios."""
    nan = float("nan")
    print(f"{'config':10s} {'samples':>7s} {'fastmlp':>10s} {'torch':>10s} {'sklearn':>10s} "
          f"{'fm/torch':>8s} {'fm/sklearn':>10s}   (samples/s)")
    for row in rows:
        s, r = row["samples_per_s"], row["ratios"]
        print(f"{row['config']:10s} {row['samples']:7d} {s['fastmlp']:10,.0f} {s.get('torch', nan):10,.0f} "
              f"{s.get('sklearn', nan):10,.0f} {r.get('fastmlp/torch', nan):8.2f} {r.get('fastmlp/sklearn', nan):10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1, help="threads for every framework (default 1)")
    parser.add_argument("--quick", action="store_true", help="a quarter of the samples")
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs per framework; the best counts")
    args = parser.parse_args()
    fm.set_num_threads(THREADS)
    if torch is not None:
        torch.set_num_threads(THREADS)
    info = _common.machine_info(THREADS, CPUS, _common.limit_blas(THREADS))
    print(f"threads={THREADS} pinned to CPUs {CPUS}; fastmlp kernel {info['fastmlp_isa']}; {info['cpu']}")
    print(f"1 warm-up epoch, best of {args.repeats} timed epochs{' (--quick)' if args.quick else ''}")
    for name, mod in (("torch", torch), ("scikit-learn", sklearn)):
        if mod is None:
            print(f"({name} not importable: skipped, its columns are NaN)")
    rows = measure(args.quick, args.repeats)
    print_table(rows)
    settings = {"quick": args.quick, "repeats": args.repeats, "warmup_epochs": 1}
    path = _common.write_json(f"train_{THREADS}t.json", {"machine": info, "settings": settings, "results": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
