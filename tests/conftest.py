"""Shared fixtures. `reference.py` (the NumPy float64 oracle) and `torch_twin.py` (float64 PyTorch
copies of fastmlp models) sit next to this file; this folder goes on sys.path, so the test modules
in the folders below (kernels/, layers/, optim/, model/, io/, interop/, robustness/) import them as
plain modules."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fastmlp as fm  # noqa: E402


@pytest.fixture(autouse=True)
def _restore_num_threads():
    """Tests may change fastmlp's thread count; put it back afterwards."""
    before = fm.get_num_threads()
    yield
    if fm.get_num_threads() != before:
        fm.set_num_threads(before)

