"""fm.onnx.export: the exported file, run in onnxruntime (CPUExecutionProvider), equals
``model.predict`` for every activation (parameterized variants included, both branches of each
exercised), LayerNorm, BatchNorm (running statistics after training, and batch statistics without
them), Dropout, softmax and logit outputs, batch sizes 1 and 37 (and one above predict's 256-row
chunk), opsets 17 (GELU built from Erf/Sigmoid, ReduceMean axes as an attribute) and the default 20;
plus the file's structure (checker, symbolic batch dimension, initializers) and the error cases.

Tolerance: rtol 1e-4 (the issue's requirement) plus an absolute floor of 2e-6 x the largest output
magnitude (at least 1). onnxruntime's GEMM sums in another order than fastmlp's, and float32
rounding errors of a sum scale with its terms, not with the result: an output that cancels to nearly
zero (or an activation's tail value such as gelu(-5) ~ 1e-6 computed from such a pre-activation)
differs by a few ulps of the terms, which no relative tolerance on the result can bound. Measured
deviations are below 2e-7 x the output scale, so the floor keeps a 10x margin while staying ~100
ulps of the output scale, far below any real mistake (a wrong constant, branch or layer shows up at
>= 1e-3 relative)."""

from __future__ import annotations

import os
import pathlib
import stat

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import fastmlp as fm  # noqa: E402
from fastmlp.activations import ELU, Activation, LeakyReLU, Softplus  # noqa: E402
import fastmlp.onnx as fm_onnx  # noqa: E402
from fastmlp.onnx import DEFAULT_OPSET, MIN_OPSET, export  # noqa: E402

RTOL = 1e-4
ATOL_SCALE = 2e-6
IN_DIM, HIDDEN, OUT = 5, 16, 4

# (id, activation, input span): the span makes the first layer's pre-activations cover
# [-span, span] so both branches (and softplus's linear region beyond threshold / beta) are reached.
ACTIVATIONS = [
    ("identity", "identity", 6.0),
    ("relu", "relu", 6.0),
    ("leaky_relu", "leaky_relu", 6.0),
    ("leaky_relu_0.2", LeakyReLU(negative_slope=0.2), 6.0),
    ("elu", "elu", 6.0),
    ("elu_alpha_0.5", ELU(alpha=0.5), 6.0),
    ("selu", "selu", 6.0),
    ("gelu", "gelu", 6.0),
    ("gelu_tanh", "gelu_tanh", 6.0),
    ("silu", "silu", 6.0),
    ("softplus", "softplus", 40.0),  # threshold 20
    ("softplus_beta2_thr5", Softplus(beta=2.0, threshold=5.0), 6.0),
    ("softplus_thr1000", Softplus(beta=1.0, threshold=1000.0), 150.0),  # exp(beta x) overflows float32
    ("sigmoid", "sigmoid", 12.0),
    ("tanh", "tanh", 6.0),
]


def _session(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(os.fspath(path), sess_options=opts, providers=["CPUExecutionProvider"])


def _run(path, X):
    (out,) = _session(path).run(["output"], {"input": np.ascontiguousarray(X, dtype=np.float32)})
    return out


def _assert_matches(got, want):
    assert got.dtype == np.float32 and got.shape == want.shape
    assert np.all(np.isfinite(want))
    atol = ATOL_SCALE * max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=atol)


def _export_and_compare(model, X, tmp_path, opset=None, name="model.onnx"):
    path = tmp_path / name
    export(model, path, opset=opset)
    got = _run(path, X)
    want = model.predict(X)
    _assert_matches(got, want)
    return path, got, want


def _spanning_model(activation, span, seed=0):
    """Dense(16, act) -> Dense(4, act) (-> softmax/identity unchanged) whose first layer maps inputs
    in [-1, 1] to pre-activations covering about [-span, span]."""
    model = fm.Sequential([fm.Dense(HIDDEN, activation=activation), fm.Dense(OUT, activation=activation)],
                          input_dim=IN_DIM, seed=seed)
    W0 = model.parameters()[0]
    diag = np.linspace(-1.0, 1.0, HIDDEN, dtype=np.float32) * span
    W0 *= 0.1 * span
    W0[np.arange(HIDDEN), np.arange(HIDDEN) % IN_DIM] += diag
    return model


def _inputs(n, seed=1):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, (n, IN_DIM)).astype(np.float32)


