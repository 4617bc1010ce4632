"""The thread pool and runtime settings: thread counts, forked children, bad arguments."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastmlp as fm


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_set_num_threads_rejects_non_positive_integers(bad):
    with pytest.raises(ValueError, match=r"\bn\b"):
        fm.set_num_threads(bad)


def test_thread_count_round_trips_and_changes_do_not_change_results():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((301, 257)).astype(np.float32)
    b = rng.standard_normal((257, 263)).astype(np.float32)
    results = []
    for n in (1, 3, 2, 1, 2):
        fm.set_num_threads(n)
        assert fm.get_num_threads() == n
        results.append(fm.matmul(a, b))
    for r in results[1:]:
        assert np.array_equal(r, results[0])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_can_use_the_thread_pool():
    fm.set_num_threads(2)
    rng = np.random.default_rng(6)
    a = rng.standard_normal((400, 300)).astype(np.float32)
    b = rng.standard_normal((300, 200)).astype(np.float32)
    expected = fm.matmul(a, b)  # starts the parent's workers before the fork
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report through the pipe, never return into pytest
        ok = False
        try:
            ok = np.array_equal(fm.matmul(a, b), expected) and fm.get_num_threads() == 2
            fm.set_num_threads(1)
            ok = ok and np.array_equal(fm.matmul(a, b), expected)
        finally:
            os.write(write_fd, b"1" if ok else b"0")
            os._exit(0)
    os.close(write_fd)
    _, status = os.waitpid(pid, 0)
    answer = os.read(read_fd, 1)
    os.close(read_fd)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert answer == b"1"
    assert np.array_equal(fm.matmul(a, b), expected)  # the parent's pool still works


@pytest.mark.parametrize("n", [1, 7, 4095, 4096, 4097, 10007])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_all_finite_finds_one_bad_value_anywhere(n, bad):
    from fastmlp import _core

    base = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    base[0] = np.finfo(np.float32).max  # large and tiny finite values are fine
    base[-1] = np.finfo(np.float32).smallest_subnormal
    assert _core.all_finite(base)
    for pos in sorted({0, n // 2, n - 1}):
        x = base.copy()
        x[pos] = bad
        assert not _core.all_finite(x), pos


_THREAD_LIMIT_CHILD = textwrap.dedent("""
    import resource
    import numpy as np
    import fastmlp as fm

    fm.set_num_threads(2)
    vm = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmSize:"))
    # Address space for a few dozen more 8 MiB thread stacks, far fewer than 1000.
    limit = vm + 256 * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        fm.set_num_threads(1000)
    except RuntimeError as e:
        print("error:", e)
    print("threads:", fm.get_num_threads())
    a = np.random.default_rng(0).random((600, 600), dtype=np.float32)
    print("max error:", float(np.abs(fm.matmul(a, a) - a.astype(np.float64) @ a).max()))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and RLIMIT_AS")
@pytest.mark.skipif(bool(os.environ.get("FASTMLP_UNDER_SANITIZER")),
                    reason="AddressSanitizer's shadow memory cannot run under an address-space limit")
def test_a_thread_count_the_system_refuses_keeps_the_previous_pool_working():
    # A failed resize once left the pool counting threads it did not have: the next parallel
    # matmul then waited forever for them.
    child = subprocess.run([sys.executable, "-c", _THREAD_LIMIT_CHILD], capture_output=True, text=True,
                           timeout=60)
    assert child.returncode == 0, child.stderr
    assert "error: could not start 1000 threads" in child.stdout
    assert "fastmlp still uses 2" in child.stdout
    assert "threads: 2" in child.stdout
    max_error = float(child.stdout.split("max error:")[1])
    assert max_error < 600 * 600 * np.finfo(np.float32).eps  # K * eps * max sum of |a||b|
