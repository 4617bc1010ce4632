"""How many threads fastmlp starts, and who may change it: FASTMLP_NUM_THREADS, OMP_NUM_THREADS and the
affinity mask at import, threadpoolctl's threadpool_info / threadpool_limits, and scikit-learn's
GridSearchCV(n_jobs=2), whose joblib workers must get their share of the cores, not all of them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastmlp as fm

threadpoolctl = pytest.importorskip("threadpoolctl")

_THREAD_VARS = ("FASTMLP_NUM_THREADS", "OMP_NUM_THREADS")


def _cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _run(code: str, **env_vars: str) -> subprocess.CompletedProcess[str]:
    """Runs code in a fresh interpreter whose environment has exactly the thread variables given."""
    env = {k: v for k, v in os.environ.items() if k not in _THREAD_VARS}
    env.update(env_vars)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True,
                          text=True, timeout=120)


def _threads_at_import(**env_vars: str) -> int:
    child = _run("import fastmlp as fm; print(fm.get_num_threads())", **env_vars)
    assert child.returncode == 0, child.stderr
    return int(child.stdout.split()[-1])


# ------------------------------------------------------------------------------ at import
@pytest.mark.parametrize("omp, expected", [("1", 1), ("3", 3), (" 2 ", 2), ("3,1", 3), ("1,4,2", 1)])
def test_omp_num_threads_sizes_the_pool_at_import(omp, expected):
    # joblib's process workers start with OMP_NUM_THREADS = cpu_count // n_jobs; OpenMP reads the
    # first entry of a list (threads of the outermost nesting level).
    assert _threads_at_import(OMP_NUM_THREADS=omp) == expected


def test_fastmlp_num_threads_wins_over_omp_num_threads():
    assert _threads_at_import(FASTMLP_NUM_THREADS="3", OMP_NUM_THREADS="1") == 3
    assert _threads_at_import(FASTMLP_NUM_THREADS="1", OMP_NUM_THREADS="3") == 1


def test_without_variables_the_pool_has_one_thread_per_cpu_of_the_affinity_mask():
    assert _threads_at_import() == _cpus()
    assert _threads_at_import(FASTMLP_NUM_THREADS="", OMP_NUM_THREADS=" ") == _cpus()  # empty = unset


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs os.sched_setaffinity")
def test_a_process_pinned_to_one_cpu_starts_one_thread():
    # taskset -c 0 python ..., or a container limited to one CPU by its cpuset
    child = _run("""
        import os
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        import fastmlp as fm
        print(fm.get_num_threads())
    """)
    assert child.returncode == 0, child.stderr
    assert child.stdout.split()[-1] == "1"


@pytest.mark.parametrize("bad", ["0", "-1", "two", "2x", "1.5", "1025", "99999999999999999999"])
def test_an_invalid_omp_num_threads_is_ignored_with_a_warning(bad):
    # OMP_NUM_THREADS belongs to OpenMP too: fastmlp does not refuse to import over it (libgomp
    # also warns and ignores it), it says so and uses the CPUs available.
    child = _run("""
        import warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import fastmlp as fm
        print(fm.get_num_threads())
        print([(w.category.__name__, str(w.message)) for w in caught])
    """, OMP_NUM_THREADS=bad)
    assert child.returncode == 0, child.stderr
    threads, caught = child.stdout.strip().splitlines()[-2:]
    assert int(threads) == _cpus()
    assert "RuntimeWarning" in caught
    assert f"OMP_NUM_THREADS='{bad}' is ignored by fastmlp" in caught
    assert "a whole number from 1 to 1024" in caught
    assert "FASTMLP_NUM_THREADS" in caught  # how to set fastmlp's count alone


def test_an_invalid_omp_num_threads_does_not_matter_when_fastmlp_num_threads_is_set():
    child = _run("import fastmlp as fm; print(fm.get_num_threads())", FASTMLP_NUM_THREADS="2",
                 OMP_NUM_THREADS="many")
    assert child.returncode == 0, child.stderr
    assert child.stdout.split()[-1] == "2"
    assert "Warning" not in child.stderr


@pytest.mark.parametrize("bad", ["0", "-1", "two", "2x", "1.5", "1025"])
def test_an_invalid_fastmlp_num_threads_fails_the_import_naming_it(bad):
    # fastmlp's own variable, like FASTMLP_ISA: asked for explicitly, so not silently replaced.
    child = _run("import fastmlp", FASTMLP_NUM_THREADS=bad, OMP_NUM_THREADS="1")
    assert child.returncode != 0
    assert f"FASTMLP_NUM_THREADS='{bad}' must be a whole number from 1 to 1024" in child.stderr
    assert "unset it" in child.stderr


# ------------------------------------------------------------------------------ threadpoolctl
def _fastmlp_pools():
    return [info for info in threadpoolctl.threadpool_info() if info["internal_api"] == "fastmlp"]


@pytest.fixture
def two_threads():
    previous = fm.get_num_threads()
    fm.set_num_threads(2)
    yield
    fm.set_num_threads(previous)


def test_threadpool_info_lists_fastmlps_pool(two_threads):
    from fastmlp import _core

    pools = _fastmlp_pools()
    assert len(pools) == 1
    (pool,) = pools
    assert pool["user_api"] == "fastmlp"
    assert pool["num_threads"] == 2
    assert pool["version"] == fm.__version__
    assert os.path.samefile(pool["filepath"], _core.__file__)
    fm.set_num_threads(3)
    assert _fastmlp_pools()[0]["num_threads"] == 3


@pytest.mark.parametrize("user_api", [None, "fastmlp"])
def test_threadpool_limits_sets_the_pool_and_restores_it(two_threads, user_api):
    with threadpoolctl.threadpool_limits(limits=1, user_api=user_api):
        assert fm.get_num_threads() == 1
        assert _fastmlp_pools()[0]["num_threads"] == 1
    assert fm.get_num_threads() == 2
    with threadpoolctl.threadpool_limits(limits=3, user_api=user_api):
        assert fm.get_num_threads() == 3
    assert fm.get_num_threads() == 2


def test_threadpool_limits_as_a_decorator_and_by_library(two_threads):
    @threadpoolctl.threadpool_limits.wrap(limits=1)
    def inside():
        return fm.get_num_threads()

    assert inside() == 1
    assert fm.get_num_threads() == 2
    controller = threadpoolctl.ThreadpoolController()
    with controller.select(internal_api="fastmlp").limit(limits=1):
        assert fm.get_num_threads() == 1
    assert fm.get_num_threads() == 2


def test_limits_on_other_apis_leave_the_pool_alone(two_threads):
    # scikit-learn wraps some of its own loops in threadpool_limits(limits=1, user_api="blas")
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        assert fm.get_num_threads() == 2
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert fm.get_num_threads() == 2


def test_training_inside_threadpool_limits_gives_the_same_bits(two_threads):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((600, 40)).astype(np.float32)
    y = rng.integers(0, 5, 600)

    def train():
        model = fm.Sequential([fm.Dense(300, activation="relu"), fm.Dense(5)], input_dim=40, seed=1)
        model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-3))
        model.fit(X, y, epochs=2, batch_size=200, verbose=0)
        return [p.copy() for p in model.parameters()]

    free = train()
    with threadpoolctl.threadpool_limits(limits=1):
        limited = train()
    assert all(np.array_equal(a, b) for a, b in zip(free, limited))


# ------------------------------------------------------------------------------ scikit-learn
_GRID_SEARCH_CHILD = """
    import json
    import numpy as np
    from sklearn.model_selection import GridSearchCV
    import fastmlp as fm
    from fastmlp.sklearn import MLPClassifier

    def threads(estimator, X, y):  # a "score": the worker's pool size while it evaluates
        return float(fm.get_num_threads())

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4)).astype(np.float32)
    y = np.arange(60) % 2
    search = GridSearchCV(MLPClassifier((4,), max_iter=2, random_state=0), {"alpha": [1e-4, 1e-3]},
                          cv=2, n_jobs=2, scoring=threads)
    search.fit(X, y)
    print(json.dumps({"parent": fm.get_num_threads(),
                      "workers": sorted(set(search.cv_results_["mean_test_score"].tolist()))}))
"""


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_workers_share_the_cores_instead_of_each_taking_all():
    pytest.importorskip("sklearn")
    from joblib import cpu_count

    child = _run(_GRID_SEARCH_CHILD)
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert result["parent"] == _cpus()
    assert result["workers"] == [float(max(1, cpu_count() // 2))]  # joblib's OMP_NUM_THREADS


def test_importing_fastmlp_starts_no_thread():
    """The pool starts at first use: a process that forks after `import fastmlp` forks a single
    thread (a multi-threaded fork can deadlock, and Python 3.12 warns about it)."""
    result = _run("""
        import os
        import fastmlp as fm
        before = len(os.listdir("/proc/self/task"))
        fm.get_num_threads()
        print(before, len(os.listdir("/proc/self/task")))
    """, FASTMLP_NUM_THREADS="3", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "3"]
