"""Bit-for-bit reproducibility: the same seed gives exactly the same weights (np.array_equal on
every tensor of ``parameters()``) and predictions after ``fit``

- when the same training is run twice in one process,
- with 1, 2 and 3 kernel threads (the GEMM splits output rows/columns among threads but every
  element keeps the same reduction order; the big model's ~790k parameters are also enough for the
  optimizer update to be split, at 2^16 parameters per thread),
- in separate Python processes (``FASTMLP_NUM_THREADS`` 1 and 2), compared through ``.npz`` files,
- with the AVX2 and the AVX-512 GEMM kernel (``FASTMLP_ISA``), on a CPU that has both,

for two tiny models and for one large enough that the GEMM really runs on two threads: its
threshold is 64^3 multiply-adds per thread (cpp/gemm/gemm.cpp), and the big model's products are
128x1024x512 (256 * 64^3) and 128x512x512 (128 * 64^3); ``test_big_model_really_uses_a_second_thread``
checks that the pool worker does run. A different seed must give different weights, so these
tests can fail. Dropout, shuffling and the initial weights all come from the seed.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastmlp as fm

# name -> (input_dim, layers, loss, optimizer, n samples, batch, epochs)
CONFIGS = {
    "tiny": dict(input_dim=20, hidden=[(32, "relu"), ("dropout", 0.2), (16, "tanh")], out=3,
                 loss="cross_entropy", opt=("sgd", dict(lr=0.05, momentum=0.9, nesterov=True)),
                 n=200, batch=16, epochs=3),
    "big": dict(input_dim=1024, hidden=[(512, "relu"), ("dropout", 0.1), (512, "sigmoid")], out=10,
                loss="cross_entropy", opt=("adam", dict(lr=1e-3)), n=512, batch=128, epochs=2),
    "tiny_mse": dict(input_dim=7, hidden=[(24, "tanh")], out=2, loss="mse",
                     opt=("adam", dict(lr=1e-2, weight_decay=1e-3)), n=101, batch=10, epochs=2),
}

def make_data(cfg):
    rng = np.random.default_rng(1234)
    X = rng.standard_normal((cfg["n"], cfg["input_dim"])).astype(np.float32)
    if cfg["loss"] == "cross_entropy":
        y = rng.integers(0, cfg["out"], cfg["n"])
    else:
        y = rng.standard_normal((cfg["n"], cfg["out"])).astype(np.float32)
    return X, y


def train(cfg, seed):
    layers = []
    for spec in cfg["hidden"]:
        if spec[0] == "dropout":
            layers.append(fm.Dropout(spec[1]))
        else:
            layers.append(fm.Dense(spec[0], activation=spec[1]))
    layers.append(fm.Dense(cfg["out"]))
    model = fm.Sequential(layers, input_dim=cfg["input_dim"], seed=seed)
    name, kwargs = cfg["opt"]
    opt = fm.optim.Adam(**kwargs) if name == "adam" else fm.optim.SGD(**kwargs)
    model.compile(loss=cfg["loss"], optimizer=opt)
    X, y = make_data(cfg)
    model.fit(X, y, epochs=cfg["epochs"], batch_size=cfg["batch"], shuffle=True, verbose=0)
    return [p.copy() for p in model.parameters()], model.predict(X)


# The child process runs the very same two functions.
CHILD = "\n".join([
    "import json, sys",
    "import numpy as np",
    "import fastmlp as fm",
    inspect.getsource(make_data),
    inspect.getsource(train),
    textwrap.dedent(
        """
        cfg, seed, out = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
        params, pred = train(cfg, seed)
        np.savez(out, pred=pred, isa=np.array(fm.get_isa()), threads=np.array(fm.get_num_threads()),
                 **{f"p{i}": p for i, p in enumerate(params)})
        """
    ),
])


def assert_bit_identical(a, b):
    assert len(a) == len(b)
    for i, (x, y) in enumerate(zip(a, b)):
        assert x.dtype == y.dtype == np.float32 and x.shape == y.shape, i
        assert np.array_equal(x, y), f"tensor {i} differs: max |diff| {np.max(np.abs(x - y))}"


@pytest.fixture
def restore_threads():
    before = fm.get_num_threads()
    try:
        yield
    finally:
        fm.set_num_threads(before)


def _worker_cpu_ticks():
    """CPU ticks (user + system) of every thread of this process except the main one (Linux)."""
    ticks = {}
    for tid in os.listdir("/proc/self/task"):
        if int(tid) == os.getpid():
            continue
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        ticks[tid] = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_same_seed_same_weights_in_one_process(name):
    first, pred1 = train(CONFIGS[name], seed=7)
    second, pred2 = train(CONFIGS[name], seed=7)
    assert_bit_identical(first, second)
    assert np.array_equal(pred1, pred2)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_different_seed_different_weights(name):
    a, _ = train(CONFIGS[name], seed=7)
    b, _ = train(CONFIGS[name], seed=8)
    assert all(not np.array_equal(x, y) for x, y in zip(a, b))


def test_training_changes_the_weights():
    """The comparisons above are not of untouched initial weights."""
    cfg = CONFIGS["big"]
    trained, _ = train(cfg, seed=7)
    initial = fm.Sequential([fm.Dense(512, activation="relu"), fm.Dropout(0.1), fm.Dense(512, activation="sigmoid"),
                             fm.Dense(10)], input_dim=cfg["input_dim"], seed=7).parameters()
    assert all(not np.array_equal(x, y) for x, y in zip(trained, initial))


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_one_and_two_threads_give_the_same_weights(name, restore_threads):
    fm.set_num_threads(1)
    one, pred1 = train(CONFIGS[name], seed=3)
    fm.set_num_threads(2)
    two, pred2 = train(CONFIGS[name], seed=3)
    fm.set_num_threads(3)  # an odd split of the tiles
    three, pred3 = train(CONFIGS[name], seed=3)
    assert_bit_identical(one, two)
    assert_bit_identical(one, three)
    assert np.array_equal(pred1, pred2) and np.array_equal(pred1, pred3)


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads per-thread CPU time from /proc (Linux)")
def test_big_model_really_uses_a_second_thread(restore_threads):
    """Guards the thread test above: the big model's GEMMs are above the threshold, so a pool
    worker thread does part of the work (its CPU time grows during fit)."""
    fm.set_num_threads(1)  # no pool worker
    others = set(_worker_cpu_ticks())  # e.g. OpenBLAS's threads, which may spin after a NumPy call
    fm.set_num_threads(2)  # starts one pool worker: the only new thread
    before = {tid: t for tid, t in _worker_cpu_ticks().items() if tid not in others}
    assert len(before) == 1, before
    cfg = dict(CONFIGS["big"], n=1024, epochs=3)
    train(cfg, seed=3)
    after = _worker_cpu_ticks()
    grown = {tid: after[tid] - t for tid, t in before.items()}
    assert any(v > 0 for v in grown.values()), f"the pool worker did not run: {grown}"


def _run_child(tmp_path, name, seed, threads, tag, isa=None):
    out = tmp_path / f"{name}-{tag}.npz"
    env = dict(os.environ, FASTMLP_NUM_THREADS=str(threads))
    if isa is not None:
        env["FASTMLP_ISA"] = isa
    return subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(CONFIGS[name]), str(seed), str(out)],
                            env=env), out


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_separate_processes_give_the_same_weights(name, tmp_path):
    mine, pred = train(CONFIGS[name], seed=11)
    children = [_run_child(tmp_path, name, 11, threads, f"t{threads}") for threads in (1, 2)]
    for proc, _ in children:
        assert proc.wait(timeout=120) == 0
    for threads, (_, out) in zip((1, 2), children):
        with np.load(out) as data:
            assert int(data["threads"]) == threads
            assert str(data["isa"]) == fm.get_isa()
            theirs = [data[f"p{i}"] for i in range(len(mine))]
            assert_bit_identical(mine, theirs)
            assert np.array_equal(data["pred"], pred)


@pytest.mark.skipif(fm.get_isa() != "avx512", reason="needs a CPU with AVX-512 (and FASTMLP_ISA not forcing another)")
@pytest.mark.parametrize("name", ["tiny", "big"])
def test_avx2_and_avx512_kernels_give_the_same_weights(name, tmp_path):
    """Both x86 GEMM kernels use fused multiply-adds and the same k-blocking (kc = 256), so each
    output element is rounded the same way. (The portable "generic" kernel does not fuse the
    multiply-add and gives different low bits: that is not covered by the guarantee.)"""
    children = [_run_child(tmp_path, name, 5, 2, isa, isa=isa) for isa in ("avx512", "avx2")]
    for proc, _ in children:
        assert proc.wait(timeout=120) == 0
    results = []
    for isa, (_, out) in zip(("avx512", "avx2"), children):
        with np.load(out) as data:
            assert str(data["isa"]) == isa
            n = sum(k[1:].isdigit() for k in data.files)
            results.append([data[f"p{i}"] for i in range(n)] + [data["pred"]])
    assert len(results[0]) > 2
    assert_bit_identical(*results)
