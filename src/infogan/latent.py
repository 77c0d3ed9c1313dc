"""The latent input of InfoGAN: incompressible noise z plus structured codes c.

`LatentSpec` says what the generator's input is made of (noise of some size, zero or
more categorical codes, zero or more continuous codes), samples it, assembles it into
the generator's input vector, and scores Q's predictions with the mutual-information
lower bound of the paper,

    L_I(G, Q) = E_{c ~ P(c), x ~ G(z, c)}[log Q(c | x)] + H(c)  <=  I(c; G(z, c)).

It knows nothing about images or networks: Q's raw output is a flat vector per
sample, laid out as `[logits of each categorical code..., means of the continuous
codes, log-stds of the continuous codes (only when the std is learned)]`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

# torch is imported where a method computes, not here: an experiment config holds a
# LatentSpec, and reading one (as the Snakefile does for every DAG it builds) needs no torch.

CONTINUOUS_STD_CHOICES = ("learned", "fixed")
NOISE_DISTRIBUTIONS = ("uniform", "normal")
# Entropy of Uniform(-1, 1), the prior of each continuous code during training.
UNIFORM_ENTROPY = math.log(2.0)
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@dataclass(frozen=True)
class LatentSample:
    """One batch of latent draws: noise, category indices per code, continuous values."""

    noise: torch.Tensor  # B x noise_size
    categorical: torch.Tensor  # B x n_categorical (long)
    continuous: torch.Tensor  # B x n_continuous


@dataclass(frozen=True)
class LatentSpec:
    noise_size: int
    categorical: tuple[int, ...]  # number of values of each categorical code
    continuous: int  # number of continuous codes, each Uniform(-1, 1)
    noise_distribution: str = "uniform"
    continuous_std: str = "learned"  # Q's Gaussian std: learned (paper) or fixed at 1 (released code)

    def __post_init__(self):
        if self.noise_distribution not in NOISE_DISTRIBUTIONS:
            raise ValueError(f"noise_distribution must be one of {NOISE_DISTRIBUTIONS}")
        if self.continuous_std not in CONTINUOUS_STD_CHOICES:
            raise ValueError(f"continuous_std must be one of {CONTINUOUS_STD_CHOICES}")
        if self.noise_size < 1:
            raise ValueError(f"noise_size must be at least 1, got {self.noise_size}")
        if any(k < 2 for k in self.categorical):
            raise ValueError(f"every categorical code needs at least 2 categories, got {list(self.categorical)}")
        if self.continuous < 0:
            raise ValueError(f"continuous must be 0 or more, got {self.continuous}")

    @property
    def generator_input_size(self) -> int:
        return self.noise_size + sum(self.categorical) + self.continuous

    @property
    def q_output_size(self) -> int:
        per_continuous = 2 if self.continuous_std == "learned" else 1
        return sum(self.categorical) + per_continuous * self.continuous

    @property
    def categorical_entropy(self) -> float:
        """H(c) of the categorical codes: the ceiling of their L_I (ln 10 for MNIST)."""
        return sum(math.log(k) for k in self.categorical)

    def sample(self, batch_size, generator, device) -> LatentSample:
        """Draw noise and codes from their priors with the given torch.Generator."""
        import torch

        if self.noise_distribution == "uniform":
            noise = torch.rand(batch_size, self.noise_size, generator=generator, device=device) * 2 - 1
        else:
            noise = torch.randn(batch_size, self.noise_size, generator=generator, device=device)
        categorical = torch.stack(
            [torch.randint(k, (batch_size,), generator=generator, device=device) for k in self.categorical], dim=1
        ) if self.categorical else torch.zeros(batch_size, 0, dtype=torch.long, device=device)
        continuous = torch.rand(batch_size, self.continuous, generator=generator, device=device) * 2 - 1
        return LatentSample(noise, categorical, continuous)

    def generator_input(self, sample: LatentSample) -> torch.Tensor:
        """Concatenate [z, one-hot of each categorical code, continuous codes]."""
        import torch
        import torch.nn.functional as F

        one_hots = [F.one_hot(sample.categorical[:, i], k).to(sample.noise.dtype) for i, k in enumerate(self.categorical)]
        return torch.cat([sample.noise, *one_hots, sample.continuous], dim=1)

    def split_q_output(self, q_output):
        """Split Q's flat output into (list of logits per categorical code, means, log-stds or None)."""
        logits, start = [], 0
        for k in self.categorical:
            logits.append(q_output[:, start:start + k])
            start += k
        means = q_output[:, start:start + self.continuous]
        start += self.continuous
        log_stds = q_output[:, start:start + self.continuous] if self.continuous_std == "learned" else None
        return logits, means, log_stds

    def mutual_information(self, q_output, sample: LatentSample):
        """L_I per code type, averaged over the batch: (categorical, continuous).

        Categorical: sum over codes of ln K - cross-entropy, so it saturates at H(c).
        Continuous: Gaussian log-likelihood of the true code plus the prior's entropy
        (ln 2 per Uniform(-1, 1) code). Either is a zero tensor when there are no such codes.
        """
        import torch
        import torch.nn.functional as F

        logits, means, log_stds = self.split_q_output(q_output.float())
        zero = q_output.new_zeros((), dtype=torch.float32)
        categorical = zero
        for i, (code_logits, k) in enumerate(zip(logits, self.categorical)):
            categorical = categorical + math.log(k) - F.cross_entropy(code_logits, sample.categorical[:, i])
        continuous = zero
        if self.continuous:
            if log_stds is None:
                log_likelihood = -HALF_LOG_2PI - 0.5 * (sample.continuous - means) ** 2
            else:
                log_likelihood = -HALF_LOG_2PI - log_stds - 0.5 * ((sample.continuous - means) * torch.exp(-log_stds)) ** 2
            continuous = (log_likelihood + UNIFORM_ENTROPY).sum(dim=1).mean()
        return categorical, continuous
