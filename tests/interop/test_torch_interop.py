"""PyTorch interop: fm.from_torch / fm.to_torch (python/fastmlp/torch_interop.py).

The references are torch's own forward passes in float32 (eval mode): from_torch(m).predict(X)
must equal m(X), to_torch(model)(X) must equal model.predict(X), and the weights must survive a
round trip bit for bit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Callable, List

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import fastmlp as fm  # noqa: E402
from fastmlp.torch_interop import from_torch, to_torch  # noqa: E402

RTOL = 1e-5


def _x(n: int, d: int, seed: int = 0, scale: float = 2.0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((n, d)) * scale).astype(np.float32)


def _torch_out(net: "torch.nn.Module", X: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return net(torch.from_numpy(X)).numpy()


def _close(actual: np.ndarray, expected: np.ndarray, rtol: float = RTOL) -> None:
    assert actual.dtype == np.float32 and actual.shape == expected.shape
    scale = max(float(np.abs(expected).max()), 1e-30)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def _randomise(net: "torch.nn.Module", seed: int) -> "torch.nn.Module":
    """Non-trivial norm weights and running statistics (a few training-mode passes)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, (nn.LayerNorm, nn.BatchNorm1d)) and getattr(module, "weight", None) is not None:
                module.weight.copy_(torch.rand(module.weight.shape, generator=g) + 0.5)
                if module.bias is not None:
                    module.bias.copy_(torch.randn(module.bias.shape, generator=g))
    net.train()
    first = next(m for m in net.modules() if isinstance(m, (nn.Linear, nn.LayerNorm, nn.BatchNorm1d)))
    d = first.in_features if isinstance(first, nn.Linear) else (
        first.normalized_shape[0] if isinstance(first, nn.LayerNorm) else first.num_features
    )
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(32, d, generator=g) * 3 + 1)
    net.eval()
    return net


TORCH_ACTIVATIONS: List[Callable[[], "torch.nn.Module"]] = [
    nn.ReLU,
    lambda: nn.ReLU(inplace=True),
    nn.LeakyReLU,
    lambda: nn.LeakyReLU(negative_slope=0.2),
    lambda: nn.LeakyReLU(negative_slope=-0.3),
    nn.ELU,
    lambda: nn.ELU(alpha=0.5),
    nn.SELU,
    nn.GELU,
    lambda: nn.GELU(approximate="tanh"),
    nn.SiLU,
    nn.Softplus,
    lambda: nn.Softplus(beta=2.0, threshold=1.5),
    nn.Sigmoid,
    nn.Tanh,
    nn.Identity,
]


@pytest.mark.parametrize("make_act", TORCH_ACTIVATIONS, ids=lambda f: repr(f()))
def test_from_torch_activation_matches_torch(make_act: Callable[[], "torch.nn.Module"]) -> None:
    torch.manual_seed(1)
    m = nn.Sequential(nn.Linear(7, 16), make_act(), nn.Linear(16, 5), make_act()).eval()
    X = _x(33, 7)
    model = from_torch(m)
    _close(model.predict(X), _torch_out(m, X))
    assert [type(l) for l in model.layers] == [fm.Dense, fm.Dense]


@pytest.mark.parametrize("dim", [-1, 1])
def test_from_torch_softmax_last(dim: int) -> None:
    torch.manual_seed(2)
    m = nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 4), nn.Softmax(dim=dim)).eval()
    X = _x(20, 6)
    model = from_torch(m)
    assert model.layers[-1].activation.name == "softmax"
    out = model.predict(X)
    _close(out, _torch_out(m, X))
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-6)


