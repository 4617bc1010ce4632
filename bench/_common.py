"""Shared set-up for the benchmarks: thread limits, CPU pinning, timing, machine description.

Import this module, and call `pin`, before numpy or torch: the BLAS thread variables it sets are
read when those libraries load. `limit_blas` then caps the loaded BLAS again with threadpoolctl.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import statistics
import sys
import time
from typing import Callable, Dict, List

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "FASTMLP_NUM_THREADS")
RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def threads_from_argv(default: int = 1) -> int:
    """Reads `--threads N` / `--threads=N` before argparse runs (and before numpy is imported)."""
    argv = sys.argv[1:]
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
    return default


def pin(threads: int) -> str:
    """Sets the thread variables to `threads` and pins the process to the first `threads` CPUs
    it may run on. Returns the CPU list, e.g. "0"."""
    for var in THREAD_VARS:
        os.environ[var] = str(threads)
    cpus = sorted(os.sched_getaffinity(0))[:threads]
    os.sched_setaffinity(0, cpus)
    return ",".join(map(str, cpus))


def limit_blas(threads: int) -> List[Dict[str, object]]:
    """Caps the BLAS / OpenMP pools already loaded (numpy, torch, scikit-learn) with threadpoolctl,
    when it is installed, and returns their description (empty without threadpoolctl)."""
    try:
        import threadpoolctl
    except ImportError:
        return []
    global _LIMITS  # keep the limiter alive for the whole run
    _LIMITS = threadpoolctl.threadpool_limits(limits=threads)
    keys = ("internal_api", "version", "num_threads", "architecture", "filepath")
    return [{k: pool.get(k) for k in keys} for pool in threadpoolctl.threadpool_info()]


def median_call_time(fn: Callable[[], object], min_seconds: float) -> float:
    """Median seconds per call of `fn`, called repeatedly for at least `min_seconds`."""
    times = []
    deadline = time.perf_counter() + min_seconds
    while True:
        start = time.perf_counter()
        fn()
        end = time.perf_counter()
        times.append(end - start)
        if end >= deadline:
            return statistics.median(times)


def best_of_medians(fns: Dict[str, Callable[[], object]], min_seconds: float = 0.2,
                    rounds: int = 3) -> Dict[str, float]:
    """Seconds per call for each contender: the best, over `rounds`, of `median_call_time`.
    Rounds are interleaved (A B C, A B C, ...) so that machine noise hits every contender alike."""
    for fn in fns.values():
        fn()  # warm-up: first-touch allocations, packing buffers, lazy initialisation
    best = {name: float("inf") for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            best[name] = min(best[name], median_call_time(fn, min_seconds))
    return best


def optional_module(name: str):
    """The module, or None when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def machine_info(threads: int, cpus: str, blas: List[Dict[str, object]]) -> Dict[str, object]:
    """What the results were measured on: versions, kernel, threads, pinned CPUs, BLAS pools."""
    import numpy as np

    import fastmlp as fm

    versions = {"python": platform.python_version(), "numpy": np.__version__, "fastmlp": fm.__version__}
    for name in ("torch", "sklearn", "threadpoolctl"):
        mod = sys.modules.get(name)
        versions[name] = getattr(mod, "__version__", None) if mod else None
    return {
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": platform.node(),
        "cpu": _cpu_name(),
        "cpus_online": os.cpu_count(),
        "fastmlp_isa": fm.get_isa(),
        "threads": threads,
        "fastmlp_threads": fm.get_num_threads(),
        "pinned_cpus": cpus,
        "versions": versions,
        "blas_pools": blas,
    }


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def write_json(name: str, payload: Dict[str, object]) -> str:
    """Writes `payload` to bench/results/<name> and returns the path."""
    os.makedirs(RESULTS_DIR, exist_ok=True)
    path = os.path.join(RESULTS_DIR, name)
    with open(path, "w") as f:
        json.dump(payload, f, indent=2)
    return path
