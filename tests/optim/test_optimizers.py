"""Optimizers: every update rule against two independent oracles, gradient clipping, the
optimizer state, the learning rate and hyperparameter validation.

- The float64 NumPy reference (tests/reference.py): SGD and Adam over 3 steps; at each step the
  gradients (those of the mean loss before the update) and the new parameters.
- torch.optim on a float64 twin network: every optimizer, the same initial weights and batches,
  12 steps, over a grid of hyperparameters (one line per case, as tinygrad's test_optim); gradient
  clipping against torch.nn.utils.clip_grad_norm_ / clip_grad_value_; optimizer state and
  learning-rate access.
- PyTorch in float32: SGD and Adam on the same initial weights and batches for 20 steps; per-step
  losses and gradients, and the final weights and predictions, agree to float32 accuracy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import fastmlp as fm

import reference as ref
from torch_twin import torch_twin

N_IN, HIDDEN, N_OUT = 7, 13, 3
SPEC = [(HIDDEN, "tanh"), (N_OUT, None)]
BATCH_SIZES = [5, 1, 16, 7, 11, 2, 16, 3, 9, 16, 4, 13]  # 12 steps, batch 1 and primes included
RTOL, ATOL = 1e-3, 1e-6


def _batches(seed, loss, sizes=BATCH_SIZES):
    rng = np.random.default_rng(seed)
    out = []
    for bs in sizes:
        x = rng.standard_normal((bs, N_IN)).astype(np.float32)
        y = rng.integers(0, N_OUT, size=bs) if loss == "cross_entropy" else rng.standard_normal((bs, N_OUT)).astype(np.float32)
        out.append((x, y))
    return out


# ---------------------------------------------------------------- against the float64 reference
REFERENCE_BATCHES = (1, 17, 5)  # batch sizes of the three steps
SGD_CASES = {
    "plain": dict(lr=0.1),
    "momentum": dict(lr=0.05, momentum=0.9),
    "dampening": dict(lr=0.05, momentum=0.8, dampening=0.3),
    "nesterov": dict(lr=0.05, momentum=0.9, nesterov=True),
    "weight_decay": dict(lr=0.1, weight_decay=0.05),
    "momentum_weight_decay": dict(lr=0.05, momentum=0.7, weight_decay=0.02),
    "nesterov_weight_decay": dict(lr=0.03, momentum=0.9, nesterov=True, weight_decay=0.01),
}
ADAM_CASES = {
    "default": dict(lr=1e-2),
    "weight_decay": dict(lr=1e-2, weight_decay=0.05),
    "betas_eps": dict(lr=3e-3, betas=(0.8, 0.99), eps=1e-6),
}


def _run_and_check(make_opt, make_ref, loss, seed):
    model = fm.Sequential([fm.Dense(HIDDEN, activation="tanh"), fm.Dense(N_OUT)], input_dim=N_IN, seed=seed)
    model.compile(loss=loss, optimizer=make_opt())
    opt_ref = make_ref()
    for step, (x, y) in enumerate(_batches(seed, loss, REFERENCE_BATCHES)):
        before = [p.copy() for p in model.parameters()]
        batch_loss = model.train_step(x, y)
        grads = [g.copy() for g in model.gradients()]
        after = [p.copy() for p in model.parameters()]
        assert isinstance(batch_loss, float)

        # the gradients are those of the mean loss at the parameters before the update
        layers = ref.layers_from_params(before, ["tanh", None])
        rloss, rgrads, _ = ref.mlp_loss_and_grads(layers, x, y, loss)
        np.testing.assert_allclose(batch_loss, rloss, rtol=1e-5, atol=1e-6, err_msg=f"loss, step {step}")
        for g, rg in zip(grads, rgrads):
            np.testing.assert_allclose(g, rg, rtol=1e-4, atol=1e-6, err_msg=f"gradient, step {step}")

        expected = opt_ref.step(before, grads)
        for i, (p, e, p0) in enumerate(zip(after, expected, before)):
            assert not np.array_equal(p, p0) or np.all(e == p0), f"param {i} did not move at step {step}"
            np.testing.assert_allclose(p, e, rtol=1e-5, atol=1e-7, err_msg=f"param {i}, step {step}")


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
@pytest.mark.parametrize("case", sorted(SGD_CASES))
def test_sgd_update_matches_reference(case, loss):
    kw = SGD_CASES[case]
    _run_and_check(lambda: fm.optim.SGD(**kw), lambda: ref.SGDRef(**kw), loss, seed=len(case))


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
@pytest.mark.parametrize("case", sorted(ADAM_CASES))
def test_adam_update_matches_reference(case, loss):
    kw = ADAM_CASES[case]
    _run_and_check(lambda: fm.optim.Adam(**kw), lambda: ref.AdamRef(**kw), loss, seed=len(case) + 100)


def test_reference_optimizers_follow_the_written_formulas():
    # validates the oracle on a scalar by hand-unrolled recurrences (independent of the classes)
    p0, g = 1.0, [0.5, -0.25, 0.125]
    lr, mom, damp, wd = 0.1, 0.9, 0.2, 0.01
    sgd = ref.SGDRef(lr, momentum=mom, dampening=damp, weight_decay=wd)
    p, buf = p0, None
    for gi in g:
        d = gi + wd * p
        buf = d if buf is None else mom * buf + (1 - damp) * d
        p = p - lr * buf
        got = sgd.step([np.array([p + lr * buf])], [np.array([gi])])  # feed the pre-update value
        np.testing.assert_allclose(got[0], [p], rtol=1e-12)

    adam = ref.AdamRef(lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    m = v = 0.0
    p = p0
    for t, gi in enumerate(g, start=1):
        m = 0.9 * m + 0.1 * gi
        v = 0.999 * v + 0.001 * gi * gi
        new = p - 0.01 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        got = adam.step([np.array([p])], [np.array([gi])])
        np.testing.assert_allclose(got[0], [new], rtol=1e-12)
        p = new
    # the first Adam step moves every parameter by about lr (m_hat / sqrt(v_hat) = sign(g))
    first = ref.AdamRef(lr=0.01).step([np.zeros(3)], [np.array([2.0, -3.0, 0.5])])[0]
    np.testing.assert_allclose(first, [-0.01, 0.01, -0.01], rtol=1e-5)


def test_sgd_with_zero_lr_leaves_parameters_bitwise_unchanged():
    model = fm.Sequential([fm.Dense(HIDDEN, activation="sigmoid"), fm.Dense(N_OUT)], input_dim=N_IN, seed=9)
    model.compile(loss="cross_entropy", optimizer=fm.optim.SGD(lr=0.0, momentum=0.9))
    before = [p.copy() for p in model.parameters()]
    for x, y in _batches(9, "cross_entropy", REFERENCE_BATCHES):
        model.train_step(x, y)
    assert any(np.any(g != 0) for g in model.gradients())
    for p, p0 in zip(model.parameters(), before):
        np.testing.assert_array_equal(p, p0)


# ---------------------------------------------------------------- against torch.optim, float64
def _twin(seed, spec=SPEC, n_in=N_IN):
    """A fastmlp model and its float64 torch twin (tests/torch_twin.py), the same initial weights."""
    model = fm.Sequential([fm.Dense(u, activation=a) for u, a in spec], input_dim=n_in, seed=seed)
    return model, torch_twin(model)


def _torch_loss(net, x, y, loss):
    out = net(torch.from_numpy(x.astype(np.float64)))
    if loss == "cross_entropy":
        return torch.nn.functional.cross_entropy(out, torch.from_numpy(np.asarray(y, dtype=np.int64)))
    return torch.nn.functional.mse_loss(out, torch.from_numpy(y.astype(np.float64)))


def _train_both(fm_opt, torch_opt_fn, loss, seed, clip_norm=None, clip_value=None, check_grads=False):
    model, net = _twin(seed)
    model.compile(loss=loss, optimizer=fm_opt, clip_norm=clip_norm, clip_value=clip_value)
    opt = torch_opt_fn(list(net.parameters()))
    initial = [p.copy() for p in model.parameters()]
    for x, y in _batches(seed, loss):
        model.train_step(x, y)
        opt.zero_grad()
        _torch_loss(net, x, y, loss).backward()
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(net.parameters(), clip_norm)
        if clip_value is not None:
            torch.nn.utils.clip_grad_value_(net.parameters(), clip_value)
        if check_grads:  # the gradients the update used, clipped as torch clips them
            for g, tp in zip(model.gradients(), net.parameters()):
                np.testing.assert_allclose(g, tp.grad.numpy(), rtol=RTOL, atol=1e-6)
        opt.step()
    moved = max(float(np.abs(p - p0).max()) for p, p0 in zip(model.parameters(), initial))
    for i, (p, tp) in enumerate(zip(model.parameters(), net.parameters())):
        np.testing.assert_allclose(p, tp.detach().numpy(), rtol=RTOL, atol=ATOL, err_msg=f"parameter {i}")
    return model, opt, moved


T = torch.optim
CASES = {
    # name: (fastmlp optimizer, torch optimizer factory)
    "sgd": (lambda: fm.optim.SGD(lr=0.1), lambda p: T.SGD(p, lr=0.1)),
    "sgd_momentum": (lambda: fm.optim.SGD(lr=0.05, momentum=0.9), lambda p: T.SGD(p, lr=0.05, momentum=0.9)),
    "sgd_dampening": (lambda: fm.optim.SGD(lr=0.05, momentum=0.8, dampening=0.3), lambda p: T.SGD(p, lr=0.05, momentum=0.8, dampening=0.3)),
    "sgd_nesterov_wd": (lambda: fm.optim.SGD(lr=0.03, momentum=0.9, nesterov=True, weight_decay=0.01), lambda p: T.SGD(p, lr=0.03, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "adam": (lambda: fm.optim.Adam(lr=1e-2), lambda p: T.Adam(p, lr=1e-2)),
    "adam_betas_eps": (lambda: fm.optim.Adam(lr=3e-3, betas=(0.8, 0.99), eps=1e-6), lambda p: T.Adam(p, lr=3e-3, betas=(0.8, 0.99), eps=1e-6)),
    "adam_wd": (lambda: fm.optim.Adam(lr=1e-2, weight_decay=0.05), lambda p: T.Adam(p, lr=1e-2, weight_decay=0.05)),
    "adam_amsgrad": (lambda: fm.optim.Adam(lr=1e-2, betas=(0.9, 0.6), amsgrad=True), lambda p: T.Adam(p, lr=1e-2, betas=(0.9, 0.6), amsgrad=True)),
    "adam_amsgrad_wd": (lambda: fm.optim.Adam(lr=5e-3, betas=(0.5, 0.9), weight_decay=0.1, amsgrad=True), lambda p: T.Adam(p, lr=5e-3, betas=(0.5, 0.9), weight_decay=0.1, amsgrad=True)),
    "adam_beta1_zero": (lambda: fm.optim.Adam(lr=1e-2, betas=(0.0, 0.99)), lambda p: T.Adam(p, lr=1e-2, betas=(0.0, 0.99))),
    "adamw": (lambda: fm.optim.AdamW(lr=1e-2), lambda p: T.AdamW(p, lr=1e-2)),
    "adamw_wd": (lambda: fm.optim.AdamW(lr=1e-2, weight_decay=0.5), lambda p: T.AdamW(p, lr=1e-2, weight_decay=0.5)),
    "adamw_amsgrad": (lambda: fm.optim.AdamW(lr=2e-2, betas=(0.85, 0.7), eps=1e-7, weight_decay=0.1, amsgrad=True), lambda p: T.AdamW(p, lr=2e-2, betas=(0.85, 0.7), eps=1e-7, weight_decay=0.1, amsgrad=True)),
    "adamw_no_wd": (lambda: fm.optim.AdamW(lr=1e-2, weight_decay=0.0), lambda p: T.AdamW(p, lr=1e-2, weight_decay=0.0)),
    "rmsprop": (lambda: fm.optim.RMSprop(lr=1e-2), lambda p: T.RMSprop(p, lr=1e-2)),
    "rmsprop_alpha": (lambda: fm.optim.RMSprop(lr=3e-3, alpha=0.9, eps=1e-6), lambda p: T.RMSprop(p, lr=3e-3, alpha=0.9, eps=1e-6)),
    "rmsprop_wd": (lambda: fm.optim.RMSprop(lr=1e-2, weight_decay=0.1), lambda p: T.RMSprop(p, lr=1e-2, weight_decay=0.1)),
    "rmsprop_momentum": (lambda: fm.optim.RMSprop(lr=1e-3, momentum=0.9), lambda p: T.RMSprop(p, lr=1e-3, momentum=0.9)),
    "rmsprop_centered": (lambda: fm.optim.RMSprop(lr=1e-3, centered=True), lambda p: T.RMSprop(p, lr=1e-3, centered=True)),
    "rmsprop_all": (lambda: fm.optim.RMSprop(lr=2e-3, alpha=0.95, weight_decay=0.01, momentum=0.5, centered=True), lambda p: T.RMSprop(p, lr=2e-3, alpha=0.95, weight_decay=0.01, momentum=0.5, centered=True)),
    "adagrad": (lambda: fm.optim.Adagrad(lr=0.1), lambda p: T.Adagrad(p, lr=0.1)),
    "adagrad_lr_decay": (lambda: fm.optim.Adagrad(lr=0.1, lr_decay=0.1), lambda p: T.Adagrad(p, lr=0.1, lr_decay=0.1)),
    "adagrad_wd": (lambda: fm.optim.Adagrad(lr=0.05, weight_decay=0.1), lambda p: T.Adagrad(p, lr=0.05, weight_decay=0.1)),
    "adagrad_init_acc": (lambda: fm.optim.Adagrad(lr=0.1, initial_accumulator_value=0.5, eps=1e-6), lambda p: T.Adagrad(p, lr=0.1, initial_accumulator_value=0.5, eps=1e-6)),
    "adagrad_default": (lambda: fm.optim.Adagrad(), lambda p: T.Adagrad(p)),
    "rmsprop_default": (lambda: fm.optim.RMSprop(), lambda p: T.RMSprop(p)),
    "adamw_default": (lambda: fm.optim.AdamW(), lambda p: T.AdamW(p)),
}


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_optimizer_matches_torch(case, loss):
    make_fm, make_torch = CASES[case]
    _, _, moved = _train_both(make_fm(), make_torch, loss, seed=sum(map(ord, case)) % 97)
    assert moved > 1e-4  # the run really trained


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop", "adagrad"])
def test_defaults_equal_torch(name):
    fm_cls = {"sgd": fm.optim.SGD, "adam": fm.optim.Adam, "adamw": fm.optim.AdamW, "rmsprop": fm.optim.RMSprop, "adagrad": fm.optim.Adagrad}[name]
    torch_cls = {"sgd": T.SGD, "adam": T.Adam, "adamw": T.AdamW, "rmsprop": T.RMSprop, "adagrad": T.Adagrad}[name]
    ours = fm_cls().get_config()
    theirs = torch_cls([torch.zeros(1, requires_grad=True)]).defaults
    for key, value in ours.items():
        assert theirs[key] == (tuple(value) if isinstance(value, tuple) else value), key
    assert isinstance(fm.optim.get(name), fm_cls)


# ---------------------------------------------------------------- gradient clipping
CLIP_CASES = {
    "norm_sgd": (dict(clip_norm=0.1), lambda: fm.optim.SGD(lr=0.1), lambda p: T.SGD(p, lr=0.1)),
    "norm_large": (dict(clip_norm=100.0), lambda: fm.optim.SGD(lr=0.1, momentum=0.9), lambda p: T.SGD(p, lr=0.1, momentum=0.9)),
    "norm_adam": (dict(clip_norm=0.05), lambda: fm.optim.Adam(lr=1e-2), lambda p: T.Adam(p, lr=1e-2)),
    "value_sgd": (dict(clip_value=0.01), lambda: fm.optim.SGD(lr=0.1), lambda p: T.SGD(p, lr=0.1)),
    "value_rmsprop": (dict(clip_value=0.02), lambda: fm.optim.RMSprop(lr=1e-2), lambda p: T.RMSprop(p, lr=1e-2)),
    "both": (dict(clip_norm=0.2, clip_value=0.03), lambda: fm.optim.SGD(lr=0.1), lambda p: T.SGD(p, lr=0.1)),
}


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
@pytest.mark.parametrize("case", sorted(CLIP_CASES))
def test_clipping_matches_torch(case, loss):
    clip, make_fm, make_torch = CLIP_CASES[case]
    _train_both(make_fm(), make_torch, loss, seed=len(case), check_grads=True, **clip)


def test_clipping_changes_the_result():
    # the clipping cases can fail: an unclipped fastmlp run ends away from torch's clipped one
    model, net = _twin(3)
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.1))
    opt = T.SGD(list(net.parameters()), lr=0.1)
    for x, y in _batches(3, "mse"):
        model.train_step(x, y)
        opt.zero_grad()
        _torch_loss(net, x, y, "mse").backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 0.1)
        opt.step()
    gaps = [np.abs(p - tp.detach().numpy()).max() for p, tp in zip(model.parameters(), net.parameters())]
    assert max(gaps) > 100 * ATOL


@pytest.mark.parametrize("n", [1, 7, 33, 1000])
def test_clip_grad_norm_kernel(n):
    # one train_step on a batch with a known gradient: the clipped gradient has norm max_norm
    model, net = _twin(n, spec=[(n, None)], n_in=N_IN)
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.0), clip_norm=1e-3)
    rng = np.random.default_rng(n)
    x = rng.standard_normal((4, N_IN)).astype(np.float32)
    y = rng.standard_normal((4, n)).astype(np.float32)
    model.train_step(x, y)
    total = math.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in model.gradients()))
    assert total == pytest.approx(1e-3, rel=1e-5)


# ---------------------------------------------------------------- state, learning rate
@pytest.mark.parametrize(
    "make_opt, keys",
    [
        (lambda: fm.optim.SGD(lr=0.1), set()),
        (lambda: fm.optim.SGD(lr=0.1, momentum=0.9), {"momentum_buffer"}),
        (lambda: fm.optim.Adam(), {"exp_avg", "exp_avg_sq"}),
        (lambda: fm.optim.AdamW(amsgrad=True), {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}),
        (lambda: fm.optim.RMSprop(momentum=0.5, centered=True), {"square_avg", "momentum_buffer", "grad_avg"}),
        (lambda: fm.optim.RMSprop(), {"square_avg"}),
        (lambda: fm.optim.Adagrad(initial_accumulator_value=0.25), {"sum"}),
    ],
)
def test_optimizer_state_round_trip_resumes_exactly(make_opt, keys):
    batches = _batches(5, "cross_entropy")

    def run(model, bs):
        for x, y in bs:
            model.train_step(x, y)

    a, _ = _twin(5)
    a.compile(loss="cross_entropy", optimizer=make_opt())
    run(a, batches)  # 12 steps straight through

    b, _ = _twin(5)
    b.compile(loss="cross_entropy", optimizer=make_opt())
    state0 = b.optimizer_state()
    assert set(state0) == keys | {"step"} and state0["step"] == 0
    run(b, batches[:6])
    state = b.optimizer_state()
    weights = [p.copy() for p in b.parameters()]
    assert state["step"] == 6
    for k in keys:
        assert state[k].dtype == np.float32 and state[k].shape == (b.num_params,)

    c, _ = _twin(99)  # other weights, fresh state: restore both, then continue
    c.compile(loss="cross_entropy", optimizer=make_opt())
    for view, w in zip(c.parameters(), weights):
        view[...] = w
    c.set_optimizer_state(state)
    assert c.optimizer_state()["step"] == 6
    run(c, batches[6:])
    for p, q in zip(a.parameters(), c.parameters()):
        np.testing.assert_array_equal(p, q)


def test_set_optimizer_state_rejects_bad_state_and_changes_nothing():
    model, _ = _twin(1)
    model.compile(loss="mse", optimizer=fm.optim.Adam())
    model.train_step(*_batches(1, "mse")[0])
    good = model.optimizer_state()
    with pytest.raises(ValueError, match="exactly the keys"):
        model.set_optimizer_state({"step": 1, "exp_avg": good["exp_avg"]})
    with pytest.raises(ValueError, match="exactly the keys"):
        model.set_optimizer_state({**good, "momentum_buffer": good["exp_avg"]})
    with pytest.raises(ValueError, match="exp_avg_sq.*values"):
        model.set_optimizer_state({**good, "exp_avg": good["exp_avg"] * 0, "exp_avg_sq": good["exp_avg_sq"][:-1]})
    with pytest.raises(ValueError, match="step"):
        model.set_optimizer_state({**good, "step": -1})
    with pytest.raises(ValueError, match="exp_avg_sq.*NaN"):
        model.set_optimizer_state({**good, "exp_avg_sq": np.full_like(good["exp_avg_sq"], np.nan)})
    with pytest.raises(TypeError, match="dict"):
        model.set_optimizer_state([1, 2])
    after = model.optimizer_state()
    assert after["step"] == good["step"]
    np.testing.assert_array_equal(after["exp_avg"], good["exp_avg"])


@pytest.mark.parametrize("name", ["sgd_momentum", "adam", "adamw_amsgrad", "rmsprop_all", "adagrad_lr_decay"])
def test_changing_learning_rate_keeps_state_as_torch(name):
    make_fm, make_torch = CASES[name]
    model, net = _twin(11)
    model.compile(loss="mse", optimizer=make_fm())
    opt = make_torch(list(net.parameters()))
    for step, (x, y) in enumerate(_batches(11, "mse")):
        lr = 0.02 / (1 + step)
        model.learning_rate = lr
        for group in opt.param_groups:
            group["lr"] = lr
        assert model.learning_rate == pytest.approx(lr, rel=1e-7)
        model.train_step(x, y)
        opt.zero_grad()
        _torch_loss(net, x, y, "mse").backward()
        opt.step()
    assert model.optimizer_state()["step"] == len(BATCH_SIZES)
    for p, tp in zip(model.parameters(), net.parameters()):
        np.testing.assert_allclose(p, tp.detach().numpy(), rtol=RTOL, atol=ATOL)


def test_learning_rate_validation_and_recompile_reset():
    model, _ = _twin(2)
    with pytest.raises(RuntimeError, match="compile"):
        model.learning_rate = 0.1
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.5))
    model.learning_rate = 0.25
    assert model.learning_rate == 0.25
    with pytest.raises(ValueError, match="learning_rate.*-1"):
        model.learning_rate = -1
    with pytest.raises(ValueError, match="learning_rate"):
        model.learning_rate = float("nan")
    model.compile(loss="mse", optimizer=fm.optim.SGD(lr=0.5))
    assert model.learning_rate == 0.5


# ---------------------------------------------------------------- validation
BAD = [
    (lambda: fm.optim.SGD(lr=-0.1), ValueError, "lr.*-0.1"),
    (lambda: fm.optim.SGD(momentum=-0.5), ValueError, "momentum.*-0.5"),
    (lambda: fm.optim.SGD(weight_decay=-1), ValueError, "weight_decay.*-1"),
    (lambda: fm.optim.SGD(lr=0.1, nesterov=True), ValueError, "nesterov.*momentum"),
    (lambda: fm.optim.SGD(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError, "nesterov.*dampening"),
    (lambda: fm.optim.Adam(lr=-1e-3), ValueError, "lr.*-0.001"),
    (lambda: fm.optim.Adam(betas=(1.0, 0.999)), ValueError, r"betas\[0\].*1.0"),
    (lambda: fm.optim.Adam(betas=(0.9, -0.1)), ValueError, r"betas\[1\].*-0.1"),
    (lambda: fm.optim.Adam(betas=(0.9,)), ValueError, "pair"),
    (lambda: fm.optim.Adam(betas=0.9), TypeError, "pair"),
    (lambda: fm.optim.Adam(eps=-1e-8), ValueError, "eps.*-1e-08"),
    (lambda: fm.optim.Adam(amsgrad=1), TypeError, "amsgrad"),
    (lambda: fm.optim.AdamW(weight_decay=-0.01), ValueError, "weight_decay.*-0.01"),
    (lambda: fm.optim.AdamW(betas=(0.9, float("nan"))), ValueError, r"betas\[1\].*nan"),
    (lambda: fm.optim.AdamW(lr="0.1"), TypeError, "lr"),
    (lambda: fm.optim.RMSprop(lr=-0.01), ValueError, "lr.*-0.01"),
    (lambda: fm.optim.RMSprop(alpha=-0.5), ValueError, "alpha.*-0.5"),
    (lambda: fm.optim.RMSprop(alpha=1.5), ValueError, "alpha.*1.5"),
    (lambda: fm.optim.RMSprop(eps=0.0), ValueError, "eps.*0.0"),
    (lambda: fm.optim.RMSprop(momentum=-0.9), ValueError, "momentum.*-0.9"),
    (lambda: fm.optim.RMSprop(weight_decay=float("inf")), ValueError, "weight_decay.*inf"),
    (lambda: fm.optim.RMSprop(centered="yes"), TypeError, "centered"),
    (lambda: fm.optim.Adagrad(lr=-0.01), ValueError, "lr.*-0.01"),
    (lambda: fm.optim.Adagrad(lr_decay=-0.1), ValueError, "lr_decay.*-0.1"),
    (lambda: fm.optim.Adagrad(weight_decay=-0.1), ValueError, "weight_decay.*-0.1"),
    (lambda: fm.optim.Adagrad(initial_accumulator_value=-1.0), ValueError, "initial_accumulator_value.*-1.0"),
    (lambda: fm.optim.Adagrad(eps=-1e-10), ValueError, "eps.*-1e-10"),
]


@pytest.mark.parametrize("make, error, match", BAD)
def test_hyperparameter_validation(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(clip_norm=0.0), "clip_norm.*0.0"),
        (dict(clip_norm=-1.0), "clip_norm.*-1.0"),
        (dict(clip_value=-0.5), "clip_value.*-0.5"),
        (dict(clip_value=float("nan")), "clip_value.*nan"),
    ],
)
def test_clip_validation(kwargs, match):
    model, _ = _twin(0)
    with pytest.raises(ValueError, match=match):
        model.compile(loss="mse", optimizer="sgd", **kwargs)


def test_unknown_optimizer_name_suggests():
    with pytest.raises(ValueError, match="adamw"):
        fm.optim.get("adamv")


# ---------------------------------------------------------------- against PyTorch, float32
FLOAT32_STEPS = 20
FLOAT32_BATCH_SIZES = [1, 7, 13, 16, 31, 2, 3, 17] * 3  # cycled over the steps


def _float32_twin(n_in, spec, seed):
    """A fastmlp model, its float32 torch twin (tests/torch_twin.py) and the twin's parameters."""
    model = fm.Sequential([fm.Dense(u, activation=a) for u, a in spec], input_dim=n_in, seed=seed)
    net = torch_twin(model, dtype=torch.float32)
    return model, net, list(net.parameters())