def _layer_kind_nets() -> List["torch.nn.Sequential"]:
    torch.manual_seed(3)
    return [
        nn.Sequential(nn.Linear(9, 14), nn.ReLU(), nn.LayerNorm(14), nn.Linear(14, 3)),
        nn.Sequential(nn.Linear(9, 14), nn.LayerNorm(14, eps=1e-3, elementwise_affine=False), nn.Linear(14, 3)),
        nn.Sequential(nn.Linear(9, 14), nn.LayerNorm(14, bias=False), nn.Linear(14, 3)),
        nn.Sequential(nn.Linear(9, 14), nn.GELU(), nn.BatchNorm1d(14), nn.Dropout(0.3), nn.Linear(14, 3)),
        nn.Sequential(nn.Linear(9, 14), nn.BatchNorm1d(14, eps=1e-3, momentum=0.3, affine=False), nn.Linear(14, 3)),
        nn.Sequential(nn.Linear(9, 14), nn.BatchNorm1d(14, track_running_stats=False), nn.Linear(14, 3)),
        nn.Sequential(nn.BatchNorm1d(9), nn.Linear(9, 3)),  # a norm layer first gives the input width
        nn.Sequential(nn.LayerNorm(9), nn.Linear(9, 4, bias=False), nn.SiLU()),
        nn.Sequential(nn.Sequential(nn.Linear(9, 8), nn.ELU()), nn.Identity(), nn.Sequential(nn.Linear(8, 2))),
        nn.Sequential(nn.Linear(9, 8), nn.Identity(), nn.Tanh(), nn.Dropout(0.0), nn.Linear(8, 1)),
        nn.Sequential(nn.Linear(1, 1)),
    ]


@pytest.mark.parametrize("index", range(len(_layer_kind_nets())))
def test_from_torch_layer_kinds_match_torch(index: int) -> None:
    m = _randomise(_layer_kind_nets()[index], seed=index)
    X = _x(25, _in_width(m), seed=index)
    model = from_torch(m, seed=index)
    assert model.seed == index and model.input_dim == X.shape[1]
    _close(model.predict(X), _torch_out(m, X))
    # one sample too (BatchNorm with running statistics needs no batch)
    if not any(isinstance(mod, nn.BatchNorm1d) and not mod.track_running_stats for mod in m.modules()):
        _close(model.predict(X[:1]), _torch_out(m, X[:1]))
    else:  # batch statistics of one sample: both refuse
        with pytest.raises(ValueError, match="more than 1 value per channel"):
            _torch_out(m, X[:1])
        with pytest.raises(ValueError, match="more than 1 value per channel"):
            model.predict(X[:1])


def _in_width(m: "torch.nn.Module") -> int:
    for mod in m.modules():
        if isinstance(mod, nn.Linear):
            return int(mod.in_features)
        if isinstance(mod, nn.LayerNorm):
            return int(mod.normalized_shape[0])
        if isinstance(mod, nn.BatchNorm1d):
            return int(mod.num_features)
    raise AssertionError


def test_from_torch_copies_and_maps_hyperparameters() -> None:
    torch.manual_seed(4)
    m = _randomise(
        nn.Sequential(
            nn.Linear(5, 6), nn.LeakyReLU(0.3), nn.Dropout(0.25), nn.BatchNorm1d(6, eps=2e-5, momentum=0.05),
            nn.Linear(6, 4), nn.Softplus(beta=3.0, threshold=7.0), nn.LayerNorm(4, eps=1e-4), nn.Linear(4, 2),
        ),
        seed=4,
    )
    model = from_torch(m)
    d0, drop, bn, d1, ln, d2 = model.layers
    assert isinstance(drop, fm.Dropout) and drop.rate == 0.25
    assert d0.activation == fm.activations.LeakyReLU(0.3)
    assert isinstance(bn, fm.BatchNorm) and (bn.eps, bn.momentum, bn.affine, bn.track_running_stats) == (
        2e-5, 0.05, True, True
    )
    assert d1.activation == fm.activations.Softplus(beta=3.0, threshold=7.0)
    assert isinstance(ln, fm.LayerNorm) and ln.eps == 1e-4 and d2.activation.name == "identity"
    expected = [p.detach().numpy() for p in m.parameters()]
    got = model.parameters()
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)
    np.testing.assert_array_equal(model.buffers()[0], m[3].running_mean.numpy())
    np.testing.assert_array_equal(model.buffers()[1], m[3].running_var.numpy())
    # copies, not shared memory: changing the torch module leaves the fm model alone
    before = model.parameters()[0].copy()
    with torch.no_grad():
        m[0].weight.add_(1.0)
    np.testing.assert_array_equal(model.parameters()[0], before)


