"""Weight initialisers (fm.Dense(kernel_init=..., bias_init=...)).

Distributions are checked against torch.nn.init drawing the same shapes (an independent
generator and implementation), against the analytic bounds and moments, and against the CDF at a
few points; orthogonal matrices by W Wᵀ = I. A large layer (196,608 values) makes sampling error
of the standard deviation about 0.3%, so the 3% tolerance cannot hide a wrong formula (the nearest
wrong ones are off by ≥ 10%).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import fastmlp as fm

OUT, IN = 384, 512


def _weights(kernel_init, bias_init=None, out=OUT, inp=IN, seed=0):
    model = fm.Sequential([fm.Dense(out, kernel_init=kernel_init, bias_init=bias_init), fm.Dense(3)],
                          input_dim=inp, seed=seed)
    model.predict(np.zeros((1, inp), np.float32))  # builds the network
    weight, bias = model.parameters()[:2]
    return weight.copy(), bias.copy()


def _torch_weights(init, out=OUT, inp=IN):
    torch.manual_seed(0)
    w = torch.empty(out, inp, dtype=torch.float64)
    init(w)
    return w.numpy()


TORCH_TWINS = {
    "glorot_uniform": lambda w: torch.nn.init.xavier_uniform_(w),
    "glorot_normal": lambda w: torch.nn.init.xavier_normal_(w),
    "he_uniform": lambda w: torch.nn.init.kaiming_uniform_(w, nonlinearity="relu"),
    "he_normal": lambda w: torch.nn.init.kaiming_normal_(w, nonlinearity="relu"),
    # torch has no lecun_normal; Keras's is a normal truncated at 2σ with variance 1/fan_in.
    "lecun_normal": lambda w: torch.nn.init.trunc_normal_(
        w, std=math.sqrt(1 / IN) / 0.87962566103423978, a=-2 * math.sqrt(1 / IN) / 0.87962566103423978,
        b=2 * math.sqrt(1 / IN) / 0.87962566103423978),
    "default": lambda w: torch.nn.init.kaiming_uniform_(w, a=math.sqrt(5)),
}

UNIFORM_BOUNDS = {
    "default": 1 / math.sqrt(IN),
    "glorot_uniform": math.sqrt(6 / (IN + OUT)),
    "he_uniform": math.sqrt(6 / IN),
}
NORMAL_STDS = {"glorot_normal": math.sqrt(2 / (IN + OUT)), "he_normal": math.sqrt(2 / IN)}


@pytest.mark.parametrize("name", sorted(TORCH_TWINS))
def test_standard_deviation_matches_torch_init(name):
    ours, _ = _weights(name)
    theirs = _torch_weights(TORCH_TWINS[name])
    assert abs(ours.mean()) < 0.02 * theirs.std()
    assert ours.std() == pytest.approx(theirs.std(), rel=0.03)
    assert np.abs(ours).max() <= np.abs(theirs).max() * 1.05 or name.endswith("normal")


@pytest.mark.parametrize("name", sorted(UNIFORM_BOUNDS))
def test_uniform_initialisers_fill_their_interval(name):
    w, _ = _weights(name)
    bound = UNIFORM_BOUNDS[name]
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.999 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)
    assert np.mean(np.abs(w) < bound / 2) == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("name", sorted(NORMAL_STDS))
def test_normal_initialisers_have_the_normal_cdf(name):
    w, _ = _weights(name)
    std = NORMAL_STDS[name]
    assert w.std() == pytest.approx(std, rel=0.03)
    for k, mass in ((1, 0.682689), (2, 0.954500), (3, 0.997300)):
        assert np.mean(np.abs(w) < k * std) == pytest.approx(mass, abs=0.005)


def test_lecun_normal_is_truncated_at_two_sigma_with_variance_one_over_fan_in():
    w, _ = _weights("lecun_normal")
    raw_std = math.sqrt(1 / IN) / 0.87962566103423978
    assert np.abs(w).max() <= 2 * raw_std * (1 + 1e-6)
    assert np.abs(w).max() > 1.99 * raw_std
    assert w.std() == pytest.approx(math.sqrt(1 / IN), rel=0.03)


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 1), (33, 17), (17, 33), (64, 64), (5, 128)])
def test_orthogonal_rows_or_columns_are_orthonormal(shape):
    out, inp = shape
    w = _weights("orthogonal", out=out, inp=inp)[0].astype(np.float64)
    gram = w @ w.T if out <= inp else w.T @ w
    assert np.allclose(gram, np.eye(min(shape)), atol=1e-6)


@pytest.mark.parametrize("shape", [(40, 30), (30, 40), (9, 9)])
def test_orthogonalize_is_q_of_qr_with_positive_r_diagonal(shape):
    # torch.nn.init.orthogonal_: Q of A = QR (A transposed when it is wide), signed so that R's
    # diagonal is positive. Then R = Qᵀ A must be upper triangular with a positive diagonal.
    a = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    q = a.copy()
    fm.initializers.orthogonalize(q)
    tall_a, tall_q = (a.T, q.T) if shape[0] < shape[1] else (a, q)
    r = tall_q.T.astype(np.float64) @ tall_a
    assert np.allclose(np.tril(r, -1), 0, atol=1e-4)
    assert (np.diag(r) > 0).all()


def test_zeros_and_bias_init():
    w, b = _weights("zeros", bias_init="zeros")
    assert not w.any() and not b.any()
    _, b_default = _weights("he_normal")
    assert np.abs(b_default).max() <= 1 / math.sqrt(IN)
    assert np.abs(b_default).max() > 0.99 / math.sqrt(IN)


def test_default_is_torch_linear_and_unchanged_by_the_new_arguments():
    explicit, explicit_b = _weights("default", bias_init="default")
    implicit, implicit_b = _weights(None)
    assert np.array_equal(explicit, implicit) and np.array_equal(explicit_b, implicit_b)


@pytest.mark.parametrize("name", fm.initializers.KERNEL_INITS)
def test_same_seed_same_weights_other_seed_other_weights(name):
    a, _ = _weights(name, out=20, inp=30, seed=3)
    b, _ = _weights(name, out=20, inp=30, seed=3)
    c, _ = _weights(name, out=20, inp=30, seed=4)
    assert np.array_equal(a, b)
    if name != "zeros":
        assert not np.array_equal(a, c)


@pytest.mark.parametrize("alias, name", [("xavier_uniform", "glorot_uniform"), ("xavier_normal", "glorot_normal"),
                                         ("kaiming_uniform", "he_uniform"), ("kaiming_normal", "he_normal"),
                                         ("HE_NORMAL", "he_normal")])
def test_aliases(alias, name):
    assert fm.Dense(3, kernel_init=alias).kernel_init == name
    assert np.array_equal(_weights(alias, out=5, inp=6)[0], _weights(name, out=5, inp=6)[0])


def test_unknown_or_mistyped_initialisers_are_refused_with_a_suggestion():
    with pytest.raises(ValueError, match=r"kernel_init.*he_normal"):
        fm.Dense(3, kernel_init="he_normall")
    with pytest.raises(ValueError, match=r"bias_init"):
        fm.Dense(3, bias_init="ones")
    with pytest.raises(TypeError, match=r"kernel_init"):
        fm.Dense(3, kernel_init=0.5)


def test_config_and_file_round_trip_keep_the_initialisers(tmp_path):
    model = fm.Sequential([fm.Dense(8, activation="relu", kernel_init="orthogonal", bias_init="zeros"),
                           fm.Dense(2, kernel_init="lecun_normal")], input_dim=5, seed=2)
    clone = fm.Sequential.from_config(model.get_config())
    assert [(l.kernel_init, l.bias_init) for l in clone.layers] == [("orthogonal", "zeros"), ("lecun_normal", "default")]
    x = np.random.default_rng(0).random((4, 5), dtype=np.float32)
    assert np.array_equal(clone.predict(x), model.predict(x))
    model.save(tmp_path / "m.safetensors")
    loaded = fm.load(tmp_path / "m.safetensors")
    assert np.array_equal(loaded.predict(x), model.predict(x))
    assert loaded.get_config() == model.get_config()


def test_default_layers_write_no_initialiser_keys():
    assert fm.Dense(3).get_config() == {"type": "Dense", "units": 3, "activation": "identity"}


def test_he_normal_relu_network_trains():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 10)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    model = fm.Sequential([fm.Dense(32, "relu", kernel_init="he_normal", bias_init="zeros"), fm.Dense(2)],
                          input_dim=10, seed=0)
    model.compile(loss="cross_entropy", optimizer=fm.optim.Adam(lr=1e-2), metrics=["accuracy"])
    history = model.fit(X, y, epochs=20, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.95


@pytest.mark.parametrize("key, value", [("kernel_init", "bogus"), ("bias_init", "orthogonal"), ("kernel_init", 3)])
def test_load_refuses_unknown_initialisers_in_the_architecture(tmp_path, key, value):
    import json

    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    model = fm.Sequential([fm.Dense(4, kernel_init="he_normal"), fm.Dense(2)], input_dim=3, seed=0)
    path = tmp_path / "m.safetensors"
    model.save(path)
    with safe_open(str(path), framework="numpy") as f:
        metadata = dict(f.metadata())
    arch = json.loads(metadata["architecture"])
    arch["layers"][0][key] = value
    metadata["architecture"] = json.dumps(arch)
    metadata.pop("weights_crc32")
    save_file(load_file(str(path)), str(path), metadata=metadata)
    with pytest.raises(ValueError, match=rf"layers\[0\].*{key}"):
        fm.load(path)