def _pre_activations(model, X):
    W, b = model.parameters()[:2]
    return X.astype(np.float64) @ W.T.astype(np.float64) + b


def test_every_activation_is_covered():
    """A new activation in fm.activations fails here until it has an export and a test."""
    covered = {fm.activations.get(act).name for _, act, _ in ACTIVATIONS} | {"softmax"}
    assert covered == set(fm.activations.NAMES)
    assert fm_onnx._SUPPORTED_ACTIVATIONS == set(fm.activations.NAMES)


@pytest.mark.parametrize("opset", [None, MIN_OPSET], ids=["default", "opset17"])
@pytest.mark.parametrize("n", [1, 37])
@pytest.mark.parametrize("activation,span", [a[1:] for a in ACTIVATIONS], ids=[a[0] for a in ACTIVATIONS])
def test_activation_matches_predict(tmp_path, activation, span, n, opset):
    model = _spanning_model(activation, span)
    X = _inputs(n)
    _export_and_compare(model, X, tmp_path, opset=opset)
    if n > 1:  # the data reach both sides of every branch point
        Z = _pre_activations(model, X)
        act = fm.activations.get(activation)
        if act.name == "softplus":
            bz = act.beta * Z
            if act.threshold > 100:  # no linear region reached, but exp(beta x) overflows float32
                assert (bz > 89.0).sum() >= 3
            else:
                assert (bz > act.threshold).sum() >= 3 and (bz <= act.threshold).sum() >= 3
        assert (Z > 0.5).sum() >= 10 and (Z < -0.5).sum() >= 10
        assert Z.max() > 0.8 * span and Z.min() < -0.8 * span


def test_activation_output_values_are_not_trivial(tmp_path):
    """The comparison above would pass trivially if the outputs were constant or zero."""
    for _, activation, span in ACTIVATIONS:
        model = _spanning_model(activation, span)
        out = model.predict(_inputs(37))
        assert np.ptp(out, axis=0).min() > 1e-3, activation


@pytest.mark.parametrize("opset", [None, MIN_OPSET], ids=["default", "opset17"])
@pytest.mark.parametrize("n", [1, 37])
def test_softmax_output(tmp_path, n, opset):
    model = fm.Sequential([fm.Dense(HIDDEN, activation="tanh"), fm.Dense(OUT, activation="softmax")],
                          input_dim=IN_DIM, seed=3)
    model.parameters()[2][...] *= 8  # confident rows: probabilities near 0 and 1
    model.compile(loss="cross_entropy", optimizer="adam")
    X = _inputs(n) * 3
    _, got, _ = _export_and_compare(model, X, tmp_path, opset=opset)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-5)
    if n > 1:
        assert got.max() > 0.9 and got.min() < 0.01


def test_cross_entropy_without_softmax_exports_logits(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, IN_DIM)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0)
    model = fm.Sequential([fm.Dense(HIDDEN, activation="relu"), fm.Dense(3)], seed=0)
    model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-2))
    model.fit(X, y, epochs=3, batch_size=16, verbose=0)
    _, got, _ = _export_and_compare(model, X[:37], tmp_path)
    assert np.abs(got.sum(axis=1) - 1.0).max() > 0.1  # logits, not probabilities
    assert (got < 0).any()


def _trained(layers, seed=0, epochs=3, loss="mse", n=200):
    rng = np.random.default_rng(seed)
    X = (rng.normal(size=(n, IN_DIM)) * 2 + 1.5).astype(np.float32)  # not centred: running stats move
    y = np.tanh(X @ rng.normal(size=(IN_DIM, OUT))).astype(np.float32)
    model = fm.Sequential(layers, seed=seed)
    model.compile(loss=loss, optimizer=fm.optim.Adam(lr=1e-2))
    model.fit(X, y, epochs=epochs, batch_size=16, verbose=0)
    return model, X


def _assert_affine_trained(model):
    """gamma/beta of the norm layers moved away from 1/0 during training."""
    one_d = [p for p in model.parameters() if p.ndim == 1]
    assert any(np.abs(p - 1).max() > 1e-3 for p in one_d) and any(np.abs(p).max() > 1e-3 for p in one_d)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("n", [1, 37])