def test_from_torch_float64_module_is_rounded_to_float32() -> None:
    torch.manual_seed(5)
    m = nn.Sequential(nn.Linear(8, 10), nn.Tanh(), nn.Linear(10, 3)).double().eval()
    model = from_torch(m)
    np.testing.assert_array_equal(model.parameters()[0], m[0].weight.detach().numpy().astype(np.float32))
    X = _x(12, 8)
    with torch.no_grad():
        ref = m(torch.from_numpy(X.astype(np.float64))).numpy()
    _close(model.predict(X), ref.astype(np.float32), rtol=1e-4)


def test_from_torch_training_mode_module_gives_eval_semantics() -> None:
    torch.manual_seed(6)
    m = _randomise(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5), nn.BatchNorm1d(8), nn.Linear(8, 2)), 6)
    m.train()
    model = from_torch(m)
    assert m.training  # not changed by the conversion
    X = _x(10, 4)
    _close(model.predict(X), _torch_out(m.eval(), X))


def test_dropout_between_linear_and_relu_is_commuted() -> None:
    torch.manual_seed(7)
    m = nn.Sequential(nn.Linear(5, 9), nn.Dropout(0.2), nn.LeakyReLU(0.1), nn.Linear(9, 3), nn.Dropout(0.1), nn.ReLU())
    model = from_torch(m.eval())
    assert [type(l).__name__ for l in model.layers] == ["Dense", "Dropout", "Dense", "Dropout"]
    assert model.layers[0].activation == fm.activations.LeakyReLU(0.1)
    assert model.layers[2].activation.name == "relu"
    X = _x(15, 5)
    _close(model.predict(X), _torch_out(m, X))
    # exact in training too: dropout(relu(z)) == relu(dropout(z)) for the same mask
    z = torch.randn(50, 9)
    mask = (torch.rand(50, 9) > 0.2).float() / 0.8
    assert torch.equal(torch.relu(z * mask), torch.relu(z) * mask)


def test_from_torch_then_train_in_fastmlp() -> None:
    torch.manual_seed(8)
    m = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    model = from_torch(m, seed=3, input_dim=4)
    model.compile(loss="cross_entropy", optimizer=fm.optim.SGD(lr=0.1), metrics=["accuracy"])
    X = _x(120, 4)
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 1).astype(np.int64)
    before = model.evaluate(X, y)["loss"]
    model.fit(X, y, epochs=20, batch_size=16, verbose=0)
    assert model.evaluate(X, y)["loss"] < before


# ----------------------------------------------------------------------------- to_torch


def _fm_models() -> List[fm.Sequential]:
    acts = [
        "relu", fm.activations.LeakyReLU(0.2), "elu", fm.activations.ELU(alpha=0.7), "selu", "gelu", "gelu_tanh",
        "silu", "softplus", fm.activations.Softplus(beta=0.5, threshold=3.0), "sigmoid", "tanh", None,
    ]
    models = [fm.Sequential([fm.Dense(12, activation=a), fm.Dense(4, activation=a)], input_dim=6, seed=i)
              for i, a in enumerate(acts)]
    models += [
        fm.Sequential([fm.Dense(10, activation="relu"), fm.Dense(5, activation="softmax")], input_dim=6, seed=20),
        fm.Sequential(
            [fm.Dense(16, "relu"), fm.BatchNorm(), fm.Dropout(0.3), fm.Dense(8, "tanh"), fm.LayerNorm(), fm.Dense(3)],
            input_dim=6, seed=21,
        ),
        fm.Sequential(
            [fm.LayerNorm(eps=1e-3, elementwise_affine=False), fm.Dense(8, "gelu"),
             fm.BatchNorm(momentum=0.2, eps=1e-4, affine=False), fm.Dense(2)],
            input_dim=6, seed=22,
        ),
        fm.Sequential([fm.BatchNorm(track_running_stats=False), fm.Dense(3, "silu")], input_dim=6, seed=23),
        fm.Sequential([fm.Dense(1)], input_dim=1, seed=24),
    ]
    return models


