"""GEMM throughput: fastmlp vs NumPy (its BLAS) vs PyTorch, same process, threads pinned.

    python bench/gemm.py [--threads 1]

Prints GFLOP/s per shape and the ratios; writes bench/results/gemm_<threads>t.json.
The MLP shapes are the three backprop products of a dense layer: forward Y = X·Wᵀ,
input gradient dX = dZ·W, weight gradient dW = dZᵀ·X (transposes passed as views).
"""

from __future__ import annotations

import argparse

import _common

THREADS = _common.threads_from_argv()
CPUS = _common.pin(THREADS)

import numpy as np  # noqa: E402

import fastmlp as fm  # noqa: E402

try:
    import torch
except ImportError:  # torch is optional here
    torch = None


def shapes():
    """(label, m, n, k, transpose_a, transpose_b)."""
    out = [(f"square {n}", n, n, n, False, False) for n in (64, 128, 256, 512, 1024)]
    for batch, fan_in, fan_out in ((128, 784, 256), (256, 1024, 2048)):
        out += [
            (f"fwd  {batch}x{fan_in}->{fan_out}", batch, fan_out, fan_in, False, True),
            (f"dX   {batch}x{fan_in}->{fan_out}", batch, fan_in, fan_out, False, False),
            (f"dW   {batch}x{fan_in}->{fan_out}", fan_out, fan_in, batch, True, False),
        ]
    return out


def operands(rng, m, n, k, trans_a, trans_b):
    a = rng.standard_normal((k, m) if trans_a else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if trans_b else (k, n), dtype=np.float32)
    return (a.T if trans_a else a), (b.T if trans_b else b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--min-seconds", type=float, default=0.2)
    args = parser.parse_args()
    fm.set_num_threads(THREADS)
    if torch is not None:
        torch.set_num_threads(THREADS)
    rng = np.random.default_rng(0)
    info = _common.machine_info(THREADS, CPUS)
    print(f"threads={THREADS} pinned to CPUs {CPUS}; fastmlp kernel {info['fastmlp_isa']}; {info['cpu']}")
    header = f"{'shape':28s} {'fastmlp':>8s} {'numpy':>8s} {'torch':>8s} {'fm/np':>6s} {'fm/torch':>8s}  (GFLOP/s)"
    print(header)
    rows = []
    for label, m, n, k, ta, tb in shapes():
        a, b = operands(rng, m, n, k, ta, tb)
        out = np.empty((m, n), dtype=np.float32)
        flops = 2.0 * m * n * k
        gf = {"fastmlp": flops / _common.best_time(lambda: fm.matmul(a, b, out), args.min_seconds) / 1e9}
        gf["numpy"] = flops / _common.best_time(lambda: np.matmul(a, b, out=out), args.min_seconds) / 1e9
        if torch is not None:
            ta_, tb_, to_ = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(out)
            gf["torch"] = flops / _common.best_time(lambda: torch.mm(ta_, tb_, out=to_), args.min_seconds) / 1e9
        t = gf.get("torch")
        print(
            f"{label:28s} {gf['fastmlp']:8.1f} {gf['numpy']:8.1f} {t if t else float('nan'):8.1f} "
            f"{gf['fastmlp'] / gf['numpy']:6.2f} {gf['fastmlp'] / t if t else float('nan'):8.2f}"
        )
        rows.append({"shape": label, "m": m, "n": n, "k": k, "gflops": gf})
    if torch is None:
        print("(torch not installed: its column is NaN)")
    path = _common.write_json(f"gemm_{THREADS}t.json", {"machine": info, "results": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
