"""Optimizer updates: for each step, snapshot parameters(), run train_step, read gradients(), and
check the new parameters against the reference SGD / Adam update (PyTorch semantics) over 3 steps."""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm

import reference as ref

N_IN, HIDDEN, N_OUT = 7, 13, 3
BATCHES = (1, 17, 5)  # batch sizes of the three steps


def _batches(seed, loss):
    rng = np.random.default_rng(seed)
    out = []
    for bs in BATCHES:
        x = rng.standard_normal((bs, N_IN)).astype(np.float32)
        if loss == "cross_entropy":
            y = rng.integers(0, N_OUT, size=bs)
        else:
            y = rng.standard_normal((bs, N_OUT)).astype(np.float32)
        out.append((x, y))
    return out


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
    for step, (x, y) in enumerate(_batches(seed, loss)):
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
    for x, y in _batches(9, "cross_entropy"):
        model.train_step(x, y)
    assert any(np.any(g != 0) for g in model.gradients())
    for p, p0 in zip(model.parameters(), before):
        np.testing.assert_array_equal(p, p0)