def test_layer_norm(tmp_path, n, affine):
    model, X = _trained([fm.Dense(HIDDEN, activation="relu"), fm.LayerNorm(eps=1e-3, elementwise_affine=affine),
                         fm.Dense(OUT)])
    if affine:
        p = model.parameters()
        assert np.abs(p[2] - 1).max() > 1e-3 and np.abs(p[3]).max() > 1e-3
    path, _, _ = _export_and_compare(model, X[:n], tmp_path)
    ops = [node.op_type for node in onnx.load(os.fspath(path)).graph.node]
    assert ops == ["Gemm", "Relu", "LayerNormalization", "Gemm"]


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("n", [1, 37])
def test_batch_norm_running_statistics(tmp_path, n, affine):
    model, X = _trained([fm.Dense(HIDDEN, activation="elu"), fm.BatchNorm(momentum=0.2, eps=0.05, affine=affine),
                         fm.Dense(OUT, activation="tanh")])
    mean, var = model.buffers()
    assert np.median(np.abs(mean)) > 0.05 and np.median(np.abs(var - 1)) > 0.05  # non-trivial statistics
    if affine:
        _assert_affine_trained(model)
    path, _, _ = _export_and_compare(model, X[:n] - 1.5, tmp_path)  # inputs unlike the batch stats
    graph = onnx.load(os.fspath(path)).graph
    ops = [node.op_type for node in graph.node]
    assert ops == ["Gemm", "Elu", "BatchNormalization", "Gemm", "Tanh"]
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    np.testing.assert_array_equal(inits["layers.1.running_mean"], mean)
    np.testing.assert_array_equal(inits["layers.1.running_var"], var)


@pytest.mark.parametrize("opset", [None, MIN_OPSET], ids=["default", "opset17"])
def test_batch_norm_batch_statistics(tmp_path, opset):
    """track_running_stats=False: predict normalises with the statistics of all of X; so does the
    graph (ReduceMean over the batch axis), whatever the batch size given to the session."""
    model, X = _trained([fm.Dense(HIDDEN, activation="relu"), fm.BatchNorm(eps=0.05, track_running_stats=False),
                         fm.Dense(OUT)])
    assert model.buffers() == []
    _assert_affine_trained(model)
    path = tmp_path / "bn.onnx"
    export(model, path, opset=opset)
    for n in (2, 37, 300):
        _assert_matches(_run(path, X[:n]), model.predict(X[:n]))
    # The output depends on the whole batch: a sub-batch gives other values for the same rows.
    assert np.abs(_run(path, X[:37])[:2] - _run(path, X[:2])).max() > 1e-2


def test_batch_norm_batch_statistics_single_row_gives_beta(tmp_path):
    """The documented difference: predict refuses one row, the graph returns beta (variance 0)."""
    model, X = _trained([fm.Dense(OUT, activation="relu"), fm.BatchNorm(track_running_stats=False)])
    beta = model.parameters()[3]
    assert np.abs(beta).max() > 1e-3
    with pytest.raises(ValueError):
        model.predict(X[:1])
    path = tmp_path / "bn.onnx"
    export(model, path)
    np.testing.assert_allclose(_run(path, X[:1])[0], beta, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("n", [1, 37])
def test_dropout_is_omitted(tmp_path, n):
    model, X = _trained([fm.Dense(HIDDEN, activation="relu"), fm.Dropout(0.5), fm.Dense(OUT, activation="gelu"),
                         fm.Dropout(0.2)])
    path, _, _ = _export_and_compare(model, X[:n], tmp_path)
    ops = [node.op_type for node in onnx.load(os.fspath(path)).graph.node]
    assert ops == ["Gemm", "Relu", "Gemm", "Gelu"]


@pytest.mark.parametrize("n", [1, 37, 300])
def test_mixed_model_trained_with_softmax(tmp_path, n):
    rng = np.random.default_rng(5)
    X = (rng.normal(size=(300, IN_DIM)) * 2 + 1).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 2).astype(np.int64) + (X[:, 2] > 1)
    model = fm.Sequential([fm.Dense(32, activation="relu"), fm.Dropout(0.1), fm.LayerNorm(),
                           fm.Dense(16, activation=Softplus(beta=2.0, threshold=5.0)), fm.BatchNorm(),
                           fm.Dense(8, activation="selu"), fm.Dense(3, activation="softmax")], seed=2)
    model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-2))
    model.fit(X, y, epochs=2, batch_size=32, verbose=0)
    _export_and_compare(model, X[:n], tmp_path)


