"""The fp32 FMA peak of this machine's cores, measured in the benchmark's own run.

    python bench/fma_peak.py [--cpus 0,1] [--runs 5] [--seconds 0.1]

Compiles `fma_peak.c` with the system C compiler ($CC, else cc, gcc or clang) into a temporary
folder and runs it: one thread per CPU given, each pinned to its CPU, all at once, runs a loop of
independent fused multiply-adds (AVX-512: 16 zmm accumulators, when the CPU has AVX-512F; else
AVX2+FMA: 12 ymm accumulators), enough of them to be bound by FMA throughput rather than latency.
The result is GFLOP/s per core: one thread's FLOPs over the slowest thread's CPU time (so that other
processes taking turns on the same CPUs do not lower it), best of `--runs` runs of about `--seconds`
each. The same over wall-clock time is reported too: well below the peak, it says that these CPUs
were shared while the benchmark ran, and its timings are low for that reason. bench/gemm.py and
bench/train.py call `measure` on the CPUs they are pinned to and report % of peak against it.

`measure` returns None (and says why in `reason`) when there is no compiler, the compile fails or
the CPU has neither AVX-512F nor AVX2+FMA: the peak is then unknown and no % of peak is shown.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Dict, List, Optional, Sequence, Tuple

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fma_peak.c")


def find_compiler() -> Optional[List[str]]:
    """The C compiler command: $CC (may hold flags), else the first of cc, gcc, clang on PATH."""
    cc = os.environ.get("CC", "").split()
    if cc and shutil.which(cc[0]):
        return cc
    for name in ("cc", "gcc", "clang"):
        if shutil.which(name):
            return [name]
    return None


def measure(cpus: Sequence[int], runs: int = 5, seconds: float = 0.1) -> Tuple[Optional[Dict[str, object]], str]:
    """(result, reason): result is fma_peak's JSON report plus "method" and "compiler", or None with
    the reason why the peak could not be measured."""
    cc = find_compiler()
    if cc is None:
        return None, "no C compiler found ($CC, cc, gcc, clang)"
    cpu_list = ",".join(str(c) for c in cpus)
    with tempfile.TemporaryDirectory(prefix="fastmlp-fma-peak-") as tmp:
        exe = os.path.join(tmp, "fma_peak")
        compile_cmd = cc + ["-O2", "-pthread", SOURCE, "-o", exe]
        try:
            built = subprocess.run(compile_cmd, capture_output=True, text=True, check=False)
        except OSError as exc:
            return None, f"the C compiler could not run: {exc}"
        if built.returncode != 0:
            return None, f"compiling fma_peak.c failed: {' '.join(compile_cmd)}: {built.stderr.strip()[-500:]}"
        ran = subprocess.run([exe, "auto", cpu_list, str(runs), str(seconds)], capture_output=True, text=True,
                             check=False)
        if ran.returncode != 0:
            return None, ran.stderr.strip() or f"fma_peak exited with status {ran.returncode}"
    report: Dict[str, object] = json.loads(ran.stdout)
    threads = len(list(cpus))
    report["compiler"] = " ".join(compile_cmd[:1] + compile_cmd[1:3])
    report["method"] = (
        f"fma_peak.c ({' '.join(cc)} -O2 -pthread): {report['accumulators']} independent {report['isa']} FMA "
        f"accumulators of {report['lanes']} floats per thread, {threads} thread(s) pinned to CPU(s) {cpu_list} "
        f"at once; per core over thread CPU time, best of {runs} runs of ~{seconds:g} s"
    )
    report["shared"] = shared_note(report)
    return report, ""


def shared_note(report: Dict[str, object]) -> str:
    """A warning when the wall-clock rate fell well below the CPU-time one: other processes ran on
    these CPUs during the measurement, and likely during the benchmark too. Empty otherwise."""
    peak, wall = float(report["gflops_per_core"]), float(report["gflops_per_core_wall"])  # type: ignore[arg-type]
    if wall >= 0.8 * peak:
        return ""
    return (f"the CPUs were shared: over wall-clock time the FMA loop got {wall:.1f} GFLOP/s per core, "
            f"{100 * wall / peak:.0f}% of the peak, so this run's timings are likely low too")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_cpus = ",".join(str(c) for c in sorted(os.sched_getaffinity(0))[:1])
    parser.add_argument("--cpus", default=default_cpus, help=f"CPUs, one thread each (default {default_cpus})")
    parser.add_argument("--runs", type=int, default=5, help="runs; the best counts (default 5)")
    parser.add_argument("--seconds", type=float, default=0.1, help="length of one run (default 0.1)")
    args = parser.parse_args(argv)
    cpus = [int(c) for c in args.cpus.split(",")]
    report, reason = measure(cpus, args.runs, args.seconds)
    if report is None:
        print(f"fp32 FMA peak unknown: {reason}")
        return 1
    print(f"fp32 FMA peak: {report['gflops_per_core']:.1f} GFLOP/s per core ({report['method']})")
    print(f"runs (CPU time): {report['gflops_per_core_runs']}")
    print(f"runs (wall clock): {report['gflops_per_core_wall_runs']}")
    if report["shared"]:
        print(f"note: {report['shared']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