def _float32_batches(seed, n_in, n_out, loss):
    rng = np.random.default_rng(seed)
    out = []
    for step in range(FLOAT32_STEPS):
        bs = FLOAT32_BATCH_SIZES[step]
        x = rng.standard_normal((bs, n_in)).astype(np.float32)
        if loss == "cross_entropy":
            y = rng.integers(0, n_out, size=bs)
        else:
            y = rng.standard_normal((bs, n_out)).astype(np.float32)
        out.append((x, y))
    return out


def _run_parity(n_in, spec, loss, make_fm_opt, make_torch_opt, seed):
    torch.manual_seed(0)
    model, net, tparams = _float32_twin(n_in, spec, seed)
    model.compile(loss=loss, optimizer=make_fm_opt())
    initial = [p.copy() for p in model.parameters()]
    opt = make_torch_opt(tparams)
    criterion = torch.nn.CrossEntropyLoss() if loss == "cross_entropy" else torch.nn.MSELoss()
    n_out = spec[-1][0]
    losses_fm, losses_torch = [], []
    for x, y in _float32_batches(seed, n_in, n_out, loss):
        losses_fm.append(model.train_step(x, y))
        opt.zero_grad()
        target = torch.from_numpy(np.asarray(y, dtype=np.int64 if loss == "cross_entropy" else np.float32))
        t_loss = criterion(net(torch.from_numpy(x)), target)
        t_loss.backward()
        losses_torch.append(float(t_loss.detach()))
        # gradients of this step, before torch's update
        for g, tp in zip(model.gradients(), tparams):
            np.testing.assert_allclose(g, tp.grad.numpy(), rtol=1e-4, atol=1e-5)
        opt.step()
    np.testing.assert_allclose(losses_fm, losses_torch, rtol=1e-4, atol=1e-5)
    for p, tp in zip(model.parameters(), tparams):
        np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-4, atol=1e-5)
    # and the trained networks predict the same
    xs = np.random.default_rng(seed + 1).standard_normal((33, n_in)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(xs)).numpy()
    np.testing.assert_allclose(model.predict(xs), expected, rtol=1e-4, atol=1e-5)
    # the run really trained: every weight matrix moved away from its initial values
    for p, p0 in zip(model.parameters()[::2], initial[::2]):
        assert np.abs(p - p0).max() > 1e-3
    return losses_fm


