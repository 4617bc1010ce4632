"""GEMM throughput: fastmlp vs NumPy (its OpenBLAS) vs NumPy with OpenBLAS forced to its SKYLAKEX
kernels vs PyTorch, threads pinned.

    taskset -c 0 python bench/gemm.py --threads 1 [--quick]

Prints GFLOP/s and % of peak per shape (against the fp32 FMA peak of the pinned cores, measured at
the start of the run by fma_peak.py, or --peak-gflops) and the ratios of fastmlp to each; writes
bench/results/gemm_<threads>t.json and a plot gemm_<threads>t.png beside it. Shapes: squares
n = 64..2048, and the three backprop products of every layer of the reference MLPs (bench/train.py)
at their batch: forward Y = X·Wᵀ, input gradient dX = dZ·W, weight gradient dW = dZᵀ·X, the
transposed operands passed as `.T` views. Every contender writes into a preallocated output.

`OPENBLAS_CORETYPE` is read when OpenBLAS loads, so "numpy-skx" runs in a child process started
with OPENBLAS_CORETYPE=SKYLAKEX (same threads, same CPUs), driven shape by shape over a pipe so that
its rounds stay interleaved with the others'.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import NamedTuple

import _common

THREADS = _common.threads_from_argv()
CPUS = _common.pin(THREADS)  # before numpy and torch load: they read the thread variables

import numpy as np  # noqa: E402

import fastmlp as fm  # noqa: E402

SQUARES = (64, 128, 256, 512, 1024, 2048)
SKX = "numpy-skx"


class Shape(NamedTuple):
    label: str
    m: int
    n: int
    k: int
    trans_a: bool
    trans_b: bool

    def flops(self) -> int:
        return 2 * self.m * self.n * self.k


def shapes():
    """Every benchmarked product: the squares, then each reference MLP layer's three products."""
    out = [Shape(f"square {n}", n, n, n, False, False) for n in SQUARES]
    for cfg in _common.MLP_CONFIGS:
        for fan_in, fan_out in cfg.layers():
            layer, b = f"{cfg.batch}x{fan_in}->{fan_out}", cfg.batch
            out += [
                Shape(f"fwd {layer}", b, fan_out, fan_in, False, True),  # X (b,in) · Wᵀ, W (out,in)
                Shape(f"dX  {layer}", b, fan_in, fan_out, False, False),  # dZ (b,out) · W (out,in)
                Shape(f"dW  {layer}", fan_out, fan_in, b, True, False),  # dZᵀ, dZ (b,out) · X (b,in)
            ]
    return out


def operands(shape, seed=0):
    """Random float32 a (m,k), b (k,n) and an output (m,n); a transposed operand is a `.T` view of
    a C array."""
    rng = np.random.default_rng(seed)
    m, n, k = shape.m, shape.n, shape.k
    a = rng.standard_normal((k, m) if shape.trans_a else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if shape.trans_b else (k, n), dtype=np.float32)
    return (a.T if shape.trans_a else a), (b.T if shape.trans_b else b), np.empty((m, n), dtype=np.float32)


def local_calls(a, b, out, torch):
    """Zero-argument calls computing a·b into `out`, one per in-process library."""
    calls = {
        "fastmlp": lambda: fm.matmul(a, b, out=out),
        "numpy": lambda: np.matmul(a, b, out=out),  # a @ b without the allocation
    }
    if torch is not None:
        ta, tb, tout = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(out)
        calls["torch"] = lambda: torch.mm(ta, tb, out=tout)
    return calls


# ------------------------------------------------------------------ NumPy with SKYLAKEX kernels
class SkylakexNumpy:
    """NumPy in a child process (`--serve-skx`) whose OpenBLAS was loaded with
    OPENBLAS_CORETYPE=SKYLAKEX. `timer(shape)` prepares the shape there and returns a timer."""

    def __init__(self, min_seconds):
        env = dict(os.environ, OPENBLAS_CORETYPE="SKYLAKEX")
        cmd = [sys.executable, os.path.abspath(__file__), "--threads", str(THREADS), "--serve-skx"]
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.min_seconds = min_seconds
        self.blas_pools = self._ask({"op": "hello"})["blas_pools"]

    def _ask(self, request):
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the numpy-skx child process died")
        return json.loads(line)

    def timer(self, shape):
        self._ask({"op": "prepare", "shape": list(shape), "min_seconds": self.min_seconds})  # + warm-up
        return lambda: self._ask({"op": "time"})["seconds"]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def serve_skx():
    """The child side of SkylakexNumpy: one JSON request per stdin line, one JSON reply per line."""
    timer = None
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "hello":
            reply = {"blas_pools": _common.limit_blas(THREADS)}
        elif request["op"] == "prepare":
            a, b, out = operands(Shape(*request["shape"]))
            timer = _common.local_timer(lambda: np.matmul(a, b, out=out), request["min_seconds"])
            reply = {}
        else:
            reply = {"seconds": timer()}
        print(json.dumps(reply), flush=True)


