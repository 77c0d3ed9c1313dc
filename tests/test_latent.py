"""The latent input (z, c): sizes, sampling, the generator's input layout, and L_I."""

import math

import pytest
import torch

from infogan.latent import HALF_LOG_2PI, LatentSample, LatentSpec


MNIST = LatentSpec(noise_size=62, categorical=(10,), continuous=2)
RELEASED = LatentSpec(noise_size=62, categorical=(10,), continuous=2, continuous_std="fixed")
CPU = torch.device("cpu")


def seeded(seed):
    return torch.Generator().manual_seed(seed)


def test_sizes():
    assert MNIST.generator_input_size == 74
    assert MNIST.q_output_size == 14
    assert RELEASED.q_output_size == 12
    assert RELEASED.generator_input_size == 74
    two_codes = LatentSpec(noise_size=5, categorical=(10, 3), continuous=1)
    assert two_codes.generator_input_size == 5 + 13 + 1
    assert two_codes.q_output_size == 13 + 2


def test_categorical_entropy():
    assert MNIST.categorical_entropy == pytest.approx(math.log(10), abs=1e-12)
    assert LatentSpec(1, (10, 3), 0).categorical_entropy == pytest.approx(math.log(30), abs=1e-12)
    assert LatentSpec(1, (), 2).categorical_entropy == 0.0


def test_invalid_choices():
    with pytest.raises(ValueError, match="noise_distribution"):
        LatentSpec(62, (10,), 2, noise_distribution="cauchy")
    with pytest.raises(ValueError, match="continuous_std"):
        LatentSpec(62, (10,), 2, continuous_std="guessed")


def test_sample_shapes_ranges_and_dtypes():
    s = MNIST.sample(4096, seeded(0), CPU)
    assert s.noise.shape == (4096, 62) and s.noise.dtype == torch.float32
    assert s.categorical.shape == (4096, 1) and s.categorical.dtype == torch.long
    assert s.continuous.shape == (4096, 2) and s.continuous.dtype == torch.float32
    assert s.noise.min() >= -1 and s.noise.max() < 1
    assert s.continuous.min() >= -1 and s.continuous.max() < 1
    # Uniform(-1, 1): both halves are used, mean near 0
    assert s.noise.min() < -0.99 and s.noise.max() > 0.99
    assert abs(s.noise.mean().item()) < 0.02
    assert set(s.categorical[:, 0].tolist()) == set(range(10))
    counts = torch.bincount(s.categorical[:, 0], minlength=10)
    assert counts.min() > 300  # roughly uniform over the 10 categories


def test_normal_noise():
    spec = LatentSpec(62, (10,), 2, noise_distribution="normal")
    s = spec.sample(2048, seeded(0), CPU)
    assert s.noise.abs().max() > 2.5  # not bounded to [-1, 1]
    assert s.noise.std().item() == pytest.approx(1.0, abs=0.02)
    assert s.continuous.min() >= -1 and s.continuous.max() < 1  # codes stay Uniform(-1, 1)


def test_sample_is_determined_by_the_generator_seed():
    a, b, c = (MNIST.sample(16, seeded(seed), CPU) for seed in (7, 7, 8))
    for field in ("noise", "categorical", "continuous"):
        assert torch.equal(getattr(a, field), getattr(b, field))
    assert not torch.equal(a.noise, c.noise)
    # the global RNG plays no part
    torch.manual_seed(123)
    d = MNIST.sample(16, seeded(7), CPU)
    assert torch.equal(a.noise, d.noise) and torch.equal(a.categorical, d.categorical)


def test_sample_without_codes():
    spec = LatentSpec(noise_size=3, categorical=(), continuous=0)
    s = spec.sample(5, seeded(0), CPU)
    assert s.categorical.shape == (5, 0) and s.categorical.dtype == torch.long
    assert s.continuous.shape == (5, 0)
    assert spec.generator_input(s).shape == (5, 3)
    cat, cont = spec.mutual_information(torch.zeros(5, 0), s)
    assert cat.item() == 0.0 and cont.item() == 0.0


def test_generator_input_layout():
    noise = torch.arange(2 * 62, dtype=torch.float32).view(2, 62) / 1000
    sample = LatentSample(noise, torch.tensor([[3], [9]]), torch.tensor([[0.5, -0.25], [-1.0, 0.75]]))
    x = MNIST.generator_input(sample)
    assert x.shape == (2, 74) and x.dtype == torch.float32
    assert torch.equal(x[:, :62], noise)
    expected_one_hot = torch.zeros(2, 10)
    expected_one_hot[0, 3] = 1
    expected_one_hot[1, 9] = 1
    assert torch.equal(x[:, 62:72], expected_one_hot)
    assert torch.equal(x[:, 72:], sample.continuous)


