"""FASTMLP_ISA=avx512|avx2|generic forces the GEMM kernel at import. Each path runs in a fresh
interpreter: GEMM results (all transposes, odd shapes) against float64 NumPy, and a short training
run against the reference SGD trajectory."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import reference as ref

ISAS = ("avx512", "avx2", "generic")
SUPPORTED = {"avx512": {"avx512", "avx2", "generic"}, "avx2": {"avx2", "generic"}, "generic": {"generic"}}

GEMM_CASES = [  # (m, n, k, trans_a, trans_b)
    (1, 1, 1, False, False),
    (7, 13, 17, False, True),
    (33, 31, 65, True, False),
    (65, 17, 129, True, True),
    (129, 63, 16, False, False),
    (2, 257, 3, False, False),
    # A of more than 256^2 elements: the packed path (smaller ones are read in place), k over
    # two slices of 256
    (300, 45, 270, False, True),
    (257, 70, 300, True, False),
]

CHILD = r"""
import json, sys
import numpy as np
import fastmlp as fm
from fastmlp import _core

out_path, cases = sys.argv[1], json.loads(sys.argv[2])
result = {"isa": fm.get_isa()}
arrays = {}
for i, (m, n, k, ta, tb) in enumerate(cases):
    rng = np.random.default_rng(i)
    a = rng.uniform(-1, 1, (k, m) if ta else (m, k)).astype(np.float32)
    b = rng.uniform(-1, 1, (n, k) if tb else (k, n)).astype(np.float32)
    c = np.full((m, n), np.nan, dtype=np.float32)
    _core.gemm(a, b, c, trans_a=ta, trans_b=tb)
    arrays[f"a{i}"], arrays[f"b{i}"], arrays[f"c{i}"] = a, b, c
    if not ta and not tb:
        arrays[f"mm{i}"] = fm.matmul(a, b)

rng = np.random.default_rng(100)
X = rng.standard_normal((40, 9)).astype(np.float32)
y = rng.integers(0, 3, size=40)
model = fm.Sequential([fm.Dense(17, activation="tanh"), fm.Dense(3)], input_dim=9, seed=5)
model.compile(loss="cross_entropy", optimizer=fm.optim.SGD(lr=0.1))
for j, p in enumerate(model.parameters()):
    arrays[f"init{j}"] = p.copy()
result["losses"] = [model.train_step(X[s:s + 8], y[s:s + 8]) for s in range(0, 40, 8)]
for j, p in enumerate(model.parameters()):
    arrays[f"final{j}"] = p.copy()
arrays["X"], arrays["y"] = X, y
np.savez(out_path, **arrays)
print("RESULT " + json.dumps(result), flush=True)
"""


def _env(isa=None):
    env = {k: v for k, v in os.environ.items() if k != "FASTMLP_ISA"}
    if isa is not None:
        env["FASTMLP_ISA"] = isa
    return env


@pytest.fixture(scope="module")
def native_isa():
    proc = subprocess.run([sys.executable, "-c", "import fastmlp as fm; print(fm.get_isa())"],
                          env=_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    isa = proc.stdout.strip().splitlines()[-1]
    assert isa in ISAS
    return isa


def test_native_isa_is_consistent_with_the_cpu(native_isa):
    if not sys.platform.startswith("linux") or not os.path.exists("/proc/cpuinfo"):
        pytest.skip("CPU flags are read from /proc/cpuinfo")
    with open("/proc/cpuinfo") as f:
        flags = set()
        for line in f:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    if not flags:
        pytest.skip("no x86 flags line in /proc/cpuinfo")
    if native_isa == "avx512":
        assert "avx512f" in flags
    if native_isa == "avx2":
        assert "avx2" in flags and "fma" in flags
    if "avx2" not in flags:
        assert native_isa == "generic"


@pytest.mark.parametrize("isa", ISAS)
def test_forced_isa_gemm_and_training(isa, native_isa, tmp_path):
    if isa not in SUPPORTED[native_isa]:
        pytest.skip(f"this CPU's best kernel is {native_isa}; {isa} is not supported")
    out = tmp_path / "out.npz"
    proc = subprocess.run([sys.executable, "-c", CHILD, str(out), json.dumps(GEMM_CASES)],
                          env=_env(isa), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, proc.stdout + proc.stderr
    result = json.loads(lines[-1][len("RESULT "):])
    assert result["isa"] == isa

    data = np.load(out)
    for i, (m, n, k, ta, tb) in enumerate(GEMM_CASES):
        a, b, c = data[f"a{i}"], data[f"b{i}"], data[f"c{i}"]
        expected = ref.gemm(a, b, trans_a=ta, trans_b=tb)
        scale = ref.gemm_abs_scale(a, b, ta, tb)
        err = np.abs(c.astype(np.float64) - expected)
        assert np.all(np.isfinite(c))
        assert np.all(err <= (1e-6 * np.sqrt(k) + 2e-6) * scale + 1e-7), f"case {i}: max err {err.max():.3g}"
        if f"mm{i}" in data:
            np.testing.assert_array_equal(data[f"mm{i}"], c)

    # the short SGD run follows the float64 reference trajectory
    X, y = data["X"], data["y"]
    params = [data[f"init{j}"] for j in range(4)]
    sgd = ref.SGDRef(lr=0.1)
    expected_losses = []
    for s in range(0, 40, 8):
        layers = ref.layers_from_params(params, ["tanh", None])
        value, grads, _ = ref.mlp_loss_and_grads(layers, X[s:s + 8], y[s:s + 8], "cross_entropy")
        expected_losses.append(value)
        params = sgd.step(params, grads)
    np.testing.assert_allclose(result["losses"], expected_losses, rtol=1e-4, atol=1e-5)
    for j in range(4):
        np.testing.assert_allclose(data[f"final{j}"], params[j], rtol=1e-4, atol=1e-5)


def test_forced_isas_agree_with_each_other(native_isa, tmp_path):
    isas = sorted(SUPPORTED[native_isa])
    if len(isas) < 2:
        pytest.skip("only the generic kernel is available on this CPU")
    results = {}
    for isa in isas:
        out = tmp_path / f"{isa}.npz"
        proc = subprocess.run([sys.executable, "-c", CHILD, str(out), json.dumps(GEMM_CASES)],
                              env=_env(isa), capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
        results[isa] = json.loads(line[len("RESULT "):])["losses"]
    base = results[isas[0]]
    for isa in isas[1:]:
        np.testing.assert_allclose(results[isa], base, rtol=1e-5, atol=1e-6)