CLASSIFIER = (20, [(32, "relu"), (16, "tanh"), (5, None)])


def test_sgd_momentum_parity():
    n_in, spec = CLASSIFIER
    _run_parity(n_in, spec, "cross_entropy",
                lambda: fm.optim.SGD(lr=0.05, momentum=0.9),
                lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9), seed=1)


def test_sgd_nesterov_weight_decay_parity():
    n_in, spec = CLASSIFIER
    _run_parity(n_in, spec, "cross_entropy",
                lambda: fm.optim.SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2),
                lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2), seed=2)


def test_sgd_dampening_parity():
    n_in, spec = CLASSIFIER
    _run_parity(n_in, spec, "cross_entropy",
                lambda: fm.optim.SGD(lr=0.05, momentum=0.5, dampening=0.5),
                lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.5, dampening=0.5), seed=5)


def test_adam_parity():
    n_in, spec = CLASSIFIER
    losses = _run_parity(n_in, spec, "cross_entropy",
                         lambda: fm.optim.Adam(lr=1e-2),
                         lambda ps: torch.optim.Adam(ps, lr=1e-2), seed=3)
    assert np.all(np.isfinite(losses))


def test_adam_weight_decay_parity():
    n_in, spec = CLASSIFIER
    _run_parity(n_in, spec, "cross_entropy",
                lambda: fm.optim.Adam(lr=1e-2, weight_decay=1e-2),
                lambda ps: torch.optim.Adam(ps, lr=1e-2, weight_decay=1e-2), seed=6)


def test_mse_regression_parity():
    spec = [(17, "sigmoid"), (7, "tanh"), (3, None)]
    _run_parity(13, spec, "mse",
                lambda: fm.optim.SGD(lr=0.1, momentum=0.5),
                lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.5), seed=4)


def test_initial_forward_matches_torch():
    n_in, spec = CLASSIFIER
    model, net, _ = _float32_twin(n_in, spec, seed=9)
    x = np.random.default_rng(9).standard_normal((65, n_in)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-6)
    # same default init distribution as torch.nn.Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    for p, fan_in in zip(model.parameters()[::2], (n_in, 32, 16)):
        assert np.abs(p).max() <= 1.0 / np.sqrt(fan_in)
