"""fastmlp's thread count: get/set, and a threadpoolctl controller for the pool.

The pool is sized at import (C++, ``initial_thread_count``): ``FASTMLP_NUM_THREADS``, else the first
entry of ``OMP_NUM_THREADS``, else the CPUs in the process's affinity mask. joblib's process workers
(scikit-learn's ``GridSearchCV(n_jobs=...)``, ``cross_validate``) start with ``OMP_NUM_THREADS`` set to
``cpu_count() // n_jobs``, so each worker's pool gets its share of the cores.

When threadpoolctl is installed (scikit-learn depends on it), importing fastmlp registers
``FastmlpController``: ``threadpool_info()`` lists the pool (``user_api`` and ``internal_api``
"fastmlp"), ``threadpool_limits(limits=n)`` (every library) and ``threadpool_limits(limits=n,
user_api="fastmlp")`` (fastmlp alone) resize it and restore it on exit. The user_api is fastmlp's
own, not "openmp" or "blas": the pool is neither, and scikit-learn's internal
``threadpool_limits(limits=1, user_api="blas")`` (around its own parallel loops) must not shrink it.
"""

from __future__ import annotations

import ctypes
from typing import Any, Optional

from . import _core
from ._validation import MAX_THREADS, positive_int

__all__ = ["get_num_threads", "set_num_threads"]


def get_num_threads() -> int:
    """Threads fastmlp's kernels use, the calling thread included.

    At import: ``FASTMLP_NUM_THREADS``, else the first entry of ``OMP_NUM_THREADS``, else the CPUs
    this process may run on (its affinity mask). ``threadpoolctl.threadpool_limits`` changes it
    for the duration of its ``with`` block."""
    return int(_core.get_num_threads())


def set_num_threads(n: int) -> None:
    """Sets the threads fastmlp's kernels use (1 to 1024). Results do not depend on it.

    Raises RuntimeError when the system cannot start that many threads (a process or memory
    limit); the pool then keeps its previous size."""
    _core.set_num_threads(positive_int("n", n, maximum=MAX_THREADS))


# The extern "C" functions of cpp/bindings/bind_runtime.cpp, exported by the extension.
_GET_SYMBOL = "fastmlp_get_num_threads"
_SET_SYMBOL = "fastmlp_set_num_threads"


def _register_threadpoolctl() -> bool:
    """Registers FastmlpController with threadpoolctl when it can be imported (>= 3.0, which has
    ``register``). Returns whether it did."""
    try:
        import threadpoolctl
        from threadpoolctl import LibController, register
    except ImportError:
        return False

    class FastmlpController(LibController):  # type: ignore[misc]  # threadpoolctl is untyped
        """threadpoolctl's handle on fastmlp's thread pool (see the module docstring)."""

        user_api = "fastmlp"
        internal_api = "fastmlp"
        # threadpoolctl matches loaded libraries by file name first, then requires one of
        # check_symbols: "_core" alone would match other packages' extensions.
        filename_prefixes = ("_core",)
        check_symbols = (_GET_SYMBOL, _SET_SYMBOL)

        def _function(self, name: str) -> Optional[Any]:
            function = getattr(self.dynlib, name, None)
            if function is not None:
                function.restype = ctypes.c_int
                function.argtypes = [ctypes.c_int] if name == _SET_SYMBOL else []
            return function

        def get_num_threads(self) -> Optional[int]:
            function = self._function(_GET_SYMBOL)
            return None if function is None else int(function())

        def set_num_threads(self, num_threads: int) -> Optional[int]:
            # Clamped to [1, 1024] in C++; the system refusing threads keeps the previous size.
            function = self._function(_SET_SYMBOL)
            return None if function is None else int(function(int(num_threads)))

        def get_version(self) -> Optional[str]:
            # Called before threadpoolctl checks check_symbols, so also on other "_core" files.
            if self._function(_GET_SYMBOL) is None:
                return None
            from . import __version__

            return __version__

    if any(getattr(c, "internal_api", None) == "fastmlp" for c in getattr(threadpoolctl, "_ALL_CONTROLLERS", ())):
        return True  # registered by an earlier import (importlib.reload)
    register(FastmlpController)
    return True
