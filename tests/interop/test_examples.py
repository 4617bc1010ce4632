"""The scripts in examples/ run as a user would run them (a subprocess, warnings as errors) and
print the results their docstrings promise."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import pytest

ROOT = Path(__file__).resolve().parents[2]  # tests/interop/ -> the repository root
EXAMPLES = ROOT / "examples"
SCRIPTS = ["digits_classification.py", "diabetes_regression.py", "custom_train_step.py", "sklearn_grid_search.py"]
# Each example runs in well under 20 s on a quiet machine; the bound leaves room for a loaded one.
# Under the sanitizer build (FASTMLP_UNDER_SANITIZER, inherited by the subprocess) only the
# results are checked.
TIME_LIMIT_S = 60.0


def _run(script: str, *args: str) -> str:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-W", "error", str(EXAMPLES / script), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    elapsed = time.perf_counter() - start
    assert out.returncode == 0, f"{script} failed:\n{out.stdout}\n{out.stderr}"
    assert out.stderr == "", out.stderr
    if not os.environ.get("FASTMLP_UNDER_SANITIZER"):
        assert elapsed < TIME_LIMIT_S, f"{script} took {elapsed:.1f} s"
    return out.stdout


def _values(stdout: str) -> Dict[str, float]:
    """{"test accuracy": 0.97, ...} from lines "name: number" of the output."""
    found: Dict[str, float] = {}
    for line in stdout.splitlines():
        match = re.fullmatch(r"([A-Za-z0-9 -]+): (-?[0-9]+\.[0-9]+)", line.strip())
        if match:
            found[match.group(1)] = float(match.group(2))
    return found


def _requires_sklearn() -> None:
    pytest.importorskip("sklearn")


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_has_a_docstring_saying_what_and_how(script: str) -> None:
    source = (EXAMPLES / script).read_text(encoding="utf-8")
    doc = ast.get_docstring(ast.parse(source))
    assert doc is not None and len(doc.split()) > 30
    assert f"python examples/{script}" in doc
    assert "if __name__ == \"__main__\":" in source


def test_examples_folder_holds_exactly_these() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(SCRIPTS)


def test_digits_classification(tmp_path: Path) -> None:
    _requires_sklearn()
    args: List[str] = []
    plot = tmp_path / "digits.png"
    has_matplotlib = importlib.util.find_spec("matplotlib") is not None
    if has_matplotlib:
        args = ["--plot", str(plot)]
    stdout = _run("digits_classification.py", *args)
    values = _values(stdout)
    assert stdout.strip().splitlines()[-1].startswith("test accuracy: ")
    assert values["test accuracy"] > 0.95, stdout
    assert values["test macro F1"] > 0.95, stdout
    assert "confusion matrix" in stdout and "Total params: 17,226" in stdout
    if has_matplotlib:
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_diabetes_regression() -> None:
    _requires_sklearn()
    stdout = _run("diabetes_regression.py")
    values = _values(stdout)
    assert 20.0 < values["test MAE"] < 50.0, stdout  # the target spans 25..346
    assert values["test R2"] > 0.3, stdout
    baseline = re.search(r"linear regression baseline: MAE ([0-9.]+), R2 ([0-9.-]+)", stdout)
    assert baseline is not None, stdout
    assert values["test R2"] > float(baseline.group(2)) - 0.1, stdout


def test_custom_train_step() -> None:
    stdout = _run("custom_train_step.py")
    values = _values(stdout)
    assert values["test accuracy"] > 0.95, stdout
    assert values["test loss"] < 0.2, stdout
    # the learning-rate rule ran: warm-up to 0.01 by step 100, then decay (epoch 60 ~ 0.0024)
    lrs = [float(m) for m in re.findall(r"lr ([0-9.]+)", stdout)]
    assert len(lrs) == 7 and lrs[0] < lrs[1] and lrs[1] > lrs[-1] and abs(lrs[-1] - 0.01 * (100 / 1740) ** 0.5) < 1e-4
    assert "1740 steps" in stdout


def test_sklearn_grid_search() -> None:
    _requires_sklearn()
    stdout = _run("sklearn_grid_search.py")
    values = _values(stdout)
    assert values["test accuracy"] > 0.9, stdout
    assert values["best cross-validated accuracy"] > 0.9, stdout
    assert "8 candidates x 3 folds" in stdout
    assert len(re.findall(r"^  alpha=", stdout, flags=re.M)) == 8
