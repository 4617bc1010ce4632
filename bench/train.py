"""Training throughput (samples/s) on the reference MLPs: fastmlp vs JAX vs PyTorch vs scikit-learn.

    taskset -c 0 python bench/train.py --threads 1 [--quick]

Same synthetic data, batch size and optimizer (Adam, lr 1e-3) for every framework, in one process
with the same pinned thread count. Each framework trains one warm-up epoch, then `--repeats` timed
epochs, interleaved across frameworks; the best epoch counts. Prints samples/s, the ratios
fastmlp/JAX, fastmlp/PyTorch and fastmlp/scikit-learn, the % of peak in training FLOPs (against the
fp32 FMA peak of the pinned cores, measured at the start of the run by fma_peak.py, or
--peak-gflops), and the peak RSS of fastmlp's `fit` (measured in a fresh process) against the
memory bound of `memory_bound_bytes`; writes bench/results/train_<threads>t.json and a bar chart
train_<threads>t.png beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from functools import partial

import _common

THREADS = _common.threads_from_argv()
CPUS = _common.pin(THREADS)  # before numpy, torch and jax load: they read the thread variables

import numpy as np  # noqa: E402

import fastmlp as fm  # noqa: E402

CONFIGS = {cfg.name: cfg for cfg in _common.MLP_CONFIGS}
MIB = 1 << 20


def make_data(cfg, n, seed=0):
    """Random float32 inputs; float targets (n, outputs) for mse, int64 labels otherwise."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, cfg.widths[0]), dtype=np.float32)
    if cfg.loss == "mse":
        return X, rng.standard_normal((n, cfg.widths[-1]), dtype=np.float32)
    return X, rng.integers(0, cfg.widths[-1], size=n)


def batches(X, y, batch):
    """Consecutive (x, y) slices of `batch` rows (no shuffling), as views."""
    return [(X[i : i + batch], y[i : i + batch]) for i in range(0, len(X), batch)]


# ------------------------------------------------------------------ one builder per framework
# Each takes (cfg, X, y), builds the model and returns a call that trains it for one epoch.
def fastmlp_model(cfg):
    layers = [fm.Dense(w, activation="relu") for w in cfg.widths[1:-1]] + [fm.Dense(cfg.widths[-1])]
    model = fm.Sequential(layers, input_dim=cfg.widths[0], seed=0)
    model.compile(loss=cfg.loss, optimizer=fm.optim.Adam(lr=1e-3))
    return model


def fastmlp_fit_epoch(cfg, X, y):
    """`model.fit` over one epoch (which shuffles, its default)."""
    model = fastmlp_model(cfg)
    return lambda: model.fit(X, y, epochs=1, batch_size=cfg.batch, verbose=0)


def fastmlp_step_epoch(cfg, X, y):
    """A Python loop of `model.train_step` over pre-made batches (no shuffling), as for PyTorch."""
    model = fastmlp_model(cfg)
    data = batches(X, y, cfg.batch)

    def epoch():
        for xb, yb in data:
            model.train_step(xb, yb)

    return epoch


