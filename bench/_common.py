"""Shared set-up for the benchmarks: thread pinning and timing.

Import this module before numpy or torch: it sets the BLAS thread variables from --threads.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from typing import Callable, Dict


def threads_from_argv(default: int = 1) -> int:
    """Reads --threads N early (before numpy is imported, so BLAS pools start at that size)."""
    argv = sys.argv
    if "--threads" in argv:
        return int(argv[argv.index("--threads") + 1])
    return default


def pin(threads: int) -> str:
    """Limits every library to `threads` threads and pins the process to the first `threads` CPUs."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "FASTMLP_NUM_THREADS"):
        os.environ[var] = str(threads)
    cpus = sorted(os.sched_getaffinity(0))[:threads]
    os.sched_setaffinity(0, cpus)
    return ",".join(map(str, cpus))


def best_time(fn: Callable[[], object], min_seconds: float = 0.2, repeats: int = 3) -> float:
    """Seconds per call: the best, over `repeats` rounds, of the mean over >= min_seconds of calls."""
    fn()  # warm-up: first-touch allocations, packing buffers, lazy initialisation
    best = float("inf")
    for _ in range(repeats):
        calls, start = 0, time.perf_counter()
        while True:
            fn()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        best = min(best, elapsed / calls)
    return best


def machine_info(threads: int, cpus: str) -> Dict[str, object]:
    import numpy as np

    import fastmlp as fm

    return {
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "fastmlp": fm.__version__,
        "fastmlp_isa": fm.get_isa(),
        "threads": threads,
        "pinned_cpus": cpus,
        "cpu": _cpu_name(),
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
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, name)
    with open(path, "w") as f:
        json.dump(payload, f, indent=2)
    return path