def _train_a_little(model: fm.Sequential) -> None:
    """Moves the weights, norm parameters and running statistics away from their initial values."""
    d = model.input_dim
    X = _x(64, d, seed=model.seed)
    y = np.random.default_rng(model.seed).integers(0, max(model.output_dim, 2), 64)
    if model.output_dim == 1:  # one output: binary labels (cross_entropy over one output learns nothing)
        model.compile(loss="binary_cross_entropy", optimizer=fm.optim.Adam(lr=1e-2))
        y = y.astype(np.float32)
    else:
        model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-2))
    model.fit(X, y, epochs=2, batch_size=16, verbose=0)


@pytest.mark.parametrize("index", range(len(_fm_models())))
def test_to_torch_reproduces_predict(index: int) -> None:
    model = _fm_models()[index]
    _train_a_little(model)
    net = to_torch(model)
    assert isinstance(net, nn.Sequential) and not net.training
    assert all(p.dtype == torch.float32 and p.requires_grad for p in net.parameters())
    X = _x(30, model.input_dim, seed=index)
    _close(_torch_out(net, X), model.predict(X))
    # the round trip back is bit-exact, with the same architecture
    back = from_torch(net, seed=model.seed)
    assert back.get_config() == model.get_config()
    for a, b in zip(back.parameters(), model.parameters()):
        np.testing.assert_array_equal(a, b)
    assert len(back.buffers()) == len(model.buffers())
    for a, b in zip(back.buffers(), model.buffers()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(back.predict(X), model.predict(X))


def test_to_torch_modules_and_hyperparameters() -> None:
    model = fm.Sequential(
        [fm.Dense(7, fm.activations.GELU(approximate="tanh")), fm.Dropout(0.4),
         fm.BatchNorm(momentum=0.01, eps=3e-5, affine=False, track_running_stats=True),
         fm.Dense(5, fm.activations.Softplus(beta=2.0, threshold=4.0)), fm.LayerNorm(eps=1e-6), fm.Dense(2, "softmax")],
        input_dim=3,
    )
    net = to_torch(model)
    kinds = [type(m) for m in net]
    assert kinds == [nn.Linear, nn.GELU, nn.Dropout, nn.BatchNorm1d, nn.Linear, nn.Softplus, nn.LayerNorm,
                     nn.Linear, nn.Softmax]
    assert net[1].approximate == "tanh" and net[2].p == 0.4
    assert (net[3].momentum, net[3].eps, net[3].affine, net[3].track_running_stats) == (0.01, 3e-5, False, True)
    assert (net[5].beta, net[5].threshold) == (2.0, 4.0)
    assert net[6].eps == 1e-6 and net[6].normalized_shape == (5,) and net[8].dim == -1
    assert (net[0].in_features, net[0].out_features, net[4].in_features, net[7].out_features) == (3, 7, 7, 2)


def test_to_torch_is_independent_float32_and_leaves_torch_rng_alone() -> None:
    model = fm.Sequential([fm.Dense(6, "relu"), fm.BatchNorm(), fm.Dense(2)], input_dim=4, seed=1)
    state = torch.get_rng_state()
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        net = to_torch(model)
    finally:
        torch.set_default_dtype(default)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(t.dtype == torch.float32 for t in net.state_dict().values() if t.is_floating_point())
    before = model.parameters()[0].copy()
    with torch.no_grad():
        net[0].weight.mul_(2.0)
        net[2].running_mean.add_(1.0)
    np.testing.assert_array_equal(model.parameters()[0], before)
    np.testing.assert_array_equal(model.buffers()[0], 0.0)
    model.parameters()[0][...] = 7.0  # and the other way round
    assert not torch.any(net[0].weight == 7.0)


def test_to_torch_network_trains_in_torch() -> None:
    model = fm.Sequential([fm.Dense(8, "tanh"), fm.Dense(3)], input_dim=4, seed=2)
    net = to_torch(model).train()
    X = torch.from_numpy(_x(40, 4))
    y = torch.from_numpy(np.random.default_rng(0).integers(0, 3, 40))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(X), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    back = from_torch(net.eval())
    _close(back.predict(X.numpy()), _torch_out(net, X.numpy()))


def test_torch_round_trip_state_dict_bit_exact() -> None:
    torch.manual_seed(9)
    m = _randomise(
        nn.Sequential(nn.Linear(5, 7), nn.SELU(), nn.BatchNorm1d(7), nn.Linear(7, 7), nn.LayerNorm(7), nn.Linear(7, 3)),
        seed=9,
    )
    again = to_torch(from_torch(m))
    sd, sd2 = m.state_dict(), again.state_dict()
    keys = [k for k in sd if not k.endswith("num_batches_tracked")]
    assert keys == [k for k in sd2 if not k.endswith("num_batches_tracked")]
    for k in keys:
        assert torch.equal(sd[k], sd2[k]), k


def test_from_torch_converts_batch_norm_momentum_none() -> None:
    """Once refused ("momentum=None ... not supported"): BatchNorm1d(momentum=None) becomes
    BatchNorm(momentum=None) with its num_batches_tracked, and converts back bit for bit."""
    torch.manual_seed(4)
    m = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4, momentum=None), nn.Linear(4, 2)).train()
    with torch.no_grad():
        for _ in range(3):
            m(torch.randn(6, 4))
    model = from_torch(m.eval())
    bn = model.layers[1]
    assert isinstance(bn, fm.BatchNorm) and bn.momentum is None
    assert int(model.buffers()[2]) == 3
    X = torch.randn(7, 4).numpy()
    _close(model.predict(X), _torch_out(m, X))
    sd, sd2 = m.state_dict(), to_torch(model).state_dict()
    assert list(sd) == list(sd2)
    for k in sd:
        assert sd[k].dtype == sd2[k].dtype and torch.equal(sd[k], sd2[k]), k


