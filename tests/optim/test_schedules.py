"""Learning-rate schedules against torch.optim.lr_scheduler: the lr (and OneCycle's momentum)
sequences to float64 rounding, the lr fit really trains with at each epoch / batch, training
equivalence with a torch loop, continuation across fits, and argument validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import fastmlp as fm
from fastmlp import schedules as S

from torch_twin import torch_twin

LS = torch.optim.lr_scheduler
BASE_LR = 0.1


def _torch_sequence(make_sched, n, base_lr=BASE_LR, opt="sgd", metrics=None):
    """lr (and momentum/beta1) in effect for steps 0..n-1 of a torch scheduler stepped after each step."""
    p = torch.zeros(1, requires_grad=True)
    if opt == "adam":
        o = torch.optim.Adam([p], lr=base_lr)
    else:
        o = torch.optim.SGD([p], lr=base_lr, momentum=0.9)
    sched = make_sched(o)
    lrs, moms = [], []
    for i in range(n):
        g = o.param_groups[0]
        lrs.append(g["lr"])
        moms.append(g["betas"][0] if opt == "adam" else g["momentum"])
        o.step()
        sched.step(metrics[i]) if metrics is not None else sched.step()
    return np.array(lrs), np.array(moms)


def _ours(sched, n, base_lr=BASE_LR):
    sched.base_lr = base_lr
    return np.array([sched.get_lr(e) for e in range(n)])


EPOCH_CASES = {
    # name: (fastmlp schedule factory, torch scheduler factory)
    "step": (lambda: S.StepLR(3), lambda o: LS.StepLR(o, 3)),
    "step_gamma": (lambda: S.StepLR(1, gamma=0.5), lambda o: LS.StepLR(o, 1, gamma=0.5)),
    "step_7": (lambda: S.StepLR(7, gamma=0.3), lambda o: LS.StepLR(o, 7, gamma=0.3)),
    "multistep": (lambda: S.MultiStepLR([2, 5, 9]), lambda o: LS.MultiStepLR(o, [2, 5, 9])),
    "multistep_unsorted_dup": (lambda: S.MultiStepLR([9, 2, 2], gamma=0.5), lambda o: LS.MultiStepLR(o, [9, 2, 2], gamma=0.5)),
    "multistep_zero": (lambda: S.MultiStepLR([0, 1], gamma=0.2), lambda o: LS.MultiStepLR(o, [0, 1], gamma=0.2)),
    "exponential": (lambda: S.ExponentialLR(0.9), lambda o: LS.ExponentialLR(o, 0.9)),
    "exponential_1": (lambda: S.ExponentialLR(1.0), lambda o: LS.ExponentialLR(o, 1.0)),
    "cosine": (lambda: S.CosineAnnealingLR(10), lambda o: LS.CosineAnnealingLR(o, 10)),
    "cosine_eta_min": (lambda: S.CosineAnnealingLR(7, eta_min=0.01), lambda o: LS.CosineAnnealingLR(o, 7, eta_min=0.01)),
    "cosine_1": (lambda: S.CosineAnnealingLR(1, eta_min=0.001), lambda o: LS.CosineAnnealingLR(o, 1, eta_min=0.001)),
}


@pytest.mark.parametrize("case", sorted(EPOCH_CASES))
def test_epoch_schedule_matches_torch(case):
    ours, theirs = EPOCH_CASES[case]
    n = 25  # past T_max / the last milestone
    expected, _ = _torch_sequence(theirs, n)
    np.testing.assert_allclose(_ours(ours(), n), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("T_max, warmup, eta_min", [(10, 3, 0.0), (12, 1, 0.005), (5, 4, 0.01), (20, 5, 0.0)])
def test_cosine_warmup_matches_torch_linear_then_cosine(T_max, warmup, eta_min):
    def theirs(o):
        return LS.SequentialLR(
            o,
            [LS.LinearLR(o, start_factor=1 / (warmup + 1), total_iters=warmup), LS.CosineAnnealingLR(o, T_max - warmup, eta_min)],
            milestones=[warmup],
        )

    expected, _ = _torch_sequence(theirs, T_max + 1)
    got = _ours(S.CosineAnnealingLR(T_max, eta_min=eta_min, warmup_epochs=warmup), T_max + 1)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert got[warmup] == pytest.approx(BASE_LR) and got[T_max] == pytest.approx(eta_min, abs=1e-15)


ONE_CYCLE_CASES = {
    "default": dict(max_lr=0.1, total_steps=50),
    "pct": dict(max_lr=0.5, total_steps=37, pct_start=0.1),
    "linear": dict(max_lr=0.2, total_steps=40, anneal_strategy="linear"),
    "three_phase": dict(max_lr=0.3, total_steps=60, three_phase=True),
    "three_phase_linear": dict(max_lr=0.3, total_steps=31, three_phase=True, anneal_strategy="linear", pct_start=0.25),
    "factors": dict(max_lr=1.0, total_steps=23, div_factor=10.0, final_div_factor=100.0, base_momentum=0.8, max_momentum=0.9),
    "epochs": dict(max_lr=0.1, epochs=4, steps_per_epoch=7),
}


@pytest.mark.parametrize("opt", ["sgd", "adam"])
@pytest.mark.parametrize("case", sorted(ONE_CYCLE_CASES))
def test_one_cycle_matches_torch(case, opt):
    kw = ONE_CYCLE_CASES[case]
    ours = S.OneCycleLR(**kw)
    n = ours.total_steps
    exp_lr, exp_mom = _torch_sequence(lambda o: LS.OneCycleLR(o, **kw), n, opt=opt)
    np.testing.assert_allclose([ours.get_lr(k) for k in range(n)], exp_lr, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose([ours.get_momentum(k) for k in range(n)], exp_mom, rtol=1e-12, atol=1e-15)


PLATEAU_METRICS = [1.0, 0.9, 0.95, 0.95, 0.91, 0.9, 0.9, 0.85, 0.86, 0.86, 0.87, 0.9, 0.84, 0.84, 0.8399, 0.84, 0.9, 1.0, 1.0, 1.0]
PLATEAU_CASES = {
    "patience_0": dict(patience=0),
    "patience_2": dict(patience=2),
    "cooldown": dict(patience=1, cooldown=2),
    "abs": dict(patience=1, threshold=0.02, threshold_mode="abs"),
    "rel_large": dict(patience=1, threshold=0.05),
    "min_lr": dict(patience=0, factor=0.5, min_lr=0.02),
    "max_mode": dict(patience=1, mode="max", factor=0.5),
    "eps": dict(patience=0, factor=0.9, eps=0.009),
}


@pytest.mark.parametrize("case", sorted(PLATEAU_CASES))
def test_reduce_on_plateau_matches_torch(case):
    kw = dict(PLATEAU_CASES[case])
    expected, _ = _torch_sequence(lambda o: LS.ReduceLROnPlateau(o, **kw), len(PLATEAU_METRICS), metrics=PLATEAU_METRICS)
    ours = S.ReduceLROnPlateau(monitor="val_loss", **kw)
    ours.base_lr = ours.lr = BASE_LR
    got = []
    for epoch, value in enumerate(PLATEAU_METRICS):
        got.append(ours.get_lr(epoch))
        ours.on_epoch_end(epoch, {"loss": 123.0, "val_loss": value})  # monitors val_loss, not loss
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert len(set(got)) > 1  # the case does reduce


# ---------------------------------------------------------------- inside fit
N, N_IN, N_OUT, BATCH = 24, 5, 3, 8  # 3 batches per epoch


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, N_IN)).astype(np.float32), rng.integers(0, N_OUT, size=N)


def _model(seed=0):
    return fm.Sequential([fm.Dense(6, activation="tanh"), fm.Dense(N_OUT)], input_dim=N_IN, seed=seed)


class _Recorder(fm.callbacks.Callback):
    """Records the lr at each epoch end (placed before the schedule: the lr that epoch used)."""

    def __init__(self):
        self.lrs = []

    def on_epoch_end(self, epoch, logs):
        self.lrs.append(self.model.learning_rate)


@pytest.mark.parametrize("via", ["compile", "callbacks"])
@pytest.mark.parametrize("case", ["step", "multistep", "exponential", "cosine_eta_min"])
def test_fit_uses_the_schedule_lr_each_epoch(case, via):
    ours, theirs = EPOCH_CASES[case]
    X, y = _data()
    model, sched, rec = _model(), ours(), _Recorder()
    model.compile(loss="cross_entropy", optimizer=fm.optim.SGD(lr=BASE_LR), lr_schedule=sched if via == "compile" else None)
    callbacks = [rec] if via == "compile" else [rec, sched]
    model.fit(X, y, epochs=6, batch_size=BATCH, callbacks=callbacks, verbose=0)
    model.fit(X, y, epochs=5, batch_size=BATCH, callbacks=callbacks, verbose=0)  # continues the schedule
    expected, _ = _torch_sequence(theirs, 11)
    np.testing.assert_allclose(rec.lrs, expected.astype(np.float32), rtol=1e-7)
    assert sched.last_step == 11


def _torch_fit(net, opt, sched, X, y, epochs, per_batch):
    losses = []
    for _ in range(epochs):
        total = 0.0
        for start in range(0, N, BATCH):
            opt.zero_grad()
            out = net(torch.from_numpy(X[start:start + BATCH].astype(np.float64)))
            loss = torch.nn.functional.cross_entropy(out, torch.from_numpy(y[start:start + BATCH].astype(np.int64)))
            loss.backward()
            opt.step()
            total += float(loss.detach()) * BATCH
            if per_batch:
                sched.step()
        losses.append(total / N)
        if not per_batch:
            sched.step(losses[-1]) if isinstance(sched, LS.ReduceLROnPlateau) else sched.step()
    return losses


TRAIN_CASES = {
    # name: (fastmlp optimizer, schedule, torch optimizer, torch scheduler, per batch)
    "step_sgd": (lambda: fm.optim.SGD(lr=0.5, momentum=0.9), lambda: S.StepLR(2, gamma=0.5),
                 lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.9), lambda o: LS.StepLR(o, 2, gamma=0.5), False),
    "cosine_adam": (lambda: fm.optim.Adam(lr=0.05), lambda: S.CosineAnnealingLR(6, eta_min=0.001),
                    lambda p: torch.optim.Adam(p, lr=0.05), lambda o: LS.CosineAnnealingLR(o, 6, eta_min=0.001), False),
    "plateau_sgd": (lambda: fm.optim.SGD(lr=2.0), lambda: S.ReduceLROnPlateau(monitor="loss", patience=0, factor=0.5, threshold=0.05),
                    lambda p: torch.optim.SGD(p, lr=2.0), lambda o: LS.ReduceLROnPlateau(o, patience=0, factor=0.5, threshold=0.05), False),
    "one_cycle_adam": (lambda: fm.optim.Adam(lr=1.0), lambda: S.OneCycleLR(0.05, total_steps=18),
                       lambda p: torch.optim.Adam(p, lr=1.0), lambda o: LS.OneCycleLR(o, 0.05, total_steps=18), True),
    "one_cycle_sgd": (lambda: fm.optim.SGD(lr=1.0, momentum=0.5), lambda: S.OneCycleLR(0.5, total_steps=20, three_phase=True),
                      lambda p: torch.optim.SGD(p, lr=1.0, momentum=0.5), lambda o: LS.OneCycleLR(o, 0.5, total_steps=20, three_phase=True), True),
    "one_cycle_rmsprop_no_momentum": (lambda: fm.optim.RMSprop(lr=1.0), lambda: S.OneCycleLR(0.02, total_steps=18, cycle_momentum=False),
                                      lambda p: torch.optim.RMSprop(p, lr=1.0), lambda o: LS.OneCycleLR(o, 0.02, total_steps=18, cycle_momentum=False), True),
}


@pytest.mark.parametrize("case", sorted(TRAIN_CASES))
def test_fit_with_schedule_trains_as_torch(case):
    make_opt, make_sched, make_topt, make_tsched, per_batch = TRAIN_CASES[case]
    X, y = _data(1)
    model = _model(1)
    net = torch_twin(model)
    model.compile(loss="cross_entropy", optimizer=make_opt(), lr_schedule=make_sched())
    topt = make_topt(list(net.parameters()))
    tsched = make_tsched(topt)
    h1 = model.fit(X, y, epochs=4, batch_size=BATCH, shuffle=False, verbose=0)
    h2 = model.fit(X, y, epochs=2, batch_size=BATCH, shuffle=False, verbose=0)
    losses = _torch_fit(net, topt, tsched, X, y, 6, per_batch)
    np.testing.assert_allclose(h1.history["loss"] + h2.history["loss"], losses, rtol=1e-4)
    for p, tp in zip(model.parameters(), net.parameters()):
        np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-3, atol=1e-6)
    assert model.learning_rate == pytest.approx(topt.param_groups[0]["lr"], rel=1e-6) or per_batch


def test_one_cycle_refuses_to_overrun_total_steps_before_training():
    X, y = _data()
    model = _model()
    model.compile(loss="cross_entropy", optimizer="adam", lr_schedule=S.OneCycleLR(0.1, total_steps=7))
    model.fit(X, y, epochs=2, batch_size=BATCH, verbose=0)  # 6 of 7 steps
    before = [p.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match="total_steps=7.*1 of its steps left.*3 batches"):
        model.fit(X, y, epochs=1, batch_size=BATCH, verbose=0)
    for p, p0 in zip(model.parameters(), before):
        np.testing.assert_array_equal(p, p0)


def test_one_cycle_needs_momentum_when_cycling():
    X, y = _data()
    for opt in [fm.optim.SGD(lr=0.1), fm.optim.RMSprop(), fm.optim.Adagrad()]:
        model = _model()
        model.compile(loss="cross_entropy", optimizer=opt, lr_schedule=S.OneCycleLR(0.1, total_steps=30))
        with pytest.raises(ValueError, match="cycle_momentum"):
            model.fit(X, y, epochs=1, batch_size=BATCH, verbose=0)


def test_one_schedule_at_a_time():
    X, y = _data()
    model = _model()
    model.compile(loss="cross_entropy", optimizer="sgd", lr_schedule=S.StepLR(2))
    with pytest.raises(ValueError, match="one learning-rate schedule"):
        model.fit(X, y, epochs=1, callbacks=[S.ExponentialLR(0.5)], verbose=0)
    sched = S.StepLR(1)
    model.compile(loss="cross_entropy", optimizer="sgd", lr_schedule=sched)
    model.fit(X, y, epochs=2, callbacks=[sched], verbose=0)  # the same object twice is one schedule
    assert sched.last_step == 2


def test_schedule_without_fit_needs_base_lr():
    with pytest.raises(RuntimeError, match="base learning rate"):
        S.StepLR(2).get_lr(0)


BAD = [
    (lambda: S.StepLR(0), ValueError, "step_size.*0"),
    (lambda: S.StepLR(2.5), ValueError, "step_size.*2.5"),
    (lambda: S.StepLR(2, gamma=-0.1), ValueError, "gamma.*-0.1"),
    (lambda: S.MultiStepLR([1, -2]), ValueError, r"milestones\[1\].*-2"),
    (lambda: S.MultiStepLR(3), TypeError, "milestones"),
    (lambda: S.ExponentialLR(float("nan")), ValueError, "gamma.*nan"),
    (lambda: S.CosineAnnealingLR(0), ValueError, "T_max.*0"),
    (lambda: S.CosineAnnealingLR(10, eta_min=-1.0), ValueError, "eta_min.*-1.0"),
    (lambda: S.CosineAnnealingLR(10, warmup_epochs=10), ValueError, "warmup_epochs.*10"),
    (lambda: S.OneCycleLR(0.0, total_steps=10), ValueError, "max_lr.*0.0"),
    (lambda: S.OneCycleLR(0.1), ValueError, "total_steps"),
    (lambda: S.OneCycleLR(0.1, total_steps=0), ValueError, "total_steps.*0"),
    (lambda: S.OneCycleLR(0.1, total_steps=10, pct_start=1.5), ValueError, "pct_start.*1.5"),
    (lambda: S.OneCycleLR(0.1, total_steps=10, anneal_strategy="exp"), ValueError, "anneal_strategy.*exp"),
    (lambda: S.OneCycleLR(0.1, total_steps=10, div_factor=0), ValueError, "div_factor.*0"),
    (lambda: S.OneCycleLR(0.1, total_steps=10, max_momentum=1.0), ValueError, "max_momentum.*1.0"),
    (lambda: S.ReduceLROnPlateau(factor=1.0), ValueError, "factor.*1.0"),
    (lambda: S.ReduceLROnPlateau(patience=-1), ValueError, "patience.*-1"),
    (lambda: S.ReduceLROnPlateau(mode="up"), ValueError, "mode.*up"),
    (lambda: S.ReduceLROnPlateau(threshold_mode="x"), ValueError, "threshold_mode.*x"),
    (lambda: S.ReduceLROnPlateau(min_lr=-1), ValueError, "min_lr.*-1"),
    (lambda: S.ReduceLROnPlateau(monitor=3), TypeError, "monitor"),
]


@pytest.mark.parametrize("make, error, match", BAD)
def test_schedule_validation(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_compile_rejects_a_non_schedule():
    with pytest.raises(TypeError, match="lr_schedule"):
        _model().compile(loss="mse", optimizer="sgd", lr_schedule=lambda epoch: 0.1)
