"""Ctrl-C during fit: a child process trains a long job; SIGINT after ~1 s must surface as
KeyboardInterrupt within ~1 s, after which the model still predicts finite values."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT to a child process")

CHILD = r"""
import sys, time
import numpy as np
import fastmlp as fm

threads, verbose = int(sys.argv[1]), int(sys.argv[2])
fm.set_num_threads(threads)
rng = np.random.default_rng(0)
X = rng.standard_normal((4096, 129)).astype(np.float32)
y = rng.integers(0, 10, size=4096)
model = fm.Sequential([fm.Dense(257, activation="relu"), fm.Dropout(0.1), fm.Dense(129, activation="tanh"),
                       fm.Dense(10)], input_dim=129, seed=0)
model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-3), metrics=["accuracy"])
print("READY", flush=True)
try:
    model.fit(X, y, epochs=100000, batch_size=64, verbose=verbose)
    print("FINISHED", flush=True)
except KeyboardInterrupt:
    print("INTERRUPTED", flush=True)
out = model.predict(X[:17])
ok = out.shape == (17, 10) and bool(np.isfinite(out).all())
ok = ok and np.isfinite(model.evaluate(X[:65], y[:65])["loss"])
print("PREDICT_OK" if ok else "PREDICT_BAD", flush=True)
"""


def _reader(stream, lines, times):
    for line in stream:
        lines.append(line.strip())
        times.append(time.monotonic())


# verbose=1: the interrupt may arrive while the progress bar's Python code runs inside the epoch
@pytest.mark.parametrize("threads,verbose", [(1, 0), (2, 0), (1, 1)])
def test_sigint_interrupts_fit_and_model_stays_usable(threads, verbose):
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(threads), str(verbose)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    lines, times = [], []
    reader = threading.Thread(target=_reader, args=(proc.stdout, lines, times), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while "READY" not in lines and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        assert "READY" in lines, f"child did not start: {proc.stderr.read() if proc.poll() is not None else ''}"
        time.sleep(1.0)  # let fit get going
        assert proc.poll() is None, "the child exited before the signal"
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        while "INTERRUPTED" not in lines and time.monotonic() < sent + 10 and proc.poll() is None:
            time.sleep(0.005)
        proc.wait(timeout=30)
        reader.join(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    assert "FINISHED" not in lines, "fit ended before the interrupt: the job is too short"
    assert "INTERRUPTED" in lines, f"no KeyboardInterrupt caught; stdout={lines}, stderr={stderr[-2000:]}"
    elapsed = times[lines.index("INTERRUPTED")] - sent
    assert elapsed < 1.5, f"KeyboardInterrupt took {elapsed:.2f} s"
    assert "PREDICT_OK" in lines, f"stdout={lines}, stderr={stderr[-2000:]}"
    assert proc.returncode == 0, stderr[-2000:]
