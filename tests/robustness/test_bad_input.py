"""Bad inputs, catalogued: every case runs in its own Python process, so that a crash (segfault,
abort) or a hang fails one test instead of killing the test run. Each case names the exception
type it must raise and a fragment of its message (the argument and what was expected).

The second half (in-process) checks that acceptable but unusual inputs (strided, F-ordered,
read-only, float16/float64/integer arrays; batch sizes of 1 and larger than the data) give exactly
the results of their plain C-contiguous float32 equivalents.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastmlp as fm

# --------------------------------------------------------------------------- subprocess harness
# Shared by every case: numpy and fastmlp only (never torch), a little data and model factories.
PRELUDE = textwrap.dedent(
    """
    import numpy as np, fastmlp as fm

    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 4)).astype(np.float32)   # 8 samples, 4 features
    y = rng.integers(0, 3, size=8)                         # labels for 3 classes
    Y = rng.standard_normal((8, 2)).astype(np.float32)   # regression targets, 2 outputs

    def clf():
        "compiled classifier 4 -> 5 -> 3 (cross_entropy)"
        m = fm.Sequential([fm.Dense(5, activation="relu"), fm.Dense(3)], input_dim=4, seed=0)
        m.compile(loss="cross_entropy", optimizer="sgd", metrics=["accuracy"])
        return m

    def reg():
        "compiled regressor 4 -> 5 -> 2 (mse)"
        m = fm.Sequential([fm.Dense(5, activation="tanh"), fm.Dense(2)], input_dim=4, seed=0)
        m.compile(loss="mse", optimizer="adam", metrics=["mae"])
        return m

    def raw():
        "built (input_dim=4) but not compiled"
        return fm.Sequential([fm.Dense(5, activation="relu"), fm.Dense(3)], input_dim=4, seed=0)

    def lazy():
        "neither built (no input_dim) nor compiled"
        return fm.Sequential([fm.Dense(5, activation="relu"), fm.Dense(3)], seed=0)

    def bad(a, value, where=(2, 1)):
        "a float64 copy of `a` with one element replaced"
        a = np.array(a, dtype=np.float64)
        a[where] = value
        return a

    def f32(*shape):
        return np.ones(shape, dtype=np.float32)
    """
)

MARK = "@@FASTMLP-CASE@@"

RUNNER = PRELUDE + textwrap.dedent(
    f"""
    import json, sys, time
    _start = time.perf_counter()
    try:
        exec(compile(sys.argv[1], "<case>", "exec"), dict(globals()))
    except BaseException as exc:
        _result = {{"type": type(exc).__name__, "message": str(exc)}}
    else:
        _result = {{"type": None, "message": None}}
    _result["seconds"] = time.perf_counter() - _start
    print({MARK!r} + json.dumps(_result), flush=True)
    """
)

# A case's snippet must fail well within this (huge sizes are refused before allocating).
CASE_SECONDS = 10.0

# One kernel thread and one BLAS thread: starting thread pools is most of a short process's cost.
CASE_ENV = {**os.environ, "FASTMLP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def run_case(code: str, cwd) -> dict:
    """Runs `code` after PRELUDE in a fresh interpreter (warnings are errors there too) and returns
    {"type", "message", "seconds"} of the exception it raised (type None if none)."""
    try:
        proc = subprocess.run(
            [sys.executable, "-W", "error", "-c", RUNNER, code],
            capture_output=True, text=True, timeout=60, cwd=cwd, env=CASE_ENV,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the case hung (no answer in 60 s): {code}")
    assert proc.returncode == 0, (
        f"the interpreter crashed (return code {proc.returncode}) on: {code}\n"
        f"stdout:\n{proc.stdout[-2000:]}\nstderr:\n{proc.stderr[-2000:]}"
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
    assert len(lines) == 1, f"no result line from: {code}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return json.loads(lines[0][len(MARK):])


def case(id: str, code: str, exc, fragment):
    """exc: the exception's class name, or a tuple of acceptable names; fragment: a piece of the
    message, or a tuple of pieces that must all be in it."""
    return pytest.param(
        code,
        (exc,) if isinstance(exc, str) else tuple(exc),
        (fragment,) if isinstance(fragment, str) else tuple(fragment),
        id=id,
    )


CASES = [
    # ---- dtypes of X and y
    case("X-object", "clf().fit(X.astype(object), y, verbose=0)", "ValueError", "X must hold real numbers"),
    case("X-str", "clf().predict(X.astype(str))", "ValueError", "X must hold real numbers"),
    case("X-complex", "clf().fit(X.astype(np.complex64), y, verbose=0)", "ValueError", "got dtype complex64"),
    case("X-datetime", "clf().predict(np.zeros((8, 4), dtype='datetime64[s]'))", "ValueError", "X must hold real numbers"),
    case("X-structured", "clf().predict(np.zeros(8, dtype=[('a', 'f4'), ('b', 'f4')]))", "ValueError", "X must hold real numbers"),
    case("X-None", "clf().predict(None)", "ValueError", "X must hold real numbers"),
    case("X-ragged", "clf().predict([[1, 2, 3, 4], [1, 2]])", "ValueError", "X must be a numeric array"),
    case("y-object", "clf().fit(X, y.astype(object), verbose=0)", "ValueError", "y must hold real numbers"),
    case("y-str", "clf().fit(X, y.astype(str), verbose=0)", "ValueError", "y must hold real numbers"),
    case("y-complex", "reg().fit(X, Y.astype(complex), verbose=0)", "ValueError", "got dtype complex128"),
    case("y-datetime", "clf().train_step(X, y.astype('datetime64[D]'))", "ValueError", "y must hold real numbers"),
    case("y-ragged", "reg().fit(X, [[0.0, 1.0]] * 7 + [[0.0]], verbose=0)", "ValueError", "y must be a numeric array"),
    # ---- dimensions of X
    case("X-0d", "clf().predict(np.float32(1.0))", "ValueError", "X must be a 2-D array (n_samples, n_features), got shape ()"),
    case("X-1d-reshape-hint", "clf().predict(X[0])", "ValueError", "x.reshape(1, -1)"),
    case("X-3d", "clf().fit(X.reshape(2, 4, 4), y, verbose=0)", "ValueError", "got shape (2, 4, 4)"),
    case("x-1d-train_step", "clf().train_step(X[0], y[:1])", "ValueError", "x must be a 2-D array"),
    # ---- feature counts against the built model
    case("X-features-predict", "clf().predict(f32(8, 5))", "ValueError", "X has 5 features (columns) but the model expects 4"),
    case("X-features-fit", "clf().fit(f32(8, 3), y, verbose=0)", "ValueError", "X has 3 features"),
    case("x-features-train_step", "clf().train_step(f32(8, 5), y)", "ValueError", "x has 5 features"),
    case("X-features-after-lazy-build",
         "m = lazy(); m.compile(loss='cross_entropy'); m.fit(X, y, verbose=0); m.predict(f32(2, 7))",
         "ValueError", "X has 7 features (columns) but the model expects 4"),
    # ---- number of labels / targets
    case("y-rows-fit", "clf().fit(X, y[:7], verbose=0)", "ValueError", "y has 7 rows but X has 8 samples"),
    case("y-scalar-evaluate", "clf().evaluate(X, 1)", "ValueError", "y has a scalar but X has 8 samples"),
    case("y-rows-train_step", "clf().train_step(X[:4], y)", "ValueError", "y has 8 rows but x has 4 samples"),
    case("y-empty", "clf().fit(X, y[:0], verbose=0)", "ValueError", "y has 0 rows"),
    # ---- class labels
    case("labels-negative", "clf().fit(X, bad(y, -1, 3).astype(int), verbose=0)", "ValueError", "y labels must be in [0, 3)"),
    case("labels-equal-n-classes", "clf().train_step(X, bad(y, 3, 0).astype(int))", "ValueError", "got values in [0, 3]"),
    case("labels-uint64-huge", "clf().fit(X, np.full(8, 2**64 - 1, dtype=np.uint64), verbose=0)",
         "ValueError", "got values in [18446744073709551615, 18446744073709551615]"),
    case("labels-float-non-integer", "clf().fit(X, bad(y, 1.5, 2), verbose=0)", "ValueError", "non-integer"),
    case("labels-float-huge", "clf().fit(X, bad(y, 1e30, 2), verbose=0)", "ValueError", "y labels must be in [0, 3)"),
    case("labels-float-nan", "clf().train_step(X, bad(y, np.nan, 2))", "ValueError", "y contains NaN"),
    # (n, classes) rows are probability targets (one-hot rows included): they must be probabilities
    case("probabilities-not-summing-to-1", "clf().fit(X, np.eye(3)[y] * 0.5, verbose=0)", "ValueError",
         ("y probability targets", "rows summing to 1, got a sum of 0.5")),
    case("probabilities-above-1", "clf().train_step(X, np.eye(3)[y] * 2)", "ValueError", "got values in [0, 2]"),
    case("labels-2d-wrong-width", "clf().fit(X, np.eye(2)[y % 2], verbose=0)", "ValueError", "got shape (8, 2)"),
    # ---- sample and class weights
    case("sample-weight-negative", "clf().fit(X, y, verbose=0, sample_weight=-np.ones(8))", "ValueError",
         "sample_weight must be non-negative"),
    case("sample-weight-zeros", "clf().train_step(X, y, sample_weight=np.zeros(8))", "ValueError", "sample_weight is all zeros"),
    case("class-weight-key", "clf().fit(X, y, verbose=0, class_weight={5: 2.0})", "ValueError", "got the key 5"),
    # ---- regression targets
    case("targets-wrong-width", "reg().fit(X, np.ones((8, 3)), verbose=0)", "ValueError", "y must have shape (8, 2)"),
    case("targets-1d-for-2-outputs", "reg().evaluate(X, np.ones(8))", "ValueError", "got (8,)"),
    case("targets-3d", "reg().train_step(X, np.ones((8, 2, 1)))", "ValueError", "got (8, 2, 1)"),
    # ---- NaN / Inf / overflow
    case("X-nan-fit", "clf().fit(bad(X, np.nan), y, verbose=0)", "ValueError", "X contains NaN or infinite values"),
    case("x-inf-train_step", "clf().train_step(bad(X, np.inf), y)", "ValueError", "x contains NaN or infinite values"),
    case("X-nan-predict", "clf().predict(bad(X, np.nan).astype(np.float32))", "ValueError", "X contains NaN"),
    case("X-neg-inf-evaluate", "reg().evaluate(bad(X, -np.inf), Y)", "ValueError", "X contains NaN or infinite"),
    case("X-nan-float16", "clf().predict(bad(X, np.nan).astype(np.float16))", "ValueError", "X contains NaN"),
    case("y-nan-fit", "reg().fit(X, bad(Y, np.nan, (0, 1)), verbose=0)", "ValueError", "y contains NaN or infinite values"),
    case("y-inf-train_step", "reg().train_step(X, bad(Y, np.inf, (0, 1)))", "ValueError", "y contains NaN or infinite"),
    case("y-nan-evaluate", "reg().evaluate(X, bad(Y, np.nan, (7, 0)))", "ValueError", "y contains NaN"),
    case("val-X-nan", "clf().fit(X, y, validation_data=(bad(X, np.nan), y), verbose=0)",
         "ValueError", "validation_data[0] contains NaN"),
    case("val-y-inf", "reg().fit(X, Y, validation_data=(X, bad(Y, np.inf, (1, 1))), verbose=0)",
         "ValueError", "validation_data[1] contains NaN or infinite"),
    case("X-float64-too-large-for-float32", "clf().predict(bad(X, 1e300))", "ValueError", "too large for float32"),
    case("y-float64-too-large-for-float32", "reg().fit(X, bad(Y, -1e39, (3, 0)), verbose=0)", "ValueError", "y contains"),
    # ---- empty inputs
    case("X-no-rows-fit", "clf().fit(X[:0], y[:0], verbose=0)", "ValueError", "X is empty"),
    case("X-no-rows-predict", "clf().predict(f32(0, 4))", "ValueError", "X is empty"),
    case("x-no-rows-train_step", "clf().train_step(f32(0, 4), y[:0])", "ValueError", "x is empty"),
    case("X-zero-features", "lazy().predict(f32(8, 0))", "ValueError", "X has zero features"),
    # ---- fit arguments
    case("batch_size-0", "clf().fit(X, y, batch_size=0, verbose=0)", "ValueError", "batch_size must be a positive integer, got 0"),
    case("batch_size-negative", "clf().fit(X, y, batch_size=-4, verbose=0)", "ValueError", "batch_size must be a positive integer, got -4"),
    case("batch_size-float", "clf().fit(X, y, batch_size=2.0, verbose=0)", "ValueError", "batch_size must be a positive integer, got 2.0"),
    case("batch_size-bool", "clf().fit(X, y, batch_size=True, verbose=0)", "ValueError", "batch_size must be a positive integer, got True"),
    case("epochs-negative", "clf().fit(X, y, epochs=-1, verbose=0)", "ValueError", "epochs must be a non-negative integer, got -1"),
    case("epochs-float", "clf().fit(X, y, epochs=1.5, verbose=0)", "ValueError", "epochs must be a non-negative integer, got 1.5"),
    # ---- model construction
    case("seed-negative", "fm.Sequential([fm.Dense(3)], input_dim=4, seed=-1)", "ValueError", "seed must be a non-negative integer, got -1"),
    case("seed-too-large", "fm.Sequential([fm.Dense(3)], input_dim=4, seed=2**64)", "ValueError", "seed must be less than 2**64"),
    case("input_dim-0", "fm.Sequential([fm.Dense(3)], input_dim=0)", "ValueError", "input_dim must be a positive integer, got 0"),
    case("input_dim-huge", "fm.Sequential([fm.Dense(3)], input_dim=2**63)", ("MemoryError", "ValueError"), "input_dim"),
    case("units-0", "fm.Dense(0)", "ValueError", "units must be a positive integer, got 0"),
    case("units-negative", "fm.Dense(-3, activation='relu')", "ValueError", "units must be a positive integer, got -3"),
    case("units-float", "fm.Dense(2.5)", "ValueError", "units must be a positive integer, got 2.5"),
    case("units-10**12", "fm.Sequential([fm.Dense(10**12)], input_dim=4)", ("MemoryError", "ValueError"), "parameters"),
    case("units-10**11-lazy-build", "m = fm.Sequential([fm.Dense(10**11)]); m.predict(f32(1, 1))",
         ("MemoryError", "ValueError"), "parameters"),
    case("units-2**64", "fm.Sequential([fm.Dense(2**64), fm.Dense(1)], input_dim=4)", ("MemoryError", "ValueError"), "parameters"),
    case("layers-empty", "fm.Sequential([], input_dim=4).summary()", "ValueError",
         "the model has no layers: add some with model.add(fm.Dense(...))"),
    case("layers-not-a-list", "fm.Sequential(fm.Dense(3), input_dim=4)", "TypeError", "layers must be a list of fm layers"),
    case("layers-None-used", "fm.Sequential(None).predict(f32(1, 1))", "ValueError",
         "the model has no layers: add some with model.add(fm.Dense(...))"),
    case("layers-a-string", "fm.Sequential('dense')", "TypeError",
         "layers must be a list of fm layers such as [fm.Dense(10)], got str"),
    case("layers-non-layer", "fm.Sequential([fm.Dense(3), 'relu'])", "TypeError", "layers[1] must be an fm layer"),
    case("layers-class-not-instance", "fm.Sequential([fm.Dense])", "TypeError",
         ("layers[0] must be an fm layer", "got the class Dense itself")),
    case("layers-no-dense", "fm.Sequential([fm.Dropout(0.5)], input_dim=4)", "ValueError", "at least one fm.Dense layer"),
    case("dropout-1", "fm.Dropout(1.0)", "ValueError", "rate must be in [0, 1), got 1.0"),
    case("dropout-negative", "fm.Dropout(-0.1)", "ValueError", "rate must be in [0, 1), got -0.1"),
    case("dropout-None", "fm.Dropout(None)", "TypeError", "rate must be a number"),
    # ---- names: activation, loss, optimizer, metric
    case("activation-typo", "fm.Dense(3, activation='rleu')", "ValueError", "Did you mean 'relu'"),
    case("activation-class", "fm.Dense(3, activation=fm.activations.ReLU)", "TypeError", "got the class ReLU itself: create an instance, e.g. fm.activations.ReLU("),
    case("loss-typo", "raw().compile(loss='cross_entropi')", "ValueError", "Did you mean 'cross_entropy'"),
    case("loss-class", "raw().compile(loss=fm.losses.MSE)", "TypeError", "fm.losses.MSE("),
    case("loss-missing", "raw().compile(optimizer='adam')", "ValueError", "compile needs a loss: pass loss=..."),
    case("optimizer-typo", "raw().compile(loss='mse', optimizer='adma')", "ValueError", "Did you mean 'adam'"),
    case("optimizer-class", "raw().compile(loss='mse', optimizer=fm.optim.Adam)", "TypeError", "fm.optim.Adam("),
    case("metric-typo", "raw().compile(loss='cross_entropy', metrics=['accurcy'])", "ValueError", "Did you mean 'accuracy'"),
    case("metric-wrong-task", "raw().compile(loss='cross_entropy', metrics=['mae'])", "ValueError", "needs a regression loss"),
    case("metrics-a-string", "raw().compile(loss='mse', metrics='mae')", "TypeError", "metrics must be a list"),
    # ---- optimizer hyperparameters
    case("sgd-lr-negative", "fm.optim.SGD(lr=-0.1)", "ValueError", "lr must be a finite number >= 0, got -0.1"),
    case("sgd-lr-inf", "fm.optim.SGD(lr=float('inf'))", "ValueError", "lr must be a finite number"),
    case("sgd-lr-str", "fm.optim.SGD(lr='fast')", "TypeError", "lr must be a number, got 'fast'"),
    case("sgd-momentum-negative", "fm.optim.SGD(momentum=-0.5)", "ValueError", "momentum must be a finite number >= 0, got -0.5"),
    case("sgd-dampening-nan", "fm.optim.SGD(dampening=float('nan'))", "ValueError", "dampening must be a finite number"),
    case("sgd-nesterov-no-momentum", "fm.optim.SGD(lr=0.1, nesterov=True)", "ValueError", "nesterov=True requires momentum > 0"),
    case("adam-lr-negative", "fm.optim.Adam(lr=-1e-3)", "ValueError", "lr must be a finite number >= 0, got -0.001"),
    case("adam-beta1-one", "fm.optim.Adam(betas=(1.0, 0.999))", "ValueError", "betas[0] must be in [0, 1), got 1.0"),
    case("adam-betas-not-a-pair", "fm.optim.Adam(betas=(0.9,))", "ValueError", "betas must be a pair (beta1, beta2)"),
    case("adam-betas-scalar", "fm.optim.Adam(betas=0.9)", "TypeError", "betas must be a pair (beta1, beta2), got 0.9"),
    case("adam-eps-zero", "fm.optim.Adam(eps=0)", "ValueError", "eps must be a finite number > 0, got 0.0"),
    case("adam-eps-below-float32", "fm.optim.Adam(eps=1e-50)", "ValueError", "eps must be a finite number > 0, got 1e-50"),
    case("sgd-lr-beyond-float32", "fm.optim.SGD(lr=1e39)", "ValueError", "lr must be a finite number (within float32's range)"),
    case("sgd-nesterov-str", "fm.optim.SGD(momentum=0.9, nesterov='no')", "TypeError", "nesterov must be True or False, got 'no'"),
    # ---- call order
    case("fit-before-compile", "raw().fit(X, y, verbose=0)", "RuntimeError", "call model.compile(loss=..., optimizer=...) before fit"),
    case("train_step-before-compile", "raw().train_step(X, y)", "RuntimeError", "model.compile(loss=..., optimizer=...) before train_step"),
    case("evaluate-before-compile", "raw().evaluate(X, y)", "RuntimeError", "before evaluate"),
    case("fit-before-compile-does-not-build",
         "m = lazy()\ntry:\n    m.fit(X, y, verbose=0)\nexcept RuntimeError:\n    pass\nm.parameters()",
         "RuntimeError", "the model has no weights yet"),
    case("parameters-before-build", "lazy().parameters()", "RuntimeError", "no weights yet"),
    # ---- validation_data and callbacks
    case("val-one-element", "clf().fit(X, y, validation_data=(X,), verbose=0)", "ValueError", "validation_data must be a tuple (X_val, y_val), got a tuple of length 1"),
    case("val-array", "clf().fit(X, y, validation_data=X, verbose=0)", "ValueError", "validation_data must be a tuple (X_val, y_val), got ndarray"),
    case("val-wrong-features", "clf().fit(X, y, validation_data=(X[:, :3], y), verbose=0)", "ValueError", "validation_data[0] has 3 features"),
    case("val-wrong-rows", "clf().fit(X, y, validation_data=(X, y[:5]), verbose=0)", "ValueError", "validation_data[1] has 5 rows but validation_data[0] has 8 samples"),
    case("callbacks-not-callback", "clf().fit(X, y, callbacks=[print], verbose=0)", "TypeError", "callbacks must be fm.callbacks.Callback objects"),
    case("callbacks-not-a-list", "clf().fit(X, y, callbacks=fm.callbacks.EarlyStopping(), verbose=0)", "TypeError", "callbacks must be a list"),
    case("callbacks-class", "clf().fit(X, y, callbacks=[fm.callbacks.EarlyStopping], verbose=0)", "TypeError", "fm.callbacks.EarlyStopping("),
    case("early-stopping-mode", "fm.callbacks.EarlyStopping(mode='best')", "ValueError", "mode must be 'auto', 'min' or 'max', got 'best'"),
    case("early-stopping-monitor", "fm.callbacks.EarlyStopping(monitor=None)", "TypeError", "monitor must be a string"),
    # ---- fm.matmul
    case("matmul-a-1d", "fm.matmul(f32(3), f32(3, 2))", "ValueError",
         ("a must be a 2-D array, got 1-D", "a: float32 array of shape (3,)")),
    case("matmul-b-3d", "fm.matmul(f32(2, 3), f32(3, 2, 1))", "ValueError", "b must be a 2-D array, got 3-D"),
    case("matmul-inner-dims", "fm.matmul(f32(2, 3), f32(4, 2))", "ValueError", "a.shape[1] must equal b.shape[0]"),
    case("matmul-complex", "fm.matmul(f32(2, 3).astype(complex), f32(3, 2))", "ValueError", "a must hold real numbers"),
    case("matmul-out-float64", "fm.matmul(f32(2, 3), f32(3, 2), out=np.zeros((2, 2)))", "ValueError",
         ("out must have dtype float32", "out: float64 array of shape (2, 2)")),
    case("matmul-out-shape", "fm.matmul(f32(2, 3), f32(3, 2), out=f32(3, 2))", "ValueError",
         ("out must have shape (2, 2)", "out: float32 array of shape (3, 2)")),
    case("matmul-out-readonly", "o = f32(2, 2); o.flags.writeable = False; fm.matmul(f32(2, 3), f32(3, 2), out=o)",
         "ValueError", ("out must be writeable", "out: float32 read-only array")),
    case("matmul-out-list", "fm.matmul(f32(2, 3), f32(3, 2), out=[[0.0] * 2] * 2)", "ValueError",
         ("out must be a float32 NumPy array", "out: list")),
    case("matmul-out-overlaps", "a = f32(4, 4); fm.matmul(a, f32(4, 4), out=a)", "ValueError", "out must not share memory"),
    # ---- threads
    case("threads-0", "fm.set_num_threads(0)", "ValueError", "n must be a positive integer, got 0"),
    case("threads-negative", "fm.set_num_threads(-1)", "ValueError", "n must be a positive integer, got -1"),
    case("threads-huge", "fm.set_num_threads(10**6)", "ValueError", "n must be at most"),
    case("threads-2**40", "fm.set_num_threads(2**40)", "ValueError", "n must be at most"),
    # ---- fm.load (cwd is the test's temporary directory)
    case("load-missing", "fm.load('missing.safetensors')", "FileNotFoundError", "missing.safetensors"),
    case("load-directory", "import os; os.mkdir('adir'); fm.load('adir')", ("IsADirectoryError", "ValueError"), "adir"),
    case("load-empty", "open('empty.safetensors', 'wb').close(); fm.load('empty.safetensors')", "ValueError", "empty.safetensors"),
    case("load-text", "with open('notes.txt', 'w') as f:\n    f.write('not a model\\n' * 100)\nfm.load('notes.txt')",
         "ValueError", "notes.txt"),
    case("load-foreign-safetensors",
         "from safetensors.numpy import save_file\nsave_file({'w': f32(2, 2)}, 'other.safetensors')\n"
         "fm.load('other.safetensors')",
         "ValueError", "not a fastmlp model"),
]


@pytest.fixture(scope="module")
def case_dir(tmp_path_factory):
    """Working directory of the cases (the fm.load ones write files there, each its own name)."""
    return tmp_path_factory.mktemp("bad_input")


@pytest.mark.parametrize("code,expected,fragments", CASES)
def test_bad_input_raises_cleanly(code, expected, fragments, case_dir):
    result = run_case(code, case_dir)
    assert result["type"] is not None, f"no exception was raised by: {code}"
    assert result["type"] in expected, f"{code}\nraised {result['type']}: {result['message']}"
    for fragment in fragments:
        assert fragment in result["message"], f"{code}\nraised {result['type']}: {result['message']}"
    assert result["seconds"] < CASE_SECONDS, f"{code} took {result['seconds']:.1f} s to fail"


def test_case_ids_are_unique_and_numerous():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 70


ABORT = """
import os
try:
    import resource
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file
except (ImportError, ValueError, OSError):
    pass