# ----------------------------------------------------------------------------- errors
def _negative_counter() -> "torch.nn.Sequential":
    m = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4, momentum=None))
    m[1].num_batches_tracked.fill_(-1)
    return m



@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: nn.Sequential(nn.Linear(4, 4), nn.Conv1d(1, 1, 1)), r"module 1 \(Conv1d.*not supported"),
        (lambda: nn.Sequential(nn.Linear(4, 4), nn.Softmax(dim=1), nn.Linear(4, 2)), r"module 1.*last module"),
        (lambda: nn.Sequential(nn.Linear(4, 4), nn.Softmax(dim=0)), r"module 1.*dim=0"),
        (lambda: nn.Sequential(nn.Linear(4, 4), nn.Softmax(dim=None)), r"module 1.*dim=None"),
        (lambda: _negative_counter(), r"module 1.*num_batches_tracked is negative \(-1\)"),
        (lambda: nn.Sequential(nn.Linear(4, 6), nn.LayerNorm((2, 3))), r"module 1.*normalized_shape"),
        (lambda: nn.Sequential(nn.Linear(4, 6), nn.Linear(5, 2)), r"module 1.*expects 5 input features.*give 6"),
        (lambda: nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(5)), r"module 1.*expects 5 input features"),
        (lambda: nn.Sequential(), r"empty"),
        (lambda: nn.Sequential(nn.Dropout(0.1), nn.Identity()), r"no torch.nn.Linear"),
        (lambda: nn.Sequential(nn.Linear(4, 2), nn.Dropout(1.0)), r"module 1.*rate must be in \[0, 1\)"),
        (lambda: nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4, eps=0.0)), r"module 1.*eps"),
        (lambda: nn.Sequential(nn.LazyLinear(3)), r"module 0.*lazy"),
        (lambda: nn.Sequential(nn.Linear(3, 3), nn.Sequential(nn.Linear(3, 3), nn.MaxPool1d(2))),
         r"module 2 \('1\.1'\) \(MaxPool1d.*not supported"),
        (lambda: nn.Sequential(nn.Linear(3, 3), nn.LeakyReLU(float("inf"))), r"module 1.*negative_slope"),
    ],
)
def test_from_torch_rejects(build: Callable[[], "torch.nn.Sequential"], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        from_torch(build())


@pytest.mark.parametrize(
    "build, kinds",
    [
        (lambda: nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Tanh()), ["Dense", "Activation"]),
        (lambda: nn.Sequential(nn.ReLU(), nn.Linear(4, 4)), ["Activation", "Dense"]),
        (lambda: nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4), nn.ReLU()), ["Dense", "LayerNorm", "Activation"]),
        (lambda: nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.1), nn.Tanh()), ["Dense", "Dropout", "Activation"]),
    ],
)
def test_from_torch_makes_an_activation_layer_where_no_linear_precedes(
    build: Callable[[], "torch.nn.Sequential"], kinds: List[str]
) -> None:
    """An activation that cannot join the Linear before it (once refused) becomes fm.Activation."""
    torch.manual_seed(3)
    m = build().eval()
    model = from_torch(m)
    assert [type(layer).__name__ for layer in model.layers] == kinds
    X = _x(9, 4)
    _close(model.predict(X), _torch_out(m, X))


