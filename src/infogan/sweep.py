"""One code swept across values, every other latent input held fixed per draw: the images
the evaluation measures and Figures 2-6 show.

The draws depend only on the seed, so with the same seed every sweep of a run (each code,
categorical or continuous) shares its draws: row r of every panel of one run is the same
noise and the same other codes.
"""

import torch

from infogan.latent import LatentSample, LatentSpec

CODE_KINDS = ("categorical", "continuous")


@torch.no_grad()
def sweep_code(generator, spec: LatentSpec, kind, code_index, values, draws, seed, device) -> torch.Tensor:
    """Images for each of `values` of code `code_index` of `kind`, in the generator's range:
    a tensor of shape len(values) x draws x C x H x W."""
    if kind not in CODE_KINDS:
        raise ValueError(f"code kind {kind!r}: expected one of {CODE_KINDS}")
    base = spec.sample(draws, torch.Generator(device).manual_seed(seed), device)
    columns = []
    for value in values:
        categorical, continuous = base.categorical.clone(), base.continuous.clone()
        (categorical if kind == "categorical" else continuous)[:, code_index] = value
        sample = LatentSample(base.noise, categorical, continuous)
        columns.append(generator(spec.generator_input(sample)).float().cpu())
    return torch.stack(columns)


def sweep_categories(generator, spec: LatentSpec, code_index, draws, seed, device) -> torch.Tensor:
    """Every category of categorical code `code_index`: K x draws x C x H x W."""
    return sweep_code(generator, spec, "categorical", code_index, range(spec.categorical[code_index]), draws, seed,
                      device)
