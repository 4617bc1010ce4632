"""GEMM throughput: fastmlp vs NumPy (its BLAS) vs PyTorch, in one process, threads pinned.

    taskset -c 0 python bench/gemm.py --threads 1

Prints GFLOP/s per shape and the ratios fastmlp/NumPy and fastmlp/PyTorch; writes
bench/results/gemm_<threads>t.json. Shapes: squares, and the three backprop products of two dense layers
(forward Y = X·Wᵀ, input gradient dX = dZ·W, weight gradient dW = dZᵀ·X), the transposed
operands passed as `.T` views. Every contender writes into the same preallocated output.
"""

from __future__ import annotations

import argparse

import _common

THREADS = _common.threads_from_argv()
CPUS = _common.pin(THREADS)

import numpy as np  # noqa: E402

import fastmlp as fm  # noqa: E402

torch = _common.optional_module("torch")

SQUARES = (64, 128, 256, 512, 1024)
LAYERS = ((128, 784, 256), (256, 1024, 2048))  # (batch, fan_in, fan_out)


def shapes():
    """(label, m, n, k, transpose_a, transpose_b) for every benchmarked product."""
    out = [(f"square {n}", n, n, n, False, False) for n in SQUARES]
    for batch, fan_in, fan_out in LAYERS:
        layer = f"{batch}x{fan_in}->{fan_out}"
        out += [
            (f"fwd {layer}", batch, fan_out, fan_in, False, True),  # X (b,in) · Wᵀ, W (out,in)
            (f"dX  {layer}", batch, fan_in, fan_out, False, False),  # dZ (b,out) · W (out,in)
            (f"dW  {layer}", fan_out, fan_in, batch, True, False),  # dZᵀ, dZ (b,out) · X (b,in)
        ]
    return out


def operands(rng, m, n, k, trans_a, trans_b):
    """Random float32 a (m,k) and b (k,n); a transposed operand is a `.T` view of a C array."""
    a = rng.standard_normal((k, m) if trans_a else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if trans_b else (k, n), dtype=np.float32)
    return (a.T if trans_a else a), (b.T if trans_b else b)


def contenders(a, b, out):
    """Zero-argument calls computing a·b into `out`, one per library."""
    fns = {
        "fastmlp": lambda: fm.matmul(a, b, out=out),
        "numpy": lambda: np.matmul(a, b, out=out),  # a @ b without the allocation
    }
    if torch is not None:
        ta, tb, tout = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(out)
        fns["torch"] = lambda: torch.mm(ta, tb, out=tout)
    return fns


def measure(min_seconds, rounds):
    """Measures every shape; returns a list of result rows (GFLOP/s per library)."""
    rng = np.random.default_rng(0)
    rows = []
    for label, m, n, k, ta, tb in shapes():
        a, b = operands(rng, m, n, k, ta, tb)
        out = np.empty((m, n), dtype=np.float32)
        seconds = _common.best_of_medians(contenders(a, b, out), min_seconds, rounds)
        gflops = {name: 2.0 * m * n * k / s / 1e9 for name, s in seconds.items()}
        ratios = {f"fastmlp/{name}": gflops["fastmlp"] / g for name, g in gflops.items() if name != "fastmlp"}
        rows.append({"shape": label, "m": m, "n": n, "k": k, "trans_a": ta, "trans_b": tb,
                     "gflops": gflops, "ratios": ratios})
    return rows


def print_table(rows):
    """One line per shape: GFLOP/s per library, then the fastmlp ratios."""
    nan = float("nan")
    print(f"{'shape':22s} {'fastmlp':>8s} {'numpy':>8s} {'torch':>8s} {'fm/np':>6s} {'fm/torch':>8s}   (GFLOP/s)")
    for row in rows:
        g, r = row["gflops"], row["ratios"]
        print(f"{row['shape']:22s} {g['fastmlp']:8.1f} {g['numpy']:8.1f} {g.get('torch', nan):8.1f} "
              f"{r['fastmlp/numpy']:6.2f} {r.get('fastmlp/torch', nan):8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1, help="threads for every library (default 1)")
    parser.add_argument("--min-seconds", type=float, default=0.2, help="timing window per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the best median is kept")
    args = parser.parse_args()
    fm.set_num_threads(THREADS)
    if torch is not None:
        torch.set_num_threads(THREADS)
    info = _common.machine_info(THREADS, CPUS, _common.limit_blas(THREADS))
    print(f"threads={THREADS} pinned to CPUs {CPUS}; fastmlp kernel {info['fastmlp_isa']}; {info['cpu']}")
    print(f"best of {args.rounds} medians over >= {args.min_seconds} s each")
    if torch is None:
        print("(torch not importable: its columns are NaN)")
    rows = measure(args.min_seconds, args.rounds)
    print_table(rows)
    settings = {"min_seconds": args.min_seconds, "rounds": args.rounds}
    path = _common.write_json(f"gemm_{THREADS}t.json", {"machine": info, "settings": settings, "results": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