os.abort()
"""


def test_harness_reports_success_and_crashes(tmp_path):
    """The harness itself: no exception is reported as such, and a hard crash fails the test."""
    assert run_case("clf().fit(X, y, verbose=0)", tmp_path)["type"] is None
    with pytest.raises(AssertionError, match="crashed"):
        run_case(ABORT, tmp_path)


# =========================================================================== acceptable inputs
# In-process: unusual but valid layouts and dtypes give exactly what their C-contiguous float32
# (labels: int64) copies give, and the arrays passed in are left untouched.
N, D, CLASSES = 40, 6, 3


def _classifier(seed=5):
    model = fm.Sequential([fm.Dense(16, activation="relu"), fm.Dropout(0.2), fm.Dense(CLASSES)], input_dim=D, seed=seed)
    model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-2), metrics=["accuracy"])
    return model


def _regressor(seed=5):
    model = fm.Sequential([fm.Dense(16, activation="tanh"), fm.Dense(2)], input_dim=D, seed=seed)
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=1e-2, momentum=0.9), metrics=["mae"])
    return model


def _read_only(a):
    a = np.array(a)
    a.flags.writeable = False
    return a


def _rng():
    return np.random.default_rng(11)


# Each builds an (N, D) feature array that is not C-contiguous float32.
X_VARIANTS = {
    "strided-rows": lambda: _rng().standard_normal((2 * N, D)).astype(np.float32)[::2],
    "strided-columns": lambda: _rng().standard_normal((N, 2 * D)).astype(np.float32)[:, ::2],
    "negative-strides": lambda: _rng().standard_normal((N, D)).astype(np.float32)[::-1, ::-1],
    "F-ordered": lambda: np.asfortranarray(_rng().standard_normal((N, D)).astype(np.float32)),
    "transposed-view": lambda: _rng().standard_normal((D, N)).astype(np.float32).T,
    "read-only": lambda: _read_only(_rng().standard_normal((N, D)).astype(np.float32)),
    "float16": lambda: _rng().standard_normal((N, D)).astype(np.float16),
    "float64": lambda: _rng().standard_normal((N, D)),
    "float64-F-strided": lambda: np.asfortranarray(_rng().standard_normal((2 * N, D)))[::2],
    "int64": lambda: _rng().integers(-5, 6, size=(N, D)),
    "uint8": lambda: _rng().integers(0, 4, size=(N, D)).astype(np.uint8),
    "bool": lambda: _rng().random((N, D)) < 0.5,
    "nested-list": lambda: _rng().standard_normal((N, D)).tolist(),
}

Y_LABEL_VARIANTS = {
    "int32": lambda y: y.astype(np.int32),
    "uint8": lambda y: y.astype(np.uint8),
    "float64-integral": lambda y: y.astype(np.float64),
    "float32-column": lambda y: y.astype(np.float32).reshape(-1, 1),
    "strided": lambda y: np.repeat(y, 2)[::2],
    "read-only": _read_only,
    "list": lambda y: y.tolist(),
}

Y_TARGET_VARIANTS = {
    "float64": lambda Y: Y.astype(np.float64),
    "F-ordered": lambda Y: np.asfortranarray(Y),
    "strided": lambda Y: np.repeat(Y, 2, axis=0)[::2],
    "read-only": _read_only,
    "float16": lambda Y: Y.astype(np.float16),
    "list": lambda Y: Y.tolist(),
}


def _labels():
    return np.random.default_rng(12).integers(0, CLASSES, size=N)


def _targets():
    return np.random.default_rng(13).standard_normal((N, 2)).astype(np.float32)


def _fit_weights(model, X, y):
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    return [p.copy() for p in model.parameters()]


def _assert_same_weights(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        assert np.array_equal(g, w)


def _snapshot(a):
    return a if isinstance(a, list) else a.copy()


def _assert_untouched(a, before):
    if isinstance(a, list):
        assert a == before
    else:
        assert np.array_equal(a, before)


@pytest.mark.parametrize("variant", list(X_VARIANTS))
def test_unusual_X_layouts_and_dtypes_match_their_float32_copy(variant):
    X = X_VARIANTS[variant]()
    reference = np.ascontiguousarray(np.asarray(X), dtype=np.float32)
    assert isinstance(X, list) or X.dtype != np.float32 or not X.flags.c_contiguous or not X.flags.writeable
    y = _labels()
    before = _snapshot(X)

    model = _classifier()
    assert np.array_equal(model.predict(X), model.predict(reference))
    assert model.evaluate(X, y) == model.evaluate(reference, y)
    _assert_same_weights(_fit_weights(_classifier(), X, y), _fit_weights(_classifier(), reference, y))
    twin_a, twin_b = _classifier(), _classifier()
    assert twin_a.train_step(X, y) == twin_b.train_step(reference, y)
    _assert_same_weights(twin_a.parameters(), twin_b.parameters())
    _assert_untouched(X, before)


@pytest.mark.parametrize("variant", list(Y_LABEL_VARIANTS))
def test_label_dtypes_and_layouts_match_int64_labels(variant):
    X = _rng().standard_normal((N, D)).astype(np.float32)
    y = _labels()
    labels = Y_LABEL_VARIANTS[variant](y)
    before = _snapshot(labels)
    model = _classifier()
    assert model.evaluate(X, labels) == model.evaluate(X, y)
    _assert_same_weights(_fit_weights(_classifier(), X, labels), _fit_weights(_classifier(), X, y))
    _assert_untouched(labels, before)


@pytest.mark.parametrize("variant", list(Y_TARGET_VARIANTS))
def test_regression_target_dtypes_and_layouts_match_float32_targets(variant):
    X = _rng().standard_normal((N, D)).astype(np.float32)
    Y = _targets()
    targets = Y_TARGET_VARIANTS[variant](Y)
    reference = np.ascontiguousarray(np.asarray(targets), dtype=np.float32)
    before = _snapshot(targets)
    model = _regressor()
    assert model.evaluate(X, targets) == model.evaluate(X, reference)
    _assert_same_weights(_fit_weights(_regressor(), X, targets), _fit_weights(_regressor(), X, reference))
    _assert_untouched(targets, before)


@pytest.mark.parametrize("batch_size", [1, 7, N - 1, N, N + 1, 10**9])
def test_any_batch_size_equals_train_steps_over_consecutive_slices(batch_size):
    """fit without shuffling is train_step over X[0:b], X[b:2b], ... (the last batch may be
    smaller); a batch larger than the data is one full batch, and allocates only for the data."""
    X = _rng().standard_normal((N, D)).astype(np.float32)
    y = _labels()
    model = _classifier()
    history = model.fit(X, y, epochs=2, batch_size=batch_size, shuffle=False, verbose=0)
    twin = _classifier()
    losses = []
    for _ in range(2):
        epoch = [(twin.train_step(X[s:s + batch_size], y[s:s + batch_size]), len(X[s:s + batch_size]))
                 for s in range(0, N, batch_size)]
        losses.append(sum(loss * rows for loss, rows in epoch) / N)
    _assert_same_weights(model.parameters(), twin.parameters())
    assert history.history["loss"] == pytest.approx(losses, rel=1e-5)


def test_batch_larger_than_data_with_shuffling_equals_a_batch_of_all_the_data():
    X = _rng().standard_normal((N, D)).astype(np.float32)
    y = _labels()
    full = _classifier()
    full.fit(X, y, epochs=3, batch_size=N, verbose=0)
    huge = _classifier()
    huge.fit(X, y, epochs=3, batch_size=10**12, verbose=0)
    _assert_same_weights(huge.parameters(), full.parameters())