def jax_epoch(cfg, X, y):
    """Plain JAX + Optax: the whole step (forward, loss, grad, Adam update) under one `jax.jit`,
    parameters and optimizer state donated, over pre-made device batches (no shuffling)."""
    import jax
    import jax.numpy as jnp
    import optax

    keys = jax.random.split(jax.random.PRNGKey(0), len(cfg.layers()))
    params = [_jax_dense(key, fan_in, fan_out) for key, (fan_in, fan_out) in zip(keys, cfg.layers())]
    opt = optax.adam(1e-3)
    opt_state = opt.init(params)

    def loss_fn(params, x, y):
        for w, b in params[:-1]:
            x = jax.nn.relu(x @ w + b)
        w, b = params[-1]
        out = x @ w + b
        if cfg.loss == "mse":
            return jnp.mean((out - y) ** 2)
        return optax.softmax_cross_entropy_with_integer_labels(out, y).mean()

    @partial(jax.jit, donate_argnums=(0, 1))
    def step(params, opt_state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    labels = y if cfg.loss == "mse" else y.astype(np.int32)
    data = [(jax.device_put(xb), jax.device_put(yb)) for xb, yb in batches(X, labels, cfg.batch)]

    def epoch():
        nonlocal params, opt_state
        for xb, yb in data:
            params, opt_state, _ = step(params, opt_state, xb, yb)
        jax.block_until_ready(params)  # dispatch is asynchronous: wait for the last step

    return epoch


def _jax_dense(key, fan_in, fan_out):
    """(W (in, out), b) drawn as torch.nn.Linear does: U(-1/sqrt(in), 1/sqrt(in))."""
    import jax

    bound = 1.0 / np.sqrt(fan_in)
    kw, kb = jax.random.split(key)
    return (jax.random.uniform(kw, (fan_in, fan_out), minval=-bound, maxval=bound),
            jax.random.uniform(kb, (fan_out,), minval=-bound, maxval=bound))


def torch_epoch(cfg, X, y):
    """A torch.nn.Sequential; the standard loop zero_grad, forward, loss, backward, step over
    pre-made batches (no shuffling)."""
    import torch

    torch.manual_seed(0)
    mods = []
    for i, (fan_in, fan_out) in enumerate(cfg.layers()):
        mods += [torch.nn.Linear(fan_in, fan_out)] + ([torch.nn.ReLU()] if i < len(cfg.layers()) - 1 else [])
    net = torch.nn.Sequential(*mods)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.MSELoss() if cfg.loss == "mse" else torch.nn.CrossEntropyLoss()
    data = [(torch.from_numpy(xb), torch.from_numpy(yb)) for xb, yb in batches(X, y, cfg.batch)]

    def epoch():
        for xb, yb in data:
            opt.zero_grad()
            loss_fn(net(xb), yb).backward()
            opt.step()

    return epoch


def sklearn_epoch(cfg, X, y):
    """An MLPRegressor/MLPClassifier (adam, alpha=0, no shuffling); one `partial_fit` per epoch."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    kind = MLPRegressor if cfg.loss == "mse" else MLPClassifier
    model = kind(hidden_layer_sizes=tuple(cfg.widths[1:-1]), solver="adam", alpha=0.0, batch_size=cfg.batch,
                 learning_rate_init=1e-3, shuffle=False, random_state=0)
    target = y.ravel() if cfg.loss == "mse" else y
    # A classifier's first partial_fit must name every class; later calls may too.
    extra = {} if cfg.loss == "mse" else {"classes": np.arange(cfg.widths[-1])}

    def epoch():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.partial_fit(X, target, **extra)

    return epoch


# (name, modules it needs, builder); fastmlp first: the ratios are against it.
FRAMEWORKS = [
    ("fastmlp", (), fastmlp_fit_epoch),
    ("fastmlp-step", (), fastmlp_step_epoch),
    ("jax", ("jax", "optax"), jax_epoch),
    ("torch", ("torch",), torch_epoch),
    ("sklearn", ("sklearn.neural_network",), sklearn_epoch),
]


def available_frameworks():
    """{name: builder} for the frameworks whose modules import; prints a note for each skipped one.
    Imports them, so call before `_common.start` (which caps their thread pools)."""
    out = {}
    for name, modules, build in FRAMEWORKS:
        missing = [m for m in modules if _common.optional_module(m) is None]
        if missing:
            print(f"({name} skipped: {', '.join(missing)} not importable; its columns print as '-')")
        else:
            out[name] = build
    return out


# ------------------------------------------------------------------ throughput
# Pause before each timed epoch with more than one thread: the previous contender's idle OpenMP
# or BLAS workers keep spinning for up to a few hundred ms after its last call (libgomp's default
# spin count) and would take the second core from the next one. Measured: fastmlp's fit on
# M-mnist ran at ~105k samples/s right after PyTorch's and scikit-learn's epochs, ~145k alone.
SETTLE_SECONDS = 0.5


def _epoch_seconds(epoch):
    start = time.perf_counter()
    epoch()
    return time.perf_counter() - start


def samples_per_second(epochs, n, repeats, threads=1):
    """Best samples/s per framework: one warm-up epoch each, then `repeats` interleaved timed epochs."""
    for epoch in epochs.values():
        epoch()
    timers = {name: (lambda epoch=epoch: _epoch_seconds(epoch)) for name, epoch in epochs.items()}
    best = _common.best_of(timers, repeats, SETTLE_SECONDS if threads > 1 else 0.0)
    return {name: n / seconds for name, seconds in best.items()}


def epoch_samples(cfg, quick):
    return max(cfg.batch * 8, cfg.samples // 4) if quick else cfg.samples


def measure_config(cfg, builders, args):
    """One result row: samples/s, ratios, % of peak per framework, and fit's peak RSS."""
    n = epoch_samples(cfg, args.quick)
    X, y = make_data(cfg, n)
    epochs = {name: build(cfg, X, y) for name, build in builders.items()}
    rates = samples_per_second(epochs, n, args.repeats, THREADS)
    flops = cfg.train_flops_per_sample()
    peak = {name: _common.percent_of_peak(r * flops / 1e9, THREADS, args.peak_gflops) for name, r in rates.items()}
    return {"config": cfg.name, "widths": cfg.widths, "batch": cfg.batch, "loss": cfg.loss, "samples": n,
            "params": cfg.params(), "train_flops_per_sample": flops, "peak_gflops_per_core": args.peak_gflops,
            "samples_per_s": rates,
            "ratios": _common.ratios(rates), "percent_of_peak": peak,
            "fit_memory": None if args.no_rss else fit_memory(cfg, n)}


# ------------------------------------------------------------------ memory of fit
def memory_bound_bytes(cfg, X, y):
    """The bound fastmlp holds fit's peak RSS to: data + 4 x parameters (weights, gradients, Adam's
    two moments) + one batch of activations (batch x every layer width, inputs included) + 64 MiB."""
    return X.nbytes + y.nbytes + 4 * 4 * cfg.params() + 4 * cfg.batch * sum(cfg.widths) + 64 * MIB


def fit_memory(cfg, n):
    """Runs `rss_child` in a fresh process (same threads, same CPUs) and returns its report."""
    cmd = [sys.executable, os.path.abspath(__file__), "--threads", str(THREADS),
           "--rss-child", cfg.name, "--rss-samples", str(n)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(f"(fit memory of {cfg.name} not measured: {proc.stderr.strip().splitlines()[-1:]})")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _status_kib(field):
    """VmRSS / VmHWM of this process from /proc/self/status, in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def _reset_peak_rss():
    """Resets VmHWM to the current RSS (Linux >= 4.0); False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def rss_child(cfg, n):
    """In a fresh process: RSS before the data exists, after the data and the model, and the peak
    RSS during one epoch of `fit` (VmHWM, reset just before). Prints one JSON line (bytes)."""
    baseline = _status_kib("VmRSS")  # interpreter, numpy, fastmlp
    X, y = make_data(cfg, n)
    model = fastmlp_model(cfg)  # built: it knows its input width
    before_fit = _status_kib("VmRSS")
    reset = _reset_peak_rss()
    model.fit(X, y, epochs=1, batch_size=cfg.batch, verbose=0)
    peak = _status_kib("VmHWM")
    print(json.dumps({"baseline": baseline, "before_fit": before_fit, "peak": peak, "peak_reset": reset,
                      "data": X.nbytes + y.nbytes, "params_x4": 4 * 4 * cfg.params(),
                      "peak_above_baseline": peak - baseline, "fit_delta": peak - before_fit,
                      "bound": memory_bound_bytes(cfg, X, y)}))


# ------------------------------------------------------------------ output
def print_tables(rows, names, peak):
    """samples/s with the ratios; % of peak; fit's peak RSS against the bound."""
    fmt = _common.fmt
    anchors = ("jax", "torch", "sklearn")
    _common.print_table(
        ["config", "samples"] + names + [f"fm/{n}" for n in anchors],
        [[r["config"], r["samples"]] + [fmt(r["samples_per_s"].get(n), ",.0f") for n in names]
         + [fmt(r["ratios"].get(f"fastmlp/{n}"), ".2f") for n in anchors] for r in rows],
        note="(samples/s; fm/x > 1: fastmlp faster)")
    print()
    _common.print_table(
        ["config", "MFLOP/sample"] + names,
        [[r["config"], f"{r['train_flops_per_sample'] / 1e6:.2f}"]
         + [fmt(r["percent_of_peak"].get(n), ".1f") for n in names] for r in rows],
        note=peak_note(peak))
    memory = [(r["config"], r["fit_memory"]) for r in rows if r["fit_memory"]]
    if memory:
        print()
        _common.print_table(
            ["config", "data", "4 x params", "fit delta", "peak above baseline", "bound", "within"],
            [[name] + [_mib(m[k]) for k in ("data", "params_x4", "fit_delta", "peak_above_baseline", "bound")]
             + ["yes" if m["peak_above_baseline"] <= m["bound"] else "NO"] for name, m in memory],
            note="(MiB; fastmlp fit, fresh process; bound: data + 4 x params + activations + 64 MiB)")


def peak_note(peak):
    """What the % of peak table is against: `peak` is _common.measure_peak's description."""
    if peak["gflops_per_core"] is None:
        return "(% of peak: '-', the peak is unknown)"
    where = "measured in this run" if peak["source"] == "measured" else "from --peak-gflops"
    return f"(% of peak: training FLOP/s over {THREADS} x {peak['gflops_per_core']:.1f} GFLOP/s, the peak {where})"


def _mib(nbytes):
    return f"{nbytes / MIB:.1f}"


def plot(rows, names, path):
    """Bar chart of samples/s per config and framework (log scale)."""
    fig, axes = _common.figure(1, width=8.0, height=4.5)
    if fig is not None:
        series = {n: [r["samples_per_s"].get(n) for r in rows] for n in names}
        title = f"Training throughput, {THREADS} thread{'s' if THREADS > 1 else ''} (higher is better)"
        _common.bar_panel(axes[0], [r["config"] for r in rows], series, "samples/s (log scale)", title)
    return _common.save_figure(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common.add_common_args(parser)
    parser.add_argument("--quick", action="store_true", help="a quarter of the samples")
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs per framework; the best counts")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated subset of " + ",".join(CONFIGS))
    parser.add_argument("--no-rss", action="store_true", help="skip the peak-RSS measurement of fit")
    parser.add_argument("--rss-child", help=argparse.SUPPRESS)  # internal: see rss_child
    parser.add_argument("--rss-samples", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        fm.set_num_threads(THREADS)
        return rss_child(CONFIGS[args.rss_child], args.rss_samples)
    builders = available_frameworks()
    info = _common.start(THREADS, CPUS, args.peak_gflops)
    args.peak_gflops = info["peak"]["gflops_per_core"]  # None: unknown, no % of peak
    pause = f", {SETTLE_SECONDS} s pause before each" if THREADS > 1 else ""
    print(f"1 warm-up epoch, best of {args.repeats} timed epochs{pause}{' (--quick)' if args.quick else ''}")
    rows = [measure_config(CONFIGS[name], builders, args) for name in args.configs.split(",")]
    names = list(builders)
    print_tables(rows, names, info["peak"])
    settings = {"quick": args.quick, "repeats": args.repeats, "warmup_epochs": 1,
                "peak_gflops_per_core": args.peak_gflops, "frameworks": names}
    path = _common.write_json(args.results_dir, f"train_{THREADS}t.json",
                              {"machine": info, "settings": settings, "results": rows})
    print(f"wrote {path}")
    png = plot(rows, names, path[: -len(".json")] + ".png")
    if png:
        print(f"wrote {png}")


if __name__ == "__main__":
    main()
