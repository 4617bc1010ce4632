"""scikit-learn's GridSearchCV over fastmlp.sklearn.MLPClassifier with n_jobs=1 and n_jobs=2: do
joblib's worker processes share the cores, or does each start a thread per core?

    python bench/gridsearch_threads.py [--repeats 3] [--quick]

The search: digits (1,797 8x8 images, bundled with scikit-learn), hidden_layer_sizes
(256,) / (256, 256) x alpha 1e-4 / 1e-3, cv=3: 12 fits of exactly --max-iter epochs (default 80;
n_iter_no_change = max_iter + 1, so none stops early), batch 64, Adam, refit=False. Each
configuration runs in a fresh interpreter (the thread variables are read at import), interleaved
with the others --repeats times. Each first runs the same search with one epoch per fit
("warm-up": it starts joblib's workers, which import scikit-learn and fastmlp, and loky keeps them
for the next search), then the timed search; the best wall time of the timed `search.fit` counts,
and the warm-up's is reported beside it:

- `n_jobs=1`: one process, fastmlp's pool one thread per CPU (no thread variables set);
- `n_jobs=2`: two loky workers; joblib starts them with OMP_NUM_THREADS = cpu_count // 2, which
  fastmlp reads at import, so each worker's pool gets its share of the cores;
- `n_jobs=2, FASTMLP_NUM_THREADS=<cpus>`: fastmlp's behaviour before it read OMP_NUM_THREADS, every
  worker a thread per CPU (FASTMLP_NUM_THREADS wins over OMP_NUM_THREADS and is inherited).

The threads each process used are measured, not assumed: a second scorer returns
fm.get_num_threads() in the process that scores. Prints the table and the ratios against n_jobs=1
(> 1: slower), writes results/gridsearch_threads.json. The 1-minute load average before and after
each run is printed and saved: on a machine shared with other work, a configuration with more
threads than cores takes a larger share of the CPUs from the other processes, so compare runs
made at a load near zero (or run the script under `nice -n -10` as root).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap

import _common

CHILD = textwrap.dedent("""
    import json, sys, time, warnings
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import GridSearchCV
    import fastmlp as fm
    from fastmlp.sklearn import MLPClassifier

    n_jobs, max_iter = int(sys.argv[1]), int(sys.argv[2])
    warnings.simplefilter("ignore", ConvergenceWarning)

    def threads(estimator, X, y):
        return float(fm.get_num_threads())

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)

    def search(epochs):
        return GridSearchCV(
            MLPClassifier(max_iter=epochs, n_iter_no_change=epochs + 1, batch_size=64, random_state=0),
            {"hidden_layer_sizes": [(256,), (256, 256)], "alpha": [1e-4, 1e-3]},
            cv=3, n_jobs=n_jobs, refit=False, scoring={"accuracy": "accuracy", "threads": threads})

    start = time.perf_counter()
    search(1).fit(X, y)  # starts joblib's workers (kept for the next search) and their imports
    warm_up = time.perf_counter() - start
    timed = search(max_iter)
    start = time.perf_counter()
    timed.fit(X, y)
    seconds = time.perf_counter() - start
    search = timed
    print(json.dumps({"seconds": seconds, "warm_up_seconds": warm_up, "parent_threads": fm.get_num_threads(),
                      "worker_threads": sorted(set(search.cv_results_["mean_test_threads"].tolist())),
                      "best_accuracy": float(search.cv_results_["mean_test_accuracy"].max())}))
""")


def configurations(cpus: int):
    return [
        ("n_jobs=1", 1, {}),
        ("n_jobs=2", 2, {}),
        (f"n_jobs=2, FASTMLP_NUM_THREADS={cpus} (before)", 2, {"FASTMLP_NUM_THREADS": str(cpus)}),
    ]


def run_child(n_jobs: int, max_iter: int, env_vars: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _common.THREAD_VARS}
    env.update(env_vars)
    load_before = os.getloadavg()[0]
    child = subprocess.run([sys.executable, "-c", CHILD, str(n_jobs), str(max_iter)], env=env,
                           capture_output=True, text=True, timeout=1800)
    if child.returncode != 0:
        raise RuntimeError(f"n_jobs={n_jobs} {env_vars} failed:\n{child.stderr}")
    result = json.loads(child.stdout.strip().splitlines()[-1])
    # The 1-minute load average around the run: on a shared machine, other processes take cores,
    # and a configuration with more threads than cores then gets a larger share of them.
    result["load_average"] = [load_before, os.getloadavg()[0]]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs of each configuration")
    parser.add_argument("--max-iter", type=int, default=80, help="epochs per fit (default 80)")
    parser.add_argument("--quick", action="store_true", help="--max-iter 5 --repeats 1: a smoke test")
    parser.add_argument("--results-dir", default=_common.RESULTS_DIR)
    args = parser.parse_args()
    if args.quick:
        args.max_iter, args.repeats = 5, 1

    from joblib import cpu_count

    import fastmlp as fm

    cpus = cpu_count()
    configs = configurations(cpus)
    runs = {name: [] for name, _, _ in configs}
    for repeat in range(args.repeats):
        for name, n_jobs, env_vars in configs:
            result = run_child(n_jobs, args.max_iter, env_vars)
            runs[name].append(result)
            print(f"  round {repeat + 1}: {name}: {result['seconds']:.2f} s (warm-up {result['warm_up_seconds']:.2f} s,"
                  f" load average {result['load_average'][0]:.1f} -> {result['load_average'][1]:.1f})", flush=True)

    best = {name: min(r["seconds"] for r in results) for name, results in runs.items()}
    base = best["n_jobs=1"]
    rows = []
    for name, results in runs.items():
        r = results[0]
        threads = r["worker_threads"] if name != "n_jobs=1" else [r["parent_threads"]]
        processes = 1 if name == "n_jobs=1" else 2
        warm_up = min(r["warm_up_seconds"] for r in results)
        rows.append([name, f"{processes} x {'/'.join(str(int(t)) for t in threads)}", f"{best[name]:.2f}",
                     f"{best[name] / base:.2f}", f"{warm_up:.2f}", f"{r['best_accuracy']:.4f}"])
    print(f"\nGridSearchCV: 12 fits of MLPClassifier on digits, {args.max_iter} epochs each; "
          f"{cpus} CPUs (joblib.cpu_count), fastmlp kernel {fm.get_isa()}; best of {args.repeats}")
    _common.print_table(["configuration", "processes x threads", "seconds", "vs n_jobs=1", "warm-up s", "best accuracy"], rows)
    payload = {
        "machine": _common.machine_info(cpus, ",".join(map(str, sorted(os.sched_getaffinity(0)))), []),
        "settings": {"repeats": args.repeats, "max_iter": args.max_iter, "joblib_cpu_count": cpus},
        "best_seconds": best,
        "ratio_vs_n_jobs_1": {name: best[name] / base for name in best},
        "runs": runs,
    }
    print("wrote", _common.write_json(args.results_dir, "gridsearch_threads.json", payload))


if __name__ == "__main__":
    main()