# ------------------------------------------------------------------ measuring
# With more than one thread, a pause before each contender's timing: the previous one's idle BLAS
# or OpenMP workers (OpenBLAS's in the numpy-skx child included) keep spinning for a while after
# its last call and took the second core from the next (fastmlp on square 2048 at 2 threads:
# ~157 GFLOP/s without the pause, 180-200 alone).
SETTLE_SECONDS = 0.2


def measure_shape(shape, torch, skx, args):
    """One result row: GFLOP/s, % of peak and the fastmlp ratios for every library."""
    a, b, out = operands(shape)
    timers = {name: _common.local_timer(fn, args.min_seconds) for name, fn in local_calls(a, b, out, torch).items()}
    if skx is not None:
        timers[SKX] = skx.timer(shape)
    seconds = _common.best_of(timers, args.rounds, SETTLE_SECONDS if THREADS > 1 else 0.0)
    gflops = {name: shape.flops() / s / 1e9 for name, s in seconds.items()}
    peak = {name: _common.percent_of_peak(g, THREADS, args.peak_gflops) for name, g in gflops.items()}
    return {"shape": shape.label, "m": shape.m, "n": shape.n, "k": shape.k, "trans_a": shape.trans_a,
            "trans_b": shape.trans_b, "gflops": gflops, "percent_of_peak": peak, "ratios": _common.ratios(gflops)}


def print_table(rows, names):
    """One line per shape: GFLOP/s per library, fastmlp's % of peak, then the fastmlp ratios."""
    fmt, others = _common.fmt, [n for n in names if n != "fastmlp"]
    _common.print_table(
        ["shape", "m", "n", "k"] + names + ["fm %peak"] + [f"fm/{n}" for n in others],
        [[r["shape"], r["m"], r["n"], r["k"]] + [fmt(r["gflops"].get(n), ".1f") for n in names]
         + [fmt(r["percent_of_peak"]["fastmlp"], ".0f")] + [fmt(r["ratios"].get(f"fastmlp/{n}"), ".2f") for n in others]
         for r in rows],
        note="(GFLOP/s; fm/x > 1: fastmlp faster)")


def plot(rows, names, path, peak):
    """Top: GFLOP/s against n on the squares, with the peak; bottom: bars on the MLP shapes."""
    fig, (top, bottom) = _common.figure(2, width=14.0, height=5.0)
    if fig is None:
        return None
    squares = [r for r in rows if r["shape"].startswith("square")]
    mlp = [r for r in rows if not r["shape"].startswith("square")]
    threads = f"{THREADS} thread{'s' if THREADS > 1 else ''}"
    _common.line_panel(top, [r["n"] for r in squares], {n: [r["gflops"].get(n) for r in squares] for n in names},
                       "n (square n x n x n)", "GFLOP/s", f"Square GEMM, {threads}", hline=peak)
    _common.bar_panel(bottom, [r["shape"] for r in mlp], {n: [r["gflops"].get(n) for r in mlp] for n in names},
                      "GFLOP/s (log scale)", f"The reference MLPs' backprop products (batch x in -> out), {threads}")
    return _common.save_figure(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common.add_common_args(parser)
    parser.add_argument("--min-seconds", type=float, default=0.2, help="timing window per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the best median is kept")
    parser.add_argument("--quick", action="store_true", help="smoke test: --min-seconds 0.02 --rounds 1")
    parser.add_argument("--no-skx", action="store_true", help="skip NumPy with OPENBLAS_CORETYPE=SKYLAKEX")
    parser.add_argument("--serve-skx", action="store_true", help=argparse.SUPPRESS)  # internal: serve_skx
    args = parser.parse_args()
    if args.serve_skx:
        return serve_skx()
    if args.quick:
        args.min_seconds, args.rounds = 0.02, 1
    torch = _common.optional_module("torch")
    if torch is None:
        print("(torch skipped: not importable; its columns print as '-')")
    info = _common.start(THREADS, CPUS, args.peak_gflops)
    args.peak_gflops = info["peak"]["gflops_per_core"]  # None: unknown, no % of peak
    skx = None if args.no_skx else SkylakexNumpy(args.min_seconds)
    if skx is not None:
        info["numpy_skx_blas_pools"] = skx.blas_pools
    pause = f", {SETTLE_SECONDS} s pause before each" if THREADS > 1 else ""
    print(f"best of {args.rounds} medians over >= {args.min_seconds} s each{pause}")
    try:
        rows = [measure_shape(shape, torch, skx, args) for shape in shapes()]
    finally:
        if skx is not None:
            skx.close()
    names = [n for n in ("fastmlp", "numpy", SKX, "torch") if n in rows[0]["gflops"]]
    print_table(rows, names)
    settings = {"min_seconds": args.min_seconds, "rounds": args.rounds, "peak_gflops_per_core": args.peak_gflops}
    path = _common.write_json(args.results_dir, f"gemm_{THREADS}t.json",
                              {"machine": info, "settings": settings, "results": rows})
    print(f"wrote {path}")
    peak = None if args.peak_gflops is None else args.peak_gflops * THREADS
    png = plot(rows, names, path[: -len(".json")] + ".png", peak)
    if png:
        print(f"wrote {png}")


if __name__ == "__main__":
    main()