def test_from_torch_rejects_subclass_with_own_forward_and_bad_values() -> None:
    class Shifted(nn.ReLU):
        def forward(self, x: "torch.Tensor") -> "torch.Tensor":
            return torch.relu(x - 1)

    class MyLinear(nn.Linear):
        def forward(self, x: "torch.Tensor") -> "torch.Tensor":
            return super().forward(x) * 2

    with pytest.raises(ValueError, match=r"module 1 .*Shifted.*not supported"):
        from_torch(nn.Sequential(nn.Linear(3, 3), Shifted()))
    with pytest.raises(ValueError, match=r"module 0 .*MyLinear.*not supported"):
        from_torch(nn.Sequential(MyLinear(3, 3)))
    bad = nn.Sequential(nn.Linear(3, 3))
    with torch.no_grad():
        bad[0].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"module 0 .*weight contains NaN"):
        from_torch(bad)
    bn = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
    bn[1].running_var.fill_(-1.0)
    with pytest.raises(ValueError, match=r"module 1 .*running_var has negative"):
        from_torch(bn)
    with pytest.raises(TypeError, match=r"module must be a torch.nn.Sequential, got Linear"):
        from_torch(nn.Linear(3, 3))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"module must be a torch.nn.Sequential, got list"):
        from_torch([nn.Linear(3, 3)])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"input_dim is 4, but the module's first layer expects 3"):
        from_torch(nn.Sequential(nn.Linear(3, 3)), input_dim=4)
    with pytest.raises(ValueError, match=r"input_dim"):
        from_torch(nn.Sequential(nn.Linear(3, 3)), input_dim=0)
    with pytest.raises(ValueError, match=r"seed"):
        from_torch(nn.Sequential(nn.Linear(3, 3)), seed=-1)


def test_to_torch_rejects() -> None:
    with pytest.raises(TypeError, match=r"model must be an fm.Sequential, got Sequential"):
        to_torch(nn.Sequential(nn.Linear(2, 2)))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match=r"no weights yet"):
        to_torch(fm.Sequential([fm.Dense(2)]))


def test_module_imports_without_torch() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["torch"] = None  # import torch -> ImportError
        import fastmlp as fm
        from fastmlp.torch_interop import from_torch, to_torch
        try:
            to_torch(fm.Sequential([fm.Dense(2)], input_dim=2))
        except ImportError as exc:
            assert "needs torch" in str(exc), exc
            print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_flatten_and_identity_are_dropped() -> None:
    torch.manual_seed(10)
    m = nn.Sequential(nn.Flatten(), nn.Linear(12, 6), nn.Flatten(), nn.ReLU(), nn.Identity(), nn.Linear(6, 2)).eval()
    model = from_torch(m)
    assert [type(l) for l in model.layers] == [fm.Dense, fm.Dense] and model.layers[0].activation.name == "relu"
    X = _x(9, 12)
    _close(model.predict(X), _torch_out(m, X))
    # images flattened by torch give the same outputs as the flat rows fastmlp takes
    with torch.no_grad():
        images = m(torch.from_numpy(X).reshape(9, 3, 4)).numpy()
    _close(model.predict(X), images)
    with pytest.raises(ValueError, match=r"module 1 \(Flatten\(start_dim=0.*not supported"):
        from_torch(nn.Sequential(nn.Linear(3, 3), nn.Flatten(start_dim=0)))
