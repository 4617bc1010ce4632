"""fastmlp.sklearn against scikit-learn's own MLPs where they train the same way: solver="lbfgs".

    python bench/sklearn_compat.py [--threads N] [--repeats 3] [--quick]

Both estimators get the same parameters (hidden_layer_sizes=(100,), relu, alpha=1e-4, tol=1e-4,
max_iter=1000, random_state=0: the same start point) and run SciPy's L-BFGS-B to the same
tolerance; scikit-learn evaluates the loss and gradient in NumPy (float64, its BLAS), fastmlp in its
C++ core (float32). Problems: digits (1,797 x 64, 10 classes, X / 16) and a 10,000 x 50 regression
(make_regression, y standardised). Reported: wall time of `fit` (best of --repeats, interleaved),
n_iter_ (the two paths drift apart after a few iterations, so the iteration counts differ: the
time per iteration is printed too), the final loss_ and the training score; ratio = scikit-learn's
time / fastmlp's (> 1: fastmlp faster). Both are limited to --threads threads (the process is
pinned; scikit-learn's BLAS via the thread variables and threadpoolctl, fastmlp via
fm.set_num_threads). Writes results/sklearn_compat_<N>t.json.

Where the time goes (a second table, from one more fit of each after the timed ones, with
`scipy.optimize.minimize` and the objective it is given wrapped in timers; the timed fits are not
instrumented): nfev (objective evaluations), ms per evaluation of the objective (loss and gradient
of the whole set, with the copies to and from SciPy's float64 vector), SciPy's own time inside
minimize (L-BFGS-B's updates and line searches: the same work for both libraries, for the same
number of iterations), and the rest of `fit` (validation, set-up). The ratio's ceiling is
scikit-learn's time over SciPy's own share: what a free objective would leave.
"""

from __future__ import annotations

import argparse
import contextlib
import time
import warnings

import _common

THREADS = _common.threads_from_argv(1)
CPUS = _common.pin(THREADS)

import numpy as np  # noqa: E402
import scipy.optimize  # noqa: E402
from sklearn import neural_network as sk_nn  # noqa: E402
from sklearn.datasets import load_digits, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

import fastmlp.sklearn as fm_sk  # noqa: E402


def problems(quick: bool):
    X, y = load_digits(return_X_y=True)
    yield "digits (1797x64, 10 classes)", sk_nn.MLPClassifier, fm_sk.MLPClassifier, X / 16.0, y
    n = 2000 if quick else 10_000
    X, y = make_regression(n_samples=n, n_features=50, n_informative=30, noise=5.0, random_state=0)
    yield f"regression ({n}x50)", sk_nn.MLPRegressor, fm_sk.MLPRegressor, X, (y - y.mean()) / y.std()


@contextlib.contextmanager
def timed_minimize(record):
    """While active, scipy.optimize.minimize (which both libraries call) times itself and the
    objective it is given: record receives nfev, nit and seconds in minimize and in the objective."""
    original = scipy.optimize.minimize

    def minimize(fun, x0, *args, **kwargs):
        def timed_fun(x, *fargs):
            start = time.perf_counter()
            try:
                return fun(x, *fargs)
            finally:
                record["objective_s"] += time.perf_counter() - start
                record["evaluations"] += 1

        start = time.perf_counter()
        result = original(timed_fun, x0, *args, **kwargs)
        record["minimize_s"] += time.perf_counter() - start
        record["nfev"], record["nit"] = int(result.nfev), int(result.nit)
        return result

    scipy.optimize.minimize = minimize
    try:
        yield record
    finally:
        scipy.optimize.minimize = original


