"""Sparse X (TF-IDF text classification): fastmlp on the sparse rows vs fastmlp on the densified
rows vs scikit-learn on the sparse rows.

    python bench/sparse.py [--threads N] [--repeats 3] [--epochs 1] [--quick]

Data, generated deterministically (seed 0): n documents (10,000; --quick 2,000) over a 20,000-word
vocabulary. Each document draws Poisson(m) words from a Zipf(1) distribution over the vocabulary (the
ranks shuffled over the columns), m chosen so that a document holds on average --density (1%: ~200)
distinct words; the counts go through scikit-learn's TfidfTransformer (smooth idf, sublinear tf
off, rows L2-normalised) and become float32 CSR. Labels, 20 classes: argmax of the TF-IDF rows times
a random normal 20,000 x 20 teacher (columns centred), so that accuracy means something.

Contenders, the same hyper-parameters (hidden_layer_sizes=(256,), relu, adam, learning_rate_init
1e-3, alpha 1e-4, batch_size 200 = scikit-learn's "auto", shuffle, random_state 0, max_iter=E with
tol=0 and n_iter_no_change > E, so that every fit trains exactly E epochs):

- fm sparse: fastmlp.sklearn.MLPClassifier.fit on the float32 CSR X;
- fm dense: the same on X.toarray() (float32, C order): the "densifying" baseline; the time of
  toarray() is reported separately and not counted;
- sklearn sparse: scikit-learn's MLPClassifier.fit on the same float32 CSR X (it trains in float32
  on float32 input);
- fm sparse alpha=0: fm sparse without the L2 penalty, to show what the penalty's pass over the
  weights costs per step;
- Sequential sparse / dense: fm.Sequential([Dense(256, relu), Dense(20)]) with Adam(1e-3),
  fit(epochs=E, batch_size=200, verbose=0), no penalty: the core without the estimator's layer.

Timed: the estimators, the wall time of the whole fit() call (validation, weight initialisation,
model set-up included: about 0.25 s of fastmlp's fit here); the Sequential rows, fit() alone (the
model built and compiled before the clock starts). Best of --repeats, the rounds interleaved across
the contenders; per epoch = that / E. The process CPU time of each fit is recorded beside its wall
time ("CPU / wall" of the best fit: with one thread, the share of a core the fit got; well under 1
means another process ran on the same core and the timing is low), with the load average.
fastmlp's sparse and dense fits are bit-identical: the script asserts that their predict_proba
(and the Sequential's predict) are exactly equal, and fails otherwise.

A sweep then times fm.Sequential.fit on sparse vs dense X alone (fit only, as above; ms per step =
that / steps), on --sweep-samples documents (4,000; --quick 1,000), at densities 0.5%, 1%, 2% and
batch sizes 200, 512, plus a floor: one non-zero per row, where the time left is the part of each
step that sparsity does not shrink (the Adam update of the 5.1M first-layer weights and their dense
gradient, the second layer).

Writes results/sparse_<N>t.json.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import _common

THREADS = _common.threads_from_argv(1)
CPUS = _common.pin(THREADS)

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from sklearn import neural_network as sk_nn  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.feature_extraction.text import TfidfTransformer  # noqa: E402

import fastmlp as fm  # noqa: E402
import fastmlp.sklearn as fm_sk  # noqa: E402

N_FEATURES = 20_000
N_CLASSES = 20
HIDDEN = 256
ZIPF_A = 1.0
#: The process CPU seconds of every timed fit, by label: on a shared machine, a fit whose CPU time is
#: well under its wall time waited for the CPU (with one thread, CPU / wall is the share it got).
CPU_SECONDS: dict = {}


# ------------------------------------------------------------------ data
def _draws_for_distinct(p: np.ndarray, distinct: float) -> float:
    """The number of word draws m whose expected count of distinct words, sum(1 - (1 - p)^m),
    equals `distinct` (bisection; the expectation increases with m)."""
    log_q = np.log1p(-p)
    lo, hi = distinct, 100.0 * distinct
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if float(np.sum(-np.expm1(mid * log_q))) < distinct:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def tfidf_problem(n: int, density: float, seed: int = 0, nnz_per_row: int = 0):
    """(X float32 CSR (n, 20,000) L2-normalised TF-IDF rows, y int labels in [0, 20), description).
    `nnz_per_row` = 1: instead exactly one word per row (the floor of the sweep)."""
    rng = np.random.default_rng(seed)
    column_of_rank = rng.permutation(N_FEATURES)
    p = 1.0 / np.arange(1, N_FEATURES + 1) ** ZIPF_A
    p /= p.sum()
    if nnz_per_row > 0:  # one draw per row: exactly one non-zero
        m = float(nnz_per_row)
        lengths = np.full(n, nnz_per_row)
    else:
        m = _draws_for_distinct(p, density * N_FEATURES)
        lengths = np.maximum(rng.poisson(m, size=n), 1)
    rows = np.repeat(np.arange(n), lengths)
    cols = column_of_rank[np.minimum(np.searchsorted(np.cumsum(p), rng.random(rows.size)), N_FEATURES - 1)]
    counts = sp.coo_matrix((np.ones(rows.size), (rows, cols)), shape=(n, N_FEATURES)).tocsr()
    counts.sum_duplicates()
    X = TfidfTransformer().fit_transform(counts).astype(np.float32).tocsr()
    X.sort_indices()
    teacher = rng.standard_normal((N_FEATURES, N_CLASSES))
    scores = np.asarray(X.astype(np.float64) @ teacher)
    y = np.argmax(scores - scores.mean(axis=0), axis=1)
    shares = np.bincount(y, minlength=N_CLASSES) / n
    desc = {"n_samples": n, "n_features": N_FEATURES, "n_classes": N_CLASSES, "target_density": density,
            "nnz_per_row_target": nnz_per_row or None, "word_draws_per_row": m, "nnz": int(X.nnz),
            "density": X.nnz / (n * N_FEATURES), "nnz_per_row_mean": X.nnz / n,
            "class_share_min": float(shares.min()), "class_share_max": float(shares.max())}
    return X, y, desc


# ------------------------------------------------------------------ contenders
def estimator_params(epochs: int, batch: int) -> dict:
    return dict(hidden_layer_sizes=(HIDDEN,), activation="relu", solver="adam", alpha=1e-4, batch_size=batch,
                learning_rate_init=1e-3, max_iter=epochs, shuffle=True, random_state=0, tol=0.0,
                n_iter_no_change=epochs + 10)


def fit_estimator(cls, params: dict, X, y, fitted: dict, label: str):
    def run() -> float:
        est = cls(**params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start, cpu = time.perf_counter(), time.process_time()
            est.fit(X, y)
            seconds = time.perf_counter() - start
        CPU_SECONDS.setdefault(label, []).append(time.process_time() - cpu)
        if int(est.n_iter_) != params["max_iter"]:
            raise AssertionError(f"{label} trained {est.n_iter_} epochs, not {params['max_iter']}")
        fitted[label] = est
        return seconds
    return run


def fit_sequential(epochs: int, batch: int, X, y, fitted: dict, label: str):
    """Times model.fit only: the model is built and compiled (weights, Adam state) before the clock
    starts, so that seconds / steps is the cost of a training step."""
    def run() -> float:
        model = fm.Sequential([fm.Dense(HIDDEN, activation="relu"), fm.Dense(N_CLASSES)], input_dim=N_FEATURES, seed=0)
        model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-3))
        start, cpu = time.perf_counter(), time.process_time()
        model.fit(X, y, epochs=epochs, batch_size=batch, verbose=0)
        seconds = time.perf_counter() - start
        CPU_SECONDS.setdefault(label, []).append(time.process_time() - cpu)
        fitted[label] = model
        return seconds
    return run


def vm_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def densify(Xs):
    """(X.toarray() as float32 C order, seconds, RSS growth in MiB)."""
    rss = vm_kib("VmRSS")
    start = time.perf_counter()
    Xd = np.ascontiguousarray(Xs.toarray(), dtype=np.float32)
    seconds = time.perf_counter() - start
    return Xd, seconds, (vm_kib("VmRSS") - rss) / 1024


def mib(nbytes: int) -> float:
    return nbytes / 2**20


def sparse_nbytes(X) -> int:
    return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes


def assert_identical(a: np.ndarray, b: np.ndarray, what: str) -> None:
    if a.shape != b.shape or not np.array_equal(a, b):
        diff = np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))) if a.shape == b.shape else "shape"
        raise AssertionError(f"{what}: sparse and densified X gave different results (max |diff| {diff})")


# ------------------------------------------------------------------ main
def main_comparison(args, repeats: int) -> dict:
    n = 2000 if args.quick else args.samples
    Xs, y, data = tfidf_problem(n, args.density)
    Xd, densify_s, densify_rss = densify(Xs)
    E, B = args.epochs, args.batch_size
    params = estimator_params(E, B)
    print(f"data: {n} x {N_FEATURES} TF-IDF, {data['nnz_per_row_mean']:.0f} non-zeros per row "
          f"(density {100 * data['density']:.2f}%), {N_CLASSES} classes (shares {data['class_share_min']:.3f}-"
          f"{data['class_share_max']:.3f}); sparse X {mib(sparse_nbytes(Xs)):.1f} MiB, densified "
          f"{mib(Xd.nbytes):.0f} MiB (toarray {densify_s:.2f} s, RSS +{densify_rss:.0f} MiB)")
    fitted: dict = {}
    timers = {
        "fm sparse": fit_estimator(fm_sk.MLPClassifier, params, Xs, y, fitted, "fm sparse"),
        "fm dense": fit_estimator(fm_sk.MLPClassifier, params, Xd, y, fitted, "fm dense"),
        "sklearn sparse": fit_estimator(sk_nn.MLPClassifier, params, Xs, y, fitted, "sklearn sparse"),
        "fm sparse alpha=0": fit_estimator(fm_sk.MLPClassifier, {**params, "alpha": 0.0}, Xs, y, fitted,
                                           "fm sparse alpha=0"),
    }
    if not args.no_sequential:
        timers["Sequential sparse"] = fit_sequential(E, B, Xs, y, fitted, "Sequential sparse")
        timers["Sequential dense"] = fit_sequential(E, B, Xd, y, fitted, "Sequential dense")
    all_times = {name: [] for name in timers}

    def recording(name, timer):
        def run() -> float:
            seconds = timer()
            all_times[name].append(seconds)
            return seconds
        return run

    best = _common.best_of({k: recording(k, t) for k, t in timers.items()}, rounds=repeats,
                           settle_seconds=0.5 if THREADS > 1 else 0.0)

    # Bit-identity: the same shuffles, the same sums, so exactly the same model.
    proba_sparse = fitted["fm sparse"].predict_proba(Xs)
    assert_identical(proba_sparse, fitted["fm dense"].predict_proba(Xd), "MLPClassifier.predict_proba")
    if "Sequential sparse" in fitted:
        assert_identical(fitted["Sequential sparse"].predict(Xs), fitted["Sequential dense"].predict(Xd),
                         "Sequential.predict")
    print("fastmlp sparse and densified fits: predictions exactly equal (asserted)")
    accuracy = {
        "fm sparse": float(np.mean(fitted["fm sparse"].classes_[np.argmax(proba_sparse, axis=1)] == y)),
        "fm dense": float(fitted["fm dense"].score(Xd, y)),
        "sklearn sparse": float(fitted["sklearn sparse"].score(Xs, y)),
        "fm sparse alpha=0": float(fitted["fm sparse alpha=0"].score(Xs, y)),
    }
    sklearn_dtype = str(fitted["sklearn sparse"].coefs_[0].dtype)
    for name in ("Sequential sparse", "Sequential dense"):
        if name in fitted:
            X = Xs if "sparse" in name else Xd
            accuracy[name] = float(np.mean(np.argmax(fitted[name].predict(X), axis=1) == y))
    results = {}
    for name, seconds in best.items():
        results[name] = {"best_fit_seconds": seconds, "seconds_per_epoch": seconds / E,
                         "samples_per_s": n * E / seconds, "train_accuracy": accuracy[name],
                         "all_fit_seconds": all_times[name], "all_fit_cpu_seconds": CPU_SECONDS.pop(name)}
        i = int(np.argmin(all_times[name]))
        results[name]["cpu_share_of_best"] = results[name]["all_fit_cpu_seconds"][i] / all_times[name][i]
    ratios = {"fm dense / fm sparse": best["fm dense"] / best["fm sparse"],
              "sklearn sparse / fm sparse": best["sklearn sparse"] / best["fm sparse"]}
    if "Sequential sparse" in best:
        ratios["Sequential dense / Sequential sparse"] = best["Sequential dense"] / best["Sequential sparse"]
    return {"data": data, "epochs": E, "batch_size": B, "params": {k: v for k, v in params.items()},
            "densify": {"seconds": densify_s, "dense_mib": mib(Xd.nbytes), "rss_growth_mib": densify_rss,
                        "sparse_mib": mib(sparse_nbytes(Xs))},
            "sklearn_weights_dtype": sklearn_dtype, "results": results, "ratios": ratios}


def sweep(args, repeats: int) -> list:
    n = 1000 if args.quick else args.sweep_samples
    E = args.epochs
    cases = [(d, 0) for d in (0.005, 0.01, 0.02)] + [(0.0, 1)]
    entries = []
    for density, nnz_per_row in cases:
        Xs, y, data = tfidf_problem(n, density, nnz_per_row=nnz_per_row)
        Xd, densify_s, _ = densify(Xs)
        for batch in args.sweep_batches:
            fitted: dict = {}
            CPU_SECONDS.clear()
            load = os.getloadavg()[0]
            best = _common.best_of({"sparse": fit_sequential(E, batch, Xs, y, fitted, "sparse"),
                                    "dense": fit_sequential(E, batch, Xd, y, fitted, "dense")},
                                   rounds=repeats, settle_seconds=0.5 if THREADS > 1 else 0.0)
            assert_identical(fitted["sparse"].predict(Xs), fitted["dense"].predict(Xd),
                             f"sweep density {density} batch {batch}: Sequential.predict")
            steps = E * -(-n // batch)
            entries.append({"density": data["density"], "nnz_per_row_mean": data["nnz_per_row_mean"],
                            "floor": nnz_per_row > 0, "n_samples": n, "batch_size": batch, "epochs": E,
                            "steps": steps, "sparse_seconds": best["sparse"], "dense_seconds": best["dense"],
                            "sparse_ms_per_step": 1e3 * best["sparse"] / steps,
                            "dense_ms_per_step": 1e3 * best["dense"] / steps,
                            "dense / sparse": best["dense"] / best["sparse"], "densify_seconds": densify_s,
                            "sparse_cpu_seconds": CPU_SECONDS["sparse"], "dense_cpu_seconds": CPU_SECONDS["dense"],
                            "load_average_1min": [load, os.getloadavg()[0]]})
            e = entries[-1]
            print(f"  sweep: {e['nnz_per_row_mean']:6.1f} nnz/row, batch {batch}: sparse {e['sparse_ms_per_step']:.2f} "
                  f"ms/step, dense {e['dense_ms_per_step']:.2f} ms/step, dense/sparse {e['dense / sparse']:.2f}x "
                  f"(load {load:.1f} -> {os.getloadavg()[0]:.1f})", flush=True)
        del Xd
    return entries


def markdown(header, rows) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(map(str, row)) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    _common.add_common_args(parser)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1, help="epochs per fit (max_iter), default 1")
    parser.add_argument("--samples", type=int, default=10_000, help="documents in the main comparison")
    parser.add_argument("--density", type=float, default=0.01, help="mean fraction of non-zeros per row")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--sweep-samples", type=int, default=4000)
    parser.add_argument("--sweep-batches", type=lambda s: [int(b) for b in s.split(",")], default=[200, 512])
    parser.add_argument("--no-sweep", action="store_true")
    parser.add_argument("--no-sequential", action="store_true", help="skip the fm.Sequential rows")
    parser.add_argument("--quick", action="store_true", help="2,000 documents (sweep 1,000), 1 repeat")
    args = parser.parse_args()
    info = _common.start(THREADS, CPUS, args.peak_gflops)
    repeats = 1 if args.quick else args.repeats
    load = {"before": os.getloadavg()}
    main_result = main_comparison(args, repeats)
    load["after_main"] = os.getloadavg()
    sweep_result = [] if args.no_sweep else sweep(args, repeats)
    load["after_sweep"] = os.getloadavg()

    m, E = main_result, main_result["epochs"]
    data = m["data"]
    print(f"\n{data['n_samples']:,} x {N_FEATURES:,} TF-IDF, {data['nnz_per_row_mean']:.0f} non-zeros per row "
          f"({100 * data['density']:.2f}%), hidden {HIDDEN} relu, adam 1e-3, batch {m['batch_size']}, "
          f"{E} epoch(s) per fit, best of {repeats}, {THREADS} thread(s); toarray() {m['densify']['seconds']:.2f} s "
          f"(not counted), dense X {m['densify']['dense_mib']:.0f} MiB vs sparse {m['densify']['sparse_mib']:.1f} MiB; "
          f"load average (1 min) {load['before'][0]:.1f} before, {load['after_main'][0]:.1f} after\n")
    steps = E * -(-data["n_samples"] // m["batch_size"])
    ref = {"Sequential dense": "Sequential sparse", "Sequential sparse": "Sequential sparse"}
    rows = []
    for name, r in m["results"].items():
        base = m["results"][ref.get(name, "fm sparse")]["best_fit_seconds"]
        rows.append([name, f"{r['seconds_per_epoch']:.3f}", f"{1e3 * r['best_fit_seconds'] / steps:.1f}",
                     f"{r['samples_per_s']:,.0f}", f"{r['train_accuracy']:.4f}",
                     f"{r['best_fit_seconds'] / base:.2f}× {ref.get(name, 'fm sparse')}",
                     f"{r['cpu_share_of_best']:.2f}"])
    markdown(["contender", "s / epoch", "ms / step (fit / steps)", "samples/s", "train accuracy", "time vs",
              "CPU / wall"], rows)
    if sweep_result:
        print(f"\nsweep: fm.Sequential.fit (clock around fit only), {sweep_result[0]['n_samples']:,} documents, "
              f"{E} epoch(s), best of {repeats}; floor = 1 non-zero per row\n")
        markdown(["non-zeros / row", "density", "batch", "sparse ms/step", "dense ms/step", "dense / sparse", "load"],
                 [[("floor: " if e["floor"] else "") + f"{e['nnz_per_row_mean']:.1f}", f"{100 * e['density']:.2f}%",
                   e["batch_size"], f"{e['sparse_ms_per_step']:.2f}", f"{e['dense_ms_per_step']:.2f}",
                   f"{e['dense / sparse']:.2f}×", f"{e['load_average_1min'][0]:.1f}-{e['load_average_1min'][1]:.1f}"]
                  for e in sweep_result])
    path = _common.write_json(args.results_dir, f"sparse_{THREADS}t.json",
                              {"machine": info, "threads": THREADS, "repeats": repeats, "load_average": load,
                               "main": main_result,
                               "sweep": sweep_result})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