def test_generator_input_with_two_categorical_codes():
    spec = LatentSpec(noise_size=1, categorical=(3, 2), continuous=1)
    sample = LatentSample(torch.tensor([[0.5]]), torch.tensor([[2, 0]]), torch.tensor([[-0.5]]))
    assert spec.generator_input(sample).tolist() == [[0.5, 0, 0, 1, 1, 0, -0.5]]


def test_split_q_output_layout():
    q = torch.arange(14, dtype=torch.float32).unsqueeze(0)
    logits, means, log_stds = MNIST.split_q_output(q)
    assert len(logits) == 1 and logits[0].tolist() == [list(range(10))]
    assert means.tolist() == [[10, 11]]
    assert log_stds.tolist() == [[12, 13]]
    logits, means, log_stds = RELEASED.split_q_output(q[:, :12])
    assert means.tolist() == [[10, 11]] and log_stds is None


def _q_output(sample, spec, true_logit=0.0, log_std=None, mean_offset=0.0):
    """Q output with `true_logit` on each true category (0 elsewhere), means = true codes + offset."""
    batch = sample.noise.shape[0]
    logits = torch.zeros(batch, 10)
    logits[torch.arange(batch), sample.categorical[:, 0]] = true_logit
    parts = [logits, sample.continuous + mean_offset]
    if spec.continuous_std == "learned":
        parts.append(torch.full((batch, spec.continuous), log_std if log_std is not None else 0.0))
    return torch.cat(parts, dim=1)


def test_categorical_mi_of_a_perfect_q_is_ln10():
    s = MNIST.sample(256, seeded(1), CPU)
    cat, _ = MNIST.mutual_information(_q_output(s, MNIST, true_logit=100.0), s)
    assert cat.item() == pytest.approx(math.log(10), abs=1e-5)


def test_categorical_mi_of_uniform_logits_is_zero():
    s = MNIST.sample(256, seeded(1), CPU)
    cat, _ = MNIST.mutual_information(_q_output(s, MNIST, true_logit=0.0), s)
    assert cat.item() == pytest.approx(0.0, abs=1e-6)


def test_categorical_mi_of_a_wrong_q_is_very_negative():
    s = MNIST.sample(64, seeded(1), CPU)
    q = _q_output(s, MNIST, true_logit=-20.0)
    cat, _ = MNIST.mutual_information(q, s)
    # cross-entropy = 20 + ln(9 + e^-20): L_I = ln 10 - that
    assert cat.item() == pytest.approx(math.log(10) - 20 - math.log(9 + math.exp(-20)), abs=1e-4)


def test_categorical_mi_sums_over_codes():
    spec = LatentSpec(noise_size=2, categorical=(10, 4), continuous=0)
    s = spec.sample(32, seeded(2), CPU)
    q = torch.zeros(32, 14)
    q[torch.arange(32), s.categorical[:, 0]] = 100.0
    q[torch.arange(32), 10 + s.categorical[:, 1]] = 100.0
    cat, cont = spec.mutual_information(q, s)
    assert cat.item() == pytest.approx(math.log(10) + math.log(4), abs=1e-5)
    assert cont.item() == 0.0


def test_continuous_mi_fixed_std_closed_form():
    s = RELEASED.sample(128, seeded(3), CPU)
    _, cont = RELEASED.mutual_information(_q_output(s, RELEASED), s)
    per_code = -0.5 * math.log(2 * math.pi) + math.log(2)
    assert cont.item() == pytest.approx(2 * per_code, abs=1e-5)
    # a mean off by 0.5 everywhere costs exactly 0.5 * 0.25 per code
    _, off = RELEASED.mutual_information(_q_output(s, RELEASED, mean_offset=0.5), s)
    assert off.item() == pytest.approx(2 * (per_code - 0.125), abs=1e-5)


def test_continuous_mi_learned_std():
    s = MNIST.sample(128, seeded(4), CPU)
    _, sharp = MNIST.mutual_information(_q_output(s, MNIST, log_std=-5.0), s)
    assert sharp.item() == pytest.approx(2 * (-HALF_LOG_2PI + 5.0 + math.log(2)), abs=1e-4)
    assert sharp.item() > 8
    _, unit = MNIST.mutual_information(_q_output(s, MNIST, log_std=0.0), s)
    assert unit.item() == pytest.approx(2 * (-HALF_LOG_2PI + math.log(2)), abs=1e-5)
    # a small std punishes a wrong mean hard
    _, wrong = MNIST.mutual_information(_q_output(s, MNIST, log_std=-5.0, mean_offset=0.5), s)
    assert wrong.item() < -1000


def test_mutual_information_is_float32_and_differentiable_from_bf16():
    s = MNIST.sample(16, seeded(5), CPU)
    q = torch.randn(16, 14, generator=seeded(6)).to(torch.bfloat16).requires_grad_()
    cat, cont = MNIST.mutual_information(q, s)
    assert cat.dtype == torch.float32 and cont.dtype == torch.float32
    assert cat.shape == () and cont.shape == ()
    (cat + cont).backward()
    assert q.grad is not None and torch.isfinite(q.grad.float()).all()
