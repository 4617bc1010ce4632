"""README command 1 runs `python -m fastmlp.demo`: it must train, report accuracy and speed, and
save its training curves."""

import re
import subprocess
import sys

import pytest


def test_demo_trains_reports_and_plots(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    png = tmp_path / "curves.png"
    result = subprocess.run([sys.executable, "-W", "error", "-m", "fastmlp.demo", "--epochs", "8", "--plot", str(png)],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    accuracy = float(re.search(r"test accuracy: ([0-9.]+)", result.stdout).group(1))
    assert accuracy > 0.9
    assert re.search(r"\(([0-9,]+) samples/s", result.stdout)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
