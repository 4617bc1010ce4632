"""Shared set-up for the benchmarks: thread limits, CPU pinning, timing, machine description,
the reference MLPs, tables, JSON and plots.

Import this module, and call `pin`, before numpy, torch or jax: the thread variables it sets are
read when those libraries load. `start` then caps the loaded BLAS pools again with threadpoolctl.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "FASTMLP_NUM_THREADS")
RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


class MLPConfig(NamedTuple):
    """A reference MLP: ReLU between the layers, Adam lr 1e-3."""

    name: str
    widths: List[int]
    batch: int
    loss: str
    samples: int  # per epoch

    def layers(self):
        """(fan_in, fan_out) of every dense layer."""
        return list(zip(self.widths[:-1], self.widths[1:]))

    def params(self) -> int:
        """Weights and biases."""
        return sum(i * o + o for i, o in self.layers())

    def train_flops_per_sample(self) -> int:
        """Forward 2·W, input gradient 2·W, weight gradient 2·W per weight, less the first layer's
        input gradient, which training never computes: 6·params − 2·first-layer weights."""
        fan_in, fan_out = self.layers()[0]
        return 6 * self.params() - 2 * fan_in * fan_out


MLP_CONFIGS = [
    MLPConfig("S-tabular", [32, 64, 64, 1], 64, "mse", 262144),
    MLPConfig("M-mnist", [784, 256, 128, 10], 128, "cross_entropy", 32768),
    MLPConfig("L-wide", [1024, 2048, 2048, 1000], 256, "cross_entropy", 4096),
]


# ------------------------------------------------------------------ threads
def threads_from_argv(default: int = 1) -> int:
    """Reads `--threads N` / `--threads=N` before argparse runs (and before numpy is imported)."""
    argv = sys.argv[1:]
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
    return default


def xla_flags(threads: int) -> str:
    """XLA:CPU flags for `threads` threads. One thread: Eigen's single-threaded kernels
    (`--xla_cpu_multi_thread_eigen=false`). N threads: the multi-threaded ones, on the intra-op pool
    that XLA sizes from PJRT_NPROC (set by `pin`; without it, from the CPU affinity mask).
    `intra_op_parallelism_threads=N` is the customary companion; XLA:CPU accepts it but sizes its
    pool from PJRT_NPROC."""
    eigen = "false" if threads == 1 else "true"
    return f"--xla_cpu_multi_thread_eigen={eigen} intra_op_parallelism_threads={threads}"


def pin(threads: int) -> str:
    """Sets the thread variables (BLAS, OpenMP, fastmlp, XLA) to `threads` and pins the process to
    the first `threads` CPUs it may run on. Returns the CPU list, e.g. "0"."""
    for var in THREAD_VARS:
        os.environ[var] = str(threads)
    os.environ["PJRT_NPROC"] = str(threads)  # XLA:CPU's intra-op pool (xla::DefaultThreadPoolSize)
    flags = os.environ.get("XLA_FLAGS", "")
    if xla_flags(threads) not in flags:  # a child process inherits them
        os.environ["XLA_FLAGS"] = f"{flags} {xla_flags(threads)}".strip()
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
    return blas_pools()


def blas_pools() -> List[Dict[str, object]]:
    """The loaded BLAS / OpenMP pools as threadpoolctl sees them (empty without threadpoolctl)."""
    try:
        import threadpoolctl
    except ImportError:
        return []
    keys = ("internal_api", "version", "num_threads", "architecture", "filepath")
    return [{k: pool.get(k) for k in keys} for pool in threadpoolctl.threadpool_info()]


def start(threads: int, cpus: str, peak_gflops: Optional[float] = None) -> Dict[str, object]:
    """Sets every loaded library to `threads` threads, measures the fp32 FMA peak of the pinned
    cores (`measure_peak`; `peak_gflops` given: that value instead), prints the header lines and
    returns `machine_info` with the peak under "peak". Call after the contenders are imported."""
    import fastmlp as fm

    fm.set_num_threads(threads)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
    info = machine_info(threads, cpus, limit_blas(threads))
    print(f"threads={threads} pinned to CPUs {cpus}; fastmlp kernel {info['fastmlp_isa']}; {info['cpu']}")
    info["peak"] = measure_peak(cpus, peak_gflops)
    print(peak_line(info["peak"]))
    return info


def measure_peak(cpus: str, override: Optional[float] = None) -> Dict[str, object]:
    """The fp32 FMA peak per core that % of peak is computed against, measured now on the pinned
    CPUs by bench/fma_peak.py (all of them at once), or `override` (`--peak-gflops`).
    {"gflops_per_core": float or None (unknown), "source": "measured" | "--peak-gflops" | "unknown",
    "method": how, "measurement": fma_peak's report (measured only)}."""
    if override is not None:
        return {"gflops_per_core": float(override), "source": "--peak-gflops",
                "method": "given on the command line (not measured)", "measurement": None}
    import fma_peak

    report, reason = fma_peak.measure([int(c) for c in cpus.split(",")])
    if report is None:
        return {"gflops_per_core": None, "source": "unknown", "method": reason, "measurement": None}
    return {"gflops_per_core": float(report["gflops_per_core"]), "source": "measured", "method": report["method"],
            "measurement": report}


def peak_line(peak: Dict[str, object]) -> str:
    """The header line that says which peak % of peak is against, and where it comes from."""
    if peak["gflops_per_core"] is None:
        return f"fp32 FMA peak unknown ({peak['method']}): no % of peak shown; --peak-gflops sets one"
    line = f"fp32 FMA peak {peak['gflops_per_core']:.1f} GFLOP/s per core, {peak['source']}: {peak['method']}"
    measurement = peak["measurement"]
    if isinstance(measurement, dict) and measurement.get("shared"):
        line += f"\nwarning: {measurement['shared']}"
    return line


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """--threads, --peak-gflops, --results-dir: the options every script has."""
    parser.add_argument("--threads", type=int, default=1, help="threads for every library (default 1)")
    parser.add_argument("--peak-gflops", type=float, default=None,
                        help="fp32 peak of one core, GFLOP/s, for %% of peak (default: measured at the start of "
                             "the run on the pinned CPUs, see bench/fma_peak.py)")
    parser.add_argument("--results-dir", default=RESULTS_DIR, help="where the JSON and PNG go (default bench/results)")


def percent_of_peak(gflops: float, threads: int, peak_per_core: Optional[float]) -> Optional[float]:
    """100 x gflops / (peak per core x threads); None when the peak is unknown."""
    if peak_per_core is None:
        return None
    return 100.0 * gflops / (peak_per_core * threads)


def ratios(values: Dict[str, float], ref: str = "fastmlp") -> Dict[str, float]:
    """{"fastmlp/<other>": values[ref] / values[other]} (> 1: fastmlp faster)."""
    return {f"{ref}/{name}": values[ref] / v for name, v in values.items() if name != ref}


# ------------------------------------------------------------------ timing
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


def local_timer(fn: Callable[[], object], min_seconds: float) -> Callable[[], float]:
    """Calls `fn` once (warm-up: first-touch allocations, packing buffers, lazy initialisation) and
    returns a timer: a call giving `median_call_time(fn, min_seconds)`."""
    fn()
    return lambda: median_call_time(fn, min_seconds)


def best_of(timers: Dict[str, Callable[[], float]], rounds: int = 3, settle_seconds: float = 0.0) -> Dict[str, float]:
    """Seconds for each contender: the least of `rounds` calls of its timer. Rounds are interleaved
    (A B C, A B C, ...) so that machine noise hits every contender alike. `settle_seconds`: a pause
    before each timer, so that the previous contender's idle threads have stopped spinning."""
    best = {name: float("inf") for name in timers}
    for _ in range(rounds):
        for name, timer in timers.items():
            if settle_seconds > 0:
                time.sleep(settle_seconds)
            best[name] = min(best[name], timer())
    return best


# ------------------------------------------------------------------ environment
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
    for dist in ("torch", "scikit-learn", "jax", "jaxlib", "optax", "threadpoolctl", "matplotlib"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
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
        "env": {var: os.environ.get(var) for var in THREAD_VARS + ("PJRT_NPROC", "XLA_FLAGS", "OPENBLAS_CORETYPE")},
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


# ------------------------------------------------------------------ output
def print_table(header: Sequence[str], rows: Sequence[Sequence[object]], note: str = "") -> None:
    """A plain-text table: the first column left-aligned, the others right-aligned; floats with the
    format their column's header asks for is the caller's business (pass strings)."""
    cells = [list(map(str, header))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for j, row in enumerate(cells):
        line = " ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
        print(line + (f"   {note}" if j == 0 and note else ""))


def fmt(value: Optional[float], spec: str) -> str:
    """`format(value, spec)`, or "-" for a missing value."""
    return "-" if value is None else format(value, spec)


def write_json(results_dir: str, name: str, payload: Dict[str, object]) -> str:
    """Writes `payload` to <results_dir>/<name> and returns the path."""
    os.makedirs(results_dir, exist_ok=True)
    path = os.path.join(results_dir, name)
    with open(path, "w") as f:
        json.dump(payload, f, indent=2)
    return path


def figure(panels: int = 1, width: float = 9.0, height: float = 4.5):
    """(fig, [ax, ...]): a matplotlib Figure on the Agg canvas (no pyplot state) with `panels`
    stacked axes, or (None, []) without matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        print("(matplotlib not importable: no plot)")
        return None, []
    fig = Figure(figsize=(width, height * panels), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(panels, 1, i + 1) for i in range(panels)]


def bar_panel(ax, groups: Sequence[str], series: Dict[str, Sequence[Optional[float]]], ylabel: str,
              title: str, log: bool = True) -> None:
    """Grouped bars: one group per entry of `groups`, one bar per series (None: no bar)."""
    width = 0.8 / max(1, len(series))
    for s, (name, values) in enumerate(series.items()):
        offset = (s - (len(series) - 1) / 2) * width
        pts = [(g + offset, v) for g, v in enumerate(values) if v]
        ax.bar([x for x, _ in pts], [v for _, v in pts], width, label=name)
    slanted = len(groups) > 4
    ax.set_xticks(range(len(groups)), groups, rotation=35 if slanted else 0, ha="right" if slanted else "center",
                  fontsize=8 if slanted else 10)
    _finish(ax, ylabel, title, log)


def line_panel(ax, xs: Sequence[int], series: Dict[str, Sequence[Optional[float]]], xlabel: str, ylabel: str,
               title: str, hline: Optional[float] = None) -> None:
    """One line per series over `xs` (log2 x axis); `hline` draws a dashed reference (the peak)."""
    for name, values in series.items():
        pts = [(x, v) for x, v in zip(xs, values) if v]
        ax.plot([x for x, _ in pts], [v for _, v in pts], marker="o", label=name)
    if hline is not None:
        ax.axhline(hline, color="grey", linestyle="--", linewidth=1, label=f"peak {hline:g}")
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(xs), [str(x) for x in xs])
    ax.set_xlabel(xlabel)
    ax.set_ylim(bottom=0)
    _finish(ax, ylabel, title, log=False)


def _finish(ax, ylabel: str, title: str, log: bool) -> None:
    if log:
        ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.margins(y=0.15)  # room for the legend above the tallest bar
    handles = ax.get_legend_handles_labels()[0]
    ax.legend(fontsize=8, ncol=len(handles), loc="upper left")


def save_figure(fig, path: str) -> Optional[str]:
    """Writes `fig` (None: nothing) as a PNG and returns the path."""
    if fig is None:
        return None
    fig.savefig(path, dpi=110)
    return path