def breakdown(cls, params, X, y):
    """One instrumented fit: {fit_s, minimize_s, objective_s, evaluations, nfev, nit}."""
    record = {"minimize_s": 0.0, "objective_s": 0.0, "evaluations": 0, "nfev": 0, "nit": 0}
    est = cls(**params)
    with timed_minimize(record), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        est.fit(X, y)
        record["fit_s"] = time.perf_counter() - start
    assert record["evaluations"] == record["nfev"] > 0, record
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    _common.add_common_args(parser)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a 2,000-row regression, 1 repeat")
    args = parser.parse_args()
    info = _common.start(THREADS, CPUS, args.peak_gflops)
    repeats = 1 if args.quick else args.repeats
    params = dict(solver="lbfgs", hidden_layer_sizes=(100,), alpha=1e-4, tol=1e-4, max_iter=1000, random_state=0)
    rows, results, split_rows = [], [], []
    for name, ref_cls, our_cls, X, y in problems(args.quick):
        fitted = {}

        def timer(label, cls):
            def run() -> float:
                est = cls(**params)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    start = time.perf_counter()
                    est.fit(X, y)
                    seconds = time.perf_counter() - start
                fitted[label] = est
                return seconds
            return run

        times = _common.best_of({"scikit-learn": timer("scikit-learn", ref_cls), "fastmlp": timer("fastmlp", our_cls)},
                                rounds=repeats, settle_seconds=0.5 if THREADS > 1 else 0.0)
        entry = {"problem": name, "params": params, "ratio": times["scikit-learn"] / times["fastmlp"]}
        for label in ("scikit-learn", "fastmlp"):
            est = fitted[label]
            entry[label] = {"seconds": times[label], "n_iter": int(est.n_iter_), "loss": float(est.loss_),
                            "train_score": float(est.score(X, y)),
                            "ms_per_iter": 1e3 * times[label] / max(int(est.n_iter_), 1)}
            rows.append([name if label == "scikit-learn" else "", label, f"{times[label]:.3f}", est.n_iter_,
                         f"{entry[label]['ms_per_iter']:.2f}", f"{est.loss_:.3g}", f"{entry[label]['train_score']:.4f}",
                         f"{entry['ratio']:.1f}x" if label == "fastmlp" else ""])
        for label, cls in (("scikit-learn", ref_cls), ("fastmlp", our_cls)):
            best = None
            for _ in range(repeats):  # the least fit time of `repeats` instrumented fits
                record = breakdown(cls, params, X, y)
                if best is None or record["fit_s"] < best["fit_s"]:
                    best = record
            entry[label]["breakdown"] = best
            scipy_s = best["minimize_s"] - best["objective_s"]
            split_rows.append([name if label == "scikit-learn" else "", label, best["nit"], best["nfev"],
                               f"{1e3 * best['objective_s'] / best['nfev']:.3f}", f"{1e3 * best['objective_s']:.1f}",
                               f"{1e3 * scipy_s:.1f}", f"{1e3 * (best['fit_s'] - best['minimize_s']):.1f}",
                               f"{1e3 * best['fit_s']:.1f}"])
        sk_split = entry["scikit-learn"]["breakdown"]
        entry["ratio_ceiling"] = sk_split["fit_s"] / (sk_split["minimize_s"] - sk_split["objective_s"])
        split_rows[-1].append(f"{entry['ratio_ceiling']:.1f}x")
        split_rows[-2].append("")
        results.append(entry)
    _common.print_table(["problem", "estimator", "fit s", "n_iter_", "ms/iter", "loss_", "train score", "ratio"], rows,
                        note=f"lbfgs, tol=1e-4, {THREADS} thread(s)")
    print()
    _common.print_table(["problem", "estimator", "nit", "nfev", "ms/eval", "objective ms", "SciPy ms", "rest ms",
                         "fit ms", "ceiling"], split_rows,
                        note="instrumented fits: objective = nfev evaluations; SciPy = L-BFGS-B's own time in minimize; "
                             "ceiling = scikit-learn's fit / its SciPy share")
    path = _common.write_json(args.results_dir, f"sklearn_compat_{THREADS}t.json",
                              {"machine": info, "threads": THREADS, "results": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
