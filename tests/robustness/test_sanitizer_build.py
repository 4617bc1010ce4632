"""The sanitizer pass of .ci/run must really run an instrumented extension.

If the instrumented build silently fell back to a plain one (a cache, a flag that did not reach
the compiler), the second run of the suite would prove nothing; this test makes that a failure.
"""
import os
from pathlib import Path

import pytest

import fastmlp._core as core

pytestmark = pytest.mark.skipif(not os.environ.get("FASTMLP_UNDER_SANITIZER"),
                                reason="only meaningful in the sanitizer pass of .ci/run")


def test_extension_is_built_with_address_and_undefined_sanitizers() -> None:
    binary = Path(core.__file__).read_bytes()
    assert b"__asan_report_load" in binary
    assert b"__ubsan_handle_" in binary


def test_asan_runtime_is_loaded_in_this_process() -> None:
    maps = Path("/proc/self/maps").read_text()
    assert "libasan" in maps