@pytest.mark.parametrize("opset", [None, MIN_OPSET], ids=["default", "opset17"])
def test_onnx_reference_evaluator_agrees(tmp_path, opset):
    """A second, independent runtime (onnx's Python reference implementation) runs the same file to
    the same values: the graph uses only standard semantics, nothing onnxruntime-specific."""
    reference = pytest.importorskip("onnx.reference")
    model, X = _trained([fm.Dense(HIDDEN, activation="gelu_tanh"), fm.LayerNorm(),
                         fm.Dense(HIDDEN, activation=Softplus(beta=2.0, threshold=5.0)), fm.BatchNorm(),
                         fm.Dense(HIDDEN, activation="gelu"), fm.BatchNorm(track_running_stats=False),
                         fm.Dense(OUT, activation="softmax")], epochs=1)
    path = tmp_path / "m.onnx"
    export(model, path, opset=opset)
    (got,) = reference.ReferenceEvaluator(os.fspath(path)).run(None, {"input": X[:37]})
    _assert_matches(np.asarray(got, dtype=np.float32), model.predict(X[:37]))
    _assert_matches(_run(path, X[:37]), model.predict(X[:37]))


def test_one_input_one_output(tmp_path):
    model = fm.Sequential([fm.Dense(1, activation="sigmoid")], input_dim=1, seed=0)
    X = np.linspace(-5, 5, 37, dtype=np.float32)[:, None]
    _export_and_compare(model, X, tmp_path)


def test_file_structure(tmp_path):
    model, X = _trained([fm.Dense(HIDDEN, activation="gelu"), fm.BatchNorm(), fm.Dense(OUT)])
    path = tmp_path / "m.onnx"
    export(model, str(path))
    onnx.checker.check_model(os.fspath(path), full_check=True)
    proto = onnx.load(os.fspath(path))
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", DEFAULT_OPSET)]
    assert proto.ir_version == onnx.helper.find_min_ir_version_for(list(proto.opset_import))
    assert proto.producer_name == "fastmlp" and proto.producer_version == fm.__version__
    (inp,), (out,) = proto.graph.input, proto.graph.output
    assert inp.name == "input" and out.name == "output"
    for value, width in ((inp, IN_DIM), (out, OUT)):
        assert value.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
        d0, d1 = value.type.tensor_type.shape.dim
        assert d0.dim_param == "N" and not d0.HasField("dim_value")
        assert d1.dim_value == width
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    params, buffers = model.parameters(), model.buffers()
    expected = {"layers.0.weight": params[0], "layers.0.bias": params[1], "layers.1.weight": params[2],
                "layers.1.bias": params[3], "layers.1.running_mean": buffers[0],
                "layers.1.running_var": buffers[1], "layers.2.weight": params[4], "layers.2.bias": params[5]}
    assert set(inits) == set(expected)
    for name, value in expected.items():
        assert inits[name].dtype == np.float32
        np.testing.assert_array_equal(inits[name], value, err_msg=name)
    # The file holds a copy: changing the model afterwards does not change it.
    before = path.read_bytes()
    params[0][...] = 0.0
    assert path.read_bytes() == before


def test_symbolic_batch_dimension_one_session(tmp_path):
    model = _spanning_model("silu", 6.0)
    path = tmp_path / "m.onnx"
    export(model, path)
    session = _session(path)
    (meta,) = session.get_inputs()
    assert meta.shape[0] == "N" and meta.shape[1] == IN_DIM
    for n in (1, 37, 2, 300):
        X = _inputs(n, seed=n)
        (got,) = session.run(None, {"input": X})
        _assert_matches(got, model.predict(X))


