"""Every loss against PyTorch in float64: value and gradient of the mean (torch.nn.functional with
reduction='mean') over a grid of shapes and hyperparameters, extreme logits included; 10 Adam steps
of a small network per loss against a float64 torch twin; sample_weight and class_weight against
their definitions (weighted mean sum(w * loss) / sum(w), PyTorch's CrossEntropyLoss(weight=...))
and against repeated samples; and the validation of targets and weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import fastmlp as fm
from fastmlp import _core

from torch_twin import torch_twin

SHAPES = [(1, 1), (1, 2), (2, 3), (7, 3), (13, 10), (31, 17), (64, 2)]
CLASS_SHAPES = [(r, c) for r, c in SHAPES if c > 1]
SMOOTHING = [0.0, 0.1, 0.5]


def _t(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float64))


def _torch_value_grad(fn, pred):
    """(fn(pred) as float, d fn / d pred as float64 array), pred float32 promoted to float64."""
    z = _t(pred).requires_grad_(True)
    value = fn(z)
    value.backward()
    return float(value.detach()), z.grad.numpy()


def _check(name, pred, target, ref_fn, rtol=1e-5, **kw):
    value, grad = _core.loss(name, pred, target, **kw)
    rvalue, rgrad = _torch_value_grad(ref_fn, pred)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert grad.dtype == np.float32 and grad.shape == pred.shape
    np.testing.assert_allclose(value, rvalue, rtol=rtol, atol=1e-7)
    np.testing.assert_allclose(grad, rgrad, rtol=rtol, atol=1e-7 * max(1.0, np.abs(rgrad).max()))


def _data(rows, cols, seed, scale=3.0):
    rng = np.random.default_rng(seed * 7919 + rows * 101 + cols)
    return rng, (scale * rng.standard_normal((rows, cols))).astype(np.float32)


def _extreme_logits(rng, rows, cols):
    """Logits of +-1e4 (plus small noise), one row all +1e4 and one all -1e4."""
    z = rng.choice(np.array([-1e4, 1e4], dtype=np.float32), size=(rows, cols))
    z += rng.uniform(-5.0, 5.0, size=(rows, cols)).astype(np.float32)
    z[0, :] = 1e4
    if rows > 1:
        z[1, :] = -1e4
    return z


def _probabilities(rng, rows, cols, one_hot=False):
    if one_hot:
        return np.eye(cols, dtype=np.float32)[rng.integers(0, cols, rows)]
    p = rng.random((rows, cols)) ** 3
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


# --------------------------------------------------------------------------- regression losses
@pytest.mark.parametrize("rows,cols", SHAPES)
def test_mse(rows, cols):
    rng, pred = _data(rows, cols, 1)
    y = rng.standard_normal((rows, cols)).astype(np.float32)
    _check("mse", pred, y, lambda z: F.mse_loss(z, _t(y)))


@pytest.mark.parametrize("rows,cols", SHAPES)
def test_mae(rows, cols):
    rng, pred = _data(rows, cols, 2)
    y = rng.standard_normal((rows, cols)).astype(np.float32)
    y.flat[0] = pred.flat[0]  # a zero error: gradient 0, as torch.sign
    _check("mae", pred, y, lambda z: F.l1_loss(z, _t(y)))


@pytest.mark.parametrize("delta", [0.25, 1.0, 2.5])
@pytest.mark.parametrize("rows,cols", SHAPES)
def test_huber(rows, cols, delta):
    rng, pred = _data(rows, cols, 3)
    y = rng.standard_normal((rows, cols)).astype(np.float32)
    _check("huber", pred, y, lambda z: F.huber_loss(z, _t(y), delta=delta), huber_delta=delta)


@pytest.mark.parametrize("delta", [0.5, 1.0, 2.0])
def test_huber_at_error_equal_to_delta(delta):
    # errors of exactly +-delta (representable), beside errors just inside and outside
    y = np.zeros((2, 4), np.float32)
    pred = np.array([[delta, -delta, 0.0, delta * 0.999], [-delta * 1.001, delta, 3 * delta, -delta]], np.float32)
    _check("huber", pred, y, lambda z: F.huber_loss(z, _t(y), delta=delta), huber_delta=delta)
    value, grad = _core.loss("huber", pred[:1, :2], y[:1, :2], huber_delta=delta)
    assert value == 0.5 * delta * delta  # both pieces give delta^2 / 2 there
    np.testing.assert_array_equal(grad, np.array([[delta, -delta]], np.float32) / 2)


# --------------------------------------------------------------------------- cross-entropy
@pytest.mark.parametrize("eps", SMOOTHING)
@pytest.mark.parametrize("rows,cols", CLASS_SHAPES)
def test_cross_entropy_labels(rows, cols, eps):
    rng, z = _data(rows, cols, 4)
    y = rng.integers(0, cols, rows)
    _check("cross_entropy", z, y, lambda t: F.cross_entropy(t, torch.from_numpy(y), label_smoothing=eps),
           label_smoothing=eps)


@pytest.mark.parametrize("eps", SMOOTHING)
@pytest.mark.parametrize("rows,cols", CLASS_SHAPES)
def test_cross_entropy_labels_extreme_logits(rows, cols, eps):
    rng = np.random.default_rng(rows * cols)
    z = _extreme_logits(rng, rows, cols)
    y = rng.integers(0, cols, rows)
    _check("cross_entropy", z, y, lambda t: F.cross_entropy(t, torch.from_numpy(y), label_smoothing=eps),
           label_smoothing=eps)


@pytest.mark.parametrize("one_hot", [False, True])
@pytest.mark.parametrize("eps", SMOOTHING)
@pytest.mark.parametrize("rows,cols", CLASS_SHAPES)
def test_cross_entropy_probabilities(rows, cols, eps, one_hot):
    rng, z = _data(rows, cols, 5)
    q = _probabilities(rng, rows, cols, one_hot)
    _check("cross_entropy", z, q, lambda t: F.cross_entropy(t, _t(q), label_smoothing=eps), label_smoothing=eps)


@pytest.mark.parametrize("eps", SMOOTHING)
@pytest.mark.parametrize("rows,cols", CLASS_SHAPES)
def test_cross_entropy_probabilities_extreme_logits(rows, cols, eps):
    rng = np.random.default_rng(rows + cols)
    z = _extreme_logits(rng, rows, cols)
    q = _probabilities(rng, rows, cols)
    _check("cross_entropy", z, q, lambda t: F.cross_entropy(t, _t(q), label_smoothing=eps), label_smoothing=eps)


def test_one_hot_probabilities_equal_labels():
    rng, z = _data(9, 4, 6)
    y = rng.integers(0, 4, 9)
    for eps in SMOOTHING:
        v1, g1 = _core.loss("cross_entropy", z, y, label_smoothing=eps)
        v2, g2 = _core.loss("cross_entropy", z, np.eye(4, dtype=np.float32)[y], label_smoothing=eps)
        np.testing.assert_allclose(v1, v2, rtol=1e-12)
        np.testing.assert_allclose(g1, g2, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("eps", SMOOTHING)
@pytest.mark.parametrize("rows,cols", CLASS_SHAPES)
def test_cross_entropy_class_weight(rows, cols, eps):
    rng, z = _data(rows, cols, 7)
    y = rng.integers(0, cols, rows)
    cw = rng.uniform(0.1, 3.0, cols).astype(np.float32)
    _check("cross_entropy", z, y,
           lambda t: F.cross_entropy(t, torch.from_numpy(y), weight=_t(cw), label_smoothing=eps),
           class_weight=cw, label_smoothing=eps)


@pytest.mark.parametrize("rows,classes", [(1, 2), (7, 5), (31, 17)])
def test_cross_entropy_matches_torch(rows, classes):
    # against torch's float32 cross_entropy: the precision fastmlp computes in
    rng = np.random.default_rng(rows)
    logits = (4 * rng.standard_normal((rows, classes))).astype(np.float32)
    labels = rng.integers(0, classes, size=rows).astype(np.int64)
    t = torch.from_numpy(logits.copy()).requires_grad_(True)
    tl = torch.nn.functional.cross_entropy(t, torch.from_numpy(labels))
    tl.backward()
    value, grad = _core.loss("cross_entropy", logits, labels)
    np.testing.assert_allclose(value, float(tl.detach()), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-4, atol=1e-7)


# --------------------------------------------------------------------------- binary cross-entropy
@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize("rows,cols", SHAPES)
def test_binary_cross_entropy(rows, cols, hard):
    rng, z = _data(rows, cols, 8)
    y = (rng.integers(0, 2, (rows, cols)) if hard else rng.random((rows, cols))).astype(np.float32)
    _check("binary_cross_entropy", z, y, lambda t: F.binary_cross_entropy_with_logits(t, _t(y)))


@pytest.mark.parametrize("rows,cols", SHAPES)
def test_binary_cross_entropy_extreme_logits(rows, cols):
    rng = np.random.default_rng(11 * rows + cols)
    z = _extreme_logits(rng, rows, cols)
    y = rng.integers(0, 2, (rows, cols)).astype(np.float32)
    y.flat[::3] = 0.3
    _check("binary_cross_entropy", z, y, lambda t: F.binary_cross_entropy_with_logits(t, _t(y)))


@pytest.mark.parametrize("rows,cols", SHAPES)
def test_binary_cross_entropy_class_weight_hard_targets(rows, cols):
    # 0/1 targets: each element weighted by cw[y], divided by the sum of those weights
    rng, z = _data(rows, cols, 9)
    y = rng.integers(0, 2, (rows, cols)).astype(np.float32)
    cw = np.array([0.3, 2.5], np.float32)
    w = _t(np.where(y > 0.5, cw[1], cw[0]))
    _check("binary_cross_entropy", z, y,
           lambda t: F.binary_cross_entropy_with_logits(t, _t(y), weight=w, reduction="sum") / w.sum(),
           class_weight=cw)


@pytest.mark.parametrize("rows,cols", SHAPES)
def test_binary_cross_entropy_class_weight_soft_targets(rows, cols):
    rng, z = _data(rows, cols, 10)
    y = rng.random((rows, cols)).astype(np.float32)
    cw = np.array([1.7, 0.4], np.float32)
    yt = _t(y)

    def ref(t):
        terms = -(float(cw[1]) * yt * F.logsigmoid(t) + float(cw[0]) * (1 - yt) * F.logsigmoid(-t))
        return terms.sum() / (yt * float(cw[1]) + (1 - yt) * float(cw[0])).sum()

    _check("binary_cross_entropy", z, y, ref, class_weight=cw)


# --------------------------------------------------------------------------- sample weights
def _none_losses(name, t, y, cw=None, eps=0.0, delta=1.0):
    """torch per-term losses (reduction='none') and their weights (without sample weights)."""
    if name == "mse":
        return F.mse_loss(t, _t(y), reduction="none"), torch.ones_like(t)
    if name == "mae":
        return F.l1_loss(t, _t(y), reduction="none"), torch.ones_like(t)
    if name == "huber":
        return F.huber_loss(t, _t(y), delta=delta, reduction="none"), torch.ones_like(t)
    if name == "binary_cross_entropy":
        return F.binary_cross_entropy_with_logits(t, _t(y), reduction="none"), torch.ones_like(t)
    if name == "poisson":
        return F.poisson_nll_loss(t, _t(y), log_input=True, full=False, reduction="none"), torch.ones_like(t)
    yl = torch.from_numpy(np.asarray(y))
    weight = None if cw is None else _t(cw)
    per = F.cross_entropy(t, yl, weight=weight, label_smoothing=eps, reduction="none")
    if yl.ndim == 2:
        return per, torch.ones_like(per)
    return per, (torch.ones_like(per) if cw is None else weight[yl])


def _targets(name, rng, rows, cols):
    if name == "cross_entropy":
        return rng.integers(0, cols, rows)
    if name == "binary_cross_entropy":
        return rng.random((rows, cols)).astype(np.float32)
    if name == "poisson":
        return rng.poisson(2.0, (rows, cols)).astype(np.float32)
    return rng.standard_normal((rows, cols)).astype(np.float32)


WEIGHTED = ["mse", "mae", "huber", "poisson", "cross_entropy", "binary_cross_entropy"]


@pytest.mark.parametrize("name", WEIGHTED)
@pytest.mark.parametrize("rows,cols", CLASS_SHAPES)
def test_sample_weight_is_the_weighted_mean(name, rows, cols):
    rng, z = _data(rows, cols, 12)
    y = _targets(name, rng, rows, cols)
    sw = rng.uniform(0.0, 3.0, rows).astype(np.float32)

    def ref(t):
        per, w = _none_losses(name, t, y)
        s = _t(sw).reshape(-1, *([1] * (per.ndim - 1)))
        return (s * per).sum() / (s * w).sum()

    _check(name, z, y, ref, sample_weight=sw)


@pytest.mark.parametrize("eps", SMOOTHING)
def test_sample_and_class_weight_cross_entropy(eps):
    rng, z = _data(17, 5, 13)
    y = rng.integers(0, 5, 17)
    sw = rng.uniform(0.0, 2.0, 17).astype(np.float32)
    cw = rng.uniform(0.2, 2.0, 5).astype(np.float32)

    def ref(t):
        per, w = _none_losses("cross_entropy", t, y, cw, eps)
        return (_t(sw) * per).sum() / (_t(sw) * w).sum()

    _check("cross_entropy", z, y, ref, sample_weight=sw, class_weight=cw, label_smoothing=eps)


@pytest.mark.parametrize("name", WEIGHTED)
def test_integer_sample_weight_equals_repeated_samples(name):
    rng, z = _data(11, 3, 14)
    y = _targets(name, rng, 11, 3)
    counts = rng.integers(0, 4, 11)
    counts[0] = 2
    counts[-1] = max(counts[-1], 1)  # reduceat below needs every start index inside the repeated rows
    value, grad = _core.loss(name, z, y, sample_weight=counts.astype(np.float32))
    rvalue, rgrad = _core.loss(name, np.repeat(z, counts, axis=0), np.repeat(y, counts, axis=0))
    np.testing.assert_allclose(value, rvalue, rtol=1e-6)
    # a repeated sample's gradient rows add up to the weighted row
    summed = np.add.reduceat(rgrad.astype(np.float64), np.cumsum(np.r_[0, counts[:-1]]), axis=0)
    summed[counts == 0] = 0.0
    np.testing.assert_allclose(grad, summed, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("name", WEIGHTED)
def test_all_ones_weights_equal_no_weights_bit_for_bit(name):
    rng, z = _data(13, 4, 15)
    y = _targets(name, rng, 13, 4)
    value, grad = _core.loss(name, z, y)
    v1, g1 = _core.loss(name, z, y, sample_weight=np.ones(13, np.float32))
    assert value == v1
    np.testing.assert_array_equal(grad, g1)
    if name == "cross_entropy":
        for eps in SMOOTHING:
            a = _core.loss(name, z, y, label_smoothing=eps)
            b = _core.loss(name, z, y, label_smoothing=eps, class_weight=np.ones(4, np.float32))
            assert a[0] == b[0]
            np.testing.assert_array_equal(a[1], b[1])


# --------------------------------------------------------------------------- 10 Adam steps vs torch float64
N_IN, HIDDEN, N_OUT, STEPS = 6, 9, 4, 10


def _twin(seed):
    model = fm.Sequential([fm.Dense(HIDDEN, activation="tanh"), fm.Dense(N_OUT)], input_dim=N_IN, seed=seed)
    return model, torch_twin(model)


# name, fm loss object factory, uses class weights, sample weights, target kind
CASES = [
    ("mse", lambda: fm.losses.MSE(), {}, False),
    ("mae", lambda: fm.losses.MAE(), {}, False),
    ("huber", lambda: fm.losses.Huber(delta=0.5), {"delta": 0.5}, False),
    ("huber", lambda: "huber", {}, True),
    ("cross_entropy", lambda: "cross_entropy", {}, False),
    ("cross_entropy", lambda: fm.losses.CrossEntropy(label_smoothing=0.1), {"eps": 0.1}, False),
    ("cross_entropy", lambda: fm.losses.CrossEntropy(label_smoothing=0.5), {"eps": 0.5}, True),
    ("cross_entropy", lambda: fm.losses.CrossEntropy(label_smoothing=0.1), {"eps": 0.1, "cw": True}, False),
    ("cross_entropy", lambda: "cross_entropy", {"cw": True}, True),
    ("cross_entropy_probs", lambda: "cross_entropy", {}, False),
    ("cross_entropy_probs", lambda: fm.losses.CrossEntropy(label_smoothing=0.1), {"eps": 0.1}, True),
    ("binary_cross_entropy", lambda: "binary_cross_entropy", {}, False),
    ("binary_cross_entropy", lambda: "bce", {}, True),
    ("poisson", lambda: fm.losses.Poisson(), {}, False),
    ("poisson", lambda: "PoissonNLLLoss", {}, True),
]


def _step_data(name, rng, bs):
    x = rng.standard_normal((bs, N_IN)).astype(np.float32)
    if name == "cross_entropy":
        y = rng.integers(0, N_OUT, bs)
    elif name == "cross_entropy_probs":
        y = _probabilities(rng, bs, N_OUT)
    elif name == "binary_cross_entropy":
        y = rng.integers(0, 2, (bs, N_OUT)).astype(np.float32)
    elif name == "poisson":
        y = rng.poisson(1.5, (bs, N_OUT)).astype(np.float32)
    else:
        y = rng.standard_normal((bs, N_OUT)).astype(np.float32)
    return x, y


@pytest.mark.parametrize("case", range(len(CASES)))
def test_ten_adam_steps_match_torch_float64(case):
    name, make, kw, weighted = CASES[case]
    rng = np.random.default_rng(case)
    model, net = _twin(seed=case)
    model.compile(loss=make(), optimizer=fm.optim.Adam(lr=1e-2))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    cw = rng.uniform(0.2, 2.0, N_OUT).astype(np.float32) if kw.get("cw") else None
    core_name = "cross_entropy" if name == "cross_entropy_probs" else name
    losses_fm, losses_torch = [], []
    for step in range(STEPS):
        bs = [1, 7, 16, 5, 13][step % 5]
        x, y = _step_data(name, rng, bs)
        sw = rng.uniform(0.0, 2.0, bs).astype(np.float32) if weighted else None
        if sw is not None:
            sw[0] = 0.5  # never all zero
        cw_dict = None if cw is None else {c: float(w) for c, w in enumerate(cw)}
        losses_fm.append(model.train_step(x, y, sample_weight=sw, class_weight=cw_dict))
        opt.zero_grad()
        per, w = _none_losses(core_name, net(_t(x)), y, cw, kw.get("eps", 0.0), kw.get("delta", 1.0))
        s = torch.ones(bs, dtype=torch.float64) if sw is None else _t(sw)
        s = s.reshape(-1, *([1] * (per.ndim - 1)))
        t_loss = (s * per).sum() / (s * w).sum()
        t_loss.backward()
        losses_torch.append(float(t_loss.detach()))
        opt.step()
    np.testing.assert_allclose(losses_fm, losses_torch, rtol=1e-3, atol=1e-6)
    for p, tp in zip(model.parameters(), net.parameters()):
        np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-3, atol=1e-5)
    # it trained: the first layer moved
    assert np.abs(model.parameters()[0] - _twin(seed=case)[0].parameters()[0]).max() > 1e-2


# --------------------------------------------------------------------------- weights through fit
def _clf(loss="cross_entropy", seed=0, n_out=3):
    m = fm.Sequential([fm.Dense(8, activation="relu"), fm.Dense(n_out)], input_dim=5, seed=seed)
    metrics = ["accuracy"] if fm.losses.get(loss).classification else ["mae"]
    m.compile(loss=loss, optimizer=fm.optim.Adam(lr=1e-2), metrics=metrics)
    return m


def _clf_data(n=37, seed=0, n_out=3):
    rng = np.random.default_rng(seed)
    return rng, rng.standard_normal((n, 5)).astype(np.float32), rng.integers(0, n_out, n)


@pytest.mark.parametrize("batch_size", [1, 8, 37, 64])
def test_fit_all_ones_sample_weight_is_bit_for_bit(batch_size):
    _, X, y = _clf_data()
    a, b = _clf(), _clf()
    ha = a.fit(X, y, epochs=3, batch_size=batch_size, verbose=0)
    hb = b.fit(X, y, epochs=3, batch_size=batch_size, verbose=0, sample_weight=np.ones(37))
    assert ha.history == hb.history
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)


def test_fit_all_ones_class_weight_is_bit_for_bit():
    _, X, y = _clf_data()
    a, b = _clf(fm.losses.CrossEntropy(label_smoothing=0.1)), _clf(fm.losses.CrossEntropy(label_smoothing=0.1))
    a.fit(X, y, epochs=2, batch_size=5, verbose=0)
    b.fit(X, y, epochs=2, batch_size=5, verbose=0, class_weight={0: 1.0, 1: 1, 2: 1.0})
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("loss", ["cross_entropy", "binary_cross_entropy", "mse", "huber"])
def test_fit_sample_weight_equals_repeated_samples(loss):
    rng, X, y = _clf_data(seed=3)
    if loss != "cross_entropy":
        y = rng.random((37, 3)).astype(np.float32)
    counts = rng.integers(0, 4, 37)
    a, b = _clf(loss), _clf(loss)
    # one full batch per epoch, so that the two runs see the same batches
    a.fit(X, y, epochs=3, batch_size=64, verbose=0, sample_weight=counts)
    b.fit(np.repeat(X, counts, axis=0), np.repeat(y, counts, axis=0), epochs=3, batch_size=200, verbose=0)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_allclose(p, q, rtol=1e-4, atol=1e-6)
    assert a.evaluate(X, y, sample_weight=counts)["loss"] == pytest.approx(
        b.evaluate(np.repeat(X, counts, axis=0), np.repeat(y, counts, axis=0))["loss"], rel=1e-5)


@pytest.mark.parametrize("class_weight", [None, {0: 3.0, 2: 0.25}])
def test_shuffled_batches_gather_weights_with_their_samples(class_weight):
    # one batch holding every sample: shuffling only reorders it, so a weight gathered with the
    # wrong sample would change the result
    rng, X, y = _clf_data(seed=4)
    sw = rng.uniform(0.0, 3.0, 37)
    sw[:10] = 0.0
    a, b = _clf(), _clf()
    a.fit(X, y, epochs=4, batch_size=37, shuffle=True, verbose=0, sample_weight=sw, class_weight=class_weight)
    b.fit(X, y, epochs=4, batch_size=37, shuffle=False, verbose=0, sample_weight=sw, class_weight=class_weight)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-7)
    # and the weights matter
    c = _clf()
    c.fit(X, y, epochs=4, batch_size=37, shuffle=False, verbose=0)
    assert not np.allclose(a.parameters()[0], c.parameters()[0], rtol=1e-4, atol=1e-6)


def test_class_weight_through_train_step_matches_torch_weight():
    rng, X, y = _clf_data(seed=5)
    model = _clf()
    cw = {0: 0.5, 1: 2.0, 2: 1.25}
    loss = model.train_step(X, y, class_weight=cw)
    # the loss was computed before the update: rebuild the initial network
    init = _clf()
    W0, b0, W1, b1 = [_t(a) for a in init.parameters()]
    z = torch.relu(_t(X) @ W0.T + b0) @ W1.T + b1
    expected = F.cross_entropy(z, torch.from_numpy(y), weight=_t([0.5, 2.0, 1.25]))
    assert loss == pytest.approx(float(expected), rel=1e-5)


def test_batch_with_all_zero_weights_has_zero_gradient():
    # plain SGD: a batch whose weights are all zero moves nothing, the next batch trains as usual
    _, X, _ = _clf_data()
    ones = np.ones(8, dtype=np.int64)
    a, b = _clf(), _clf()
    for m in (a, b):
        m.compile(loss="cross_entropy", optimizer=fm.optim.SGD(lr=0.1))
    before = [p.copy() for p in a.parameters()]
    h = a.fit(X[:8], ones, epochs=1, batch_size=4, shuffle=False, verbose=0, sample_weight=np.r_[0, 0, 0, 0, 1, 1, 1, 1])
    b.fit(X[4:8], ones[4:], epochs=1, batch_size=4, shuffle=False, verbose=0)
    assert np.isfinite(h.history["loss"][0])
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)
    assert any(not np.array_equal(p, q) for p, q in zip(before, a.parameters()))
    a.train_step(X[:2], ones[:2], sample_weight=np.array([0.0, 1.0]))  # one zero weight is fine


# --------------------------------------------------------------------------- metrics
def test_binary_accuracy_thresholds_logits_at_zero():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((29, 5)).astype(np.float32)
    Y = rng.integers(0, 2, (29, 3)).astype(np.float32)
    m = _clf("binary_cross_entropy")
    scores = m.evaluate(X, Y)
    z = m.predict(X)
    assert scores["accuracy"] == pytest.approx(((z > 0) == (Y > 0.5)).mean(), abs=1e-12)
    expected = F.binary_cross_entropy_with_logits(_t(z), _t(Y))
    assert scores["loss"] == pytest.approx(float(expected), rel=1e-5)


def test_probability_targets_accuracy_and_loss():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((23, 5)).astype(np.float32)
    Q = _probabilities(rng, 23, 3)
    m = _clf(fm.losses.CrossEntropy(label_smoothing=0.1))
    scores = m.evaluate(X, Q)
    z = m.predict(X)
    assert scores["accuracy"] == pytest.approx((z.argmax(1) == Q.argmax(1)).mean(), abs=1e-12)
    assert scores["loss"] == pytest.approx(float(F.cross_entropy(_t(z), _t(Q), label_smoothing=0.1)), rel=1e-5)
    h = m.fit(X, Q, epochs=2, batch_size=4, verbose=0, validation_data=(X, Q))
    assert np.isfinite(h.history["loss"]).all() and "val_accuracy" in h.history


@pytest.mark.parametrize("loss", ["mae", fm.losses.Huber(delta=0.3)])
def test_regression_losses_report_mse_and_mae_metrics(loss):
    rng = np.random.default_rng(8)
    X = rng.standard_normal((19, 5)).astype(np.float32)
    Y = rng.standard_normal((19, 2)).astype(np.float32)
    m = fm.Sequential([fm.Dense(4, activation="tanh"), fm.Dense(2)], input_dim=5)
    m.compile(loss=loss, optimizer="sgd", metrics=["mse", "mae"])
    scores = m.evaluate(X, Y)
    err = m.predict(X).astype(np.float64) - Y
    assert scores["mse"] == pytest.approx((err**2).mean(), rel=1e-5)
    assert scores["mae"] == pytest.approx(np.abs(err).mean(), rel=1e-5)
    if loss == "mae":
        assert scores["loss"] == pytest.approx(scores["mae"], rel=1e-12)
    else:
        assert scores["loss"] == pytest.approx(float(F.huber_loss(_t(err), torch.zeros(19, 2, dtype=torch.float64), delta=0.3)), rel=1e-5)


# --------------------------------------------------------------------------- validation
def _reg(loss="mse"):
    m = fm.Sequential([fm.Dense(3)], input_dim=5)
    m.compile(loss=loss)
    return m


X8 = np.random.default_rng(9).standard_normal((8, 5)).astype(np.float32)
Y8 = np.random.default_rng(9).integers(0, 3, 8)


@pytest.mark.parametrize("call,match", [
    (lambda: fm.losses.get("hubr"), "unknown loss 'hubr'.*Did you mean 'huber'"),
    (lambda: fm.losses.get("binary_cross_entropi"), "Did you mean 'binary_cross_entropy'"),
    (lambda: fm.losses.Huber(delta=0.0), r"delta must be in \(0, inf\), got 0.0"),
    (lambda: fm.losses.Huber(delta=float("inf")), r"delta must be in \(0, inf\), got inf"),
    (lambda: fm.losses.CrossEntropy(label_smoothing=1.5), r"label_smoothing must be in \[0, 1\], got 1.5"),
    (lambda: fm.losses.CrossEntropy(label_smoothing=-0.1), r"label_smoothing must be in \[0, 1\]"),
    (lambda: _clf().fit(X8, np.full((8, 3), 0.5), verbose=0), "rows summing to 1, got a sum of 1.5 in row 0"),
    (lambda: _clf().train_step(X8, np.eye(3)[Y8] * 2 - 0.5), r"must be in \[0, 1\], got values in \[-0.5, 1.5\]"),
    (lambda: _reg("bce").fit(X8, np.full((8, 3), 1.5), verbose=0), r"targets in \[0, 1\].*got values in \[1.5, 1.5\]"),
    (lambda: _reg("binary_cross_entropy").evaluate(X8, -np.ones((8, 3))), r"targets in \[0, 1\]"),
    (lambda: _clf().fit(X8, Y8, verbose=0, sample_weight=-np.ones(8)), "sample_weight must be non-negative, got a minimum of -1"),
    (lambda: _clf().fit(X8, Y8, verbose=0, sample_weight=np.zeros(8)), "sample_weight is all zeros"),
    (lambda: _clf().train_step(X8, Y8, sample_weight=np.ones(7)), r"sample_weight must have shape \(8,\).*got shape \(7,\)"),
    (lambda: _clf().evaluate(X8, Y8, sample_weight=np.full(8, np.nan)), "sample_weight contains NaN"),
    (lambda: _clf().fit(X8, Y8, verbose=0, sample_weight=["a"] * 8), "sample_weight must hold real numbers"),
    (lambda: _clf().fit(X8, Y8, verbose=0, class_weight={3: 1.0}), r"class_weight keys must be class labels in \[0, 3\), got the key 3"),
    (lambda: _clf().fit(X8, Y8, verbose=0, class_weight={-1: 1.0}), "got the key -1"),
    (lambda: _clf().fit(X8, Y8, verbose=0, class_weight={0: -2.0}), r"class_weight\[0\] must be a finite number >= 0, got -2.0"),
    (lambda: _clf().fit(X8, Y8, verbose=0, class_weight={c: 0 for c in range(3)}), "gives every sample a zero weight"),
    (lambda: _reg("bce").fit(X8, np.ones((8, 3)), verbose=0, class_weight={2: 1.0}), "keys must be 0 .negative. and 1 .positive., got the key 2"),
    (lambda: _reg("mse").fit(X8, np.ones((8, 3)), verbose=0, class_weight={0: 1.0}), "class_weight needs a classification loss.*'mse'"),
    (lambda: _clf().fit(X8, np.eye(3)[Y8], verbose=0, class_weight={0: 2.0}), "class_weight needs integer class labels"),
    (lambda: _reg("mae").compile(loss="mae", metrics=["accuracy"]), "needs a classification loss.*'mae'"),
    (lambda: _clf("bce").compile(loss="bce", metrics=["mae"]), "needs a regression loss"),
])
def test_bad_losses_targets_and_weights_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_class_weight_must_be_a_dict():
    with pytest.raises(TypeError, match="class_weight must be a dict"):
        _clf().fit(X8, Y8, verbose=0, class_weight=[1.0, 2.0, 3.0])


def test_loss_objects_and_aliases():
    assert repr(fm.losses.get("huber")) == "Huber(delta=1.0)"
    assert fm.losses.get("L1").name == "mae"
    assert fm.losses.get("binary_crossentropy").name == "binary_cross_entropy"
    assert fm.losses.get("categorical_crossentropy").label_smoothing == 0.0
    assert set(fm.losses.NAMES) == {"mse", "mae", "huber", "poisson", "cross_entropy", "binary_cross_entropy"}
    assert fm.losses.get("PoissonNLLLoss").name == "poisson" and repr(fm.losses.get("poisson")) == "Poisson()"