def test_overwrites_atomically_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old content")
    os.chmod(path, 0o640)
    model = _spanning_model("relu", 6.0)
    export(model, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640  # an overwritten file keeps its mode
    assert os.listdir(tmp_path) == ["m.onnx"]
    _assert_matches(_run(path, _inputs(3)), model.predict(_inputs(3)))


def test_failed_export_keeps_the_previous_file(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"previous")
    model = _spanning_model("relu", 6.0)
    model.layers[0].activation = _Mish()
    with pytest.raises(ValueError):
        export(model, path)
    assert path.read_bytes() == b"previous" and os.listdir(tmp_path) == ["m.onnx"]


# ------------------------------------------------------------------------------------ errors
class _Mish(Activation):
    name = "mish"


class _Custom(fm.layers.Layer):
    def get_config(self):
        return {"type": "Custom"}

    def _core_spec(self):  # pragma: no cover - never built by the core
        return ("dropout", 0.0)


def test_non_finite_weights(tmp_path):
    model = _spanning_model("relu", 6.0)
    model.parameters()[3][1] = np.nan
    with pytest.raises(ValueError, match=r"parameters\(\)\[3\] \(4,\) contains NaN"):
        export(model, tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == []


def test_not_a_model(tmp_path):
    with pytest.raises(TypeError, match="model must be an fm.Sequential, got list"):
        export([fm.Dense(3)], tmp_path / "m.onnx")


def test_unbuilt_model(tmp_path):
    path = tmp_path / "m.onnx"
    model = fm.Sequential([fm.Dense(3)])
    with pytest.raises(RuntimeError, match="no weights yet.*input_dim"):
        export(model, path)
    assert not path.exists()


def test_unknown_activation_is_named(tmp_path):
    model = _spanning_model("relu", 6.0)
    model.layers[1].activation = _Mish()
    message = r"layers\[1\] \(Dense\): activation _Mish\(\) \(name 'mish'\) has no ONNX export; supported: elu, gelu"
    with pytest.raises(ValueError, match=message):
        export(model, tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == []


def test_unknown_layer_is_named(tmp_path):
    model = fm.Sequential([fm.Dense(3), fm.Dropout(0.1)], input_dim=2)
    model.layers[1] = _Custom()
    with pytest.raises(ValueError, match=r"layers\[1\].*_Custom has no ONNX export"):
        export(model, tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("opset,error,match", [
    (16, ValueError, "opset must be between 17"),
    (10_000, ValueError, "opset must be between 17 .* got 10000"),
    (20.0, TypeError, "opset must be an int .* got float"),
    (True, TypeError, "opset must be an int .* got bool"),
    ("20", TypeError, "opset must be an int .* got str"),
])
def test_bad_opset(tmp_path, opset, error, match):
    model = _spanning_model("relu", 6.0)
    with pytest.raises(error, match=match):
        export(model, tmp_path / "m.onnx", opset=opset)


def test_newest_opset_is_accepted(tmp_path):
    newest = onnx.defs.onnx_opset_version()
    model = _spanning_model("gelu_tanh", 6.0)
    path = tmp_path / "m.onnx"
    export(model, path, opset=newest)
    assert onnx.load(os.fspath(path)).opset_import[0].version == newest
    try:
        session_ok = _run(path, _inputs(5))
    except Exception as exc:  # onnxruntime may lag behind the onnx package
        pytest.skip(f"onnxruntime {ort.__version__} cannot run opset {newest}: {exc}")
    _assert_matches(session_ok, model.predict(_inputs(5)))


def test_bad_path_type(tmp_path):
    model = _spanning_model("relu", 6.0)
    with pytest.raises(TypeError, match="path must be a str or os.PathLike, got int"):
        export(model, 3)


def test_missing_directory(tmp_path):
    path = tmp_path / "missing" / "m.onnx"
    with pytest.raises(OSError) as info:
        export(_spanning_model("relu", 6.0), path)
    assert isinstance(info.value, FileNotFoundError)
    assert str(path) in str(info.value)


def test_path_is_a_directory(tmp_path):
    with pytest.raises(OSError) as info:
        export(_spanning_model("relu", 6.0), tmp_path)
    assert isinstance(info.value, IsADirectoryError) and str(tmp_path) in str(info.value)
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_directory(tmp_path):
    directory = tmp_path / "ro"
    directory.mkdir()
    os.chmod(directory, 0o500)
    try:
        path = directory / "m.onnx"
        with pytest.raises(PermissionError) as info:
            export(_spanning_model("relu", 6.0), path)
        assert str(path) in str(info.value)
    finally:
        os.chmod(directory, 0o700)


def test_pathlike(tmp_path):
    class P:
        def __fspath__(self):
            return str(tmp_path / "p.onnx")

    model = _spanning_model("tanh", 6.0)
    export(model, P())
    export(model, pathlib.Path(tmp_path / "q.onnx"))
    assert (tmp_path / "p.onnx").read_bytes() == (tmp_path / "q.onnx").read_bytes()
