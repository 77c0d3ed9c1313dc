"""What every synthetic stand-in does alike, so that each stand-in module holds only what it draws.

A stand-in draws its factors for a whole split from the split's own random stream, renders
the images a batch at a time (memory stays small, a progress bar shows the time it takes),
and stores the factors beside the images. The rules that make its files trustworthy are
kept here, once for all five:

- same seed, same arrays: every draw comes from the split's stream, in a fixed order;
- the test split does not depend on the train split's size (`infogan.data.streams`);
- `prepare` takes the arguments of the real datasets' preparers, so `infogan prepare NAME`
  treats every dataset alike, plus the sizes of the splits (`--train-images`, `--test-images`).

The helpers below do the arithmetic of drawing exactly as the stand-ins always did it (the
same torch operations in the same order), so a refactor here must leave every stored byte
as it was: the tests of each stand-in compare two files of the same seed.
"""

from collections.abc import Callable, Iterable

import numpy as np
import torch

from infogan.data.hdf5 import Split, write_dataset
from infogan.data.streams import split_generators
from infogan.progress import progress

# A batch of images: a slice of the split, or the indices of its images (see `batches_of_each`).
Part = slice | torch.Tensor


def uniform(bounds: tuple[float, float], n: int, generator: torch.Generator) -> torch.Tensor:
    """`n` values drawn uniformly from [low, high)."""
    low, high = bounds
    return low + (high - low) * torch.rand(n, generator=generator)


def uniform_factors(ranges: dict[str, tuple[float, float]], n: int, generator) -> dict[str, torch.Tensor]:
    """Each factor of `ranges` uniform over its range, independently, drawn in the dict's order."""
    return {name: uniform(bounds, n, generator) for name, bounds in ranges.items()}


def balanced_labels(n: int, classes: int, generator: torch.Generator) -> torch.Tensor:
    """`n` labels, each class as often as the others (to within one), in random order."""
    return torch.randperm(n, generator=generator) % classes


def to_uint8(intensity: torch.Tensor) -> torch.Tensor:
    """Intensities in [0, 1] as bytes, rounded to the nearest level."""
    return (intensity * 255).round_().to(torch.uint8)


def batches_of_each(key: torch.Tensor, batch_size: int) -> list[torch.Tensor]:
    """Indices of the images, in batches of at most `batch_size` that share one value of `key`,
    for a renderer that draws one kind of thing at a time (a chair type: one mesh layout)."""
    parts = []
    for value in key.unique(sorted=True):
        indices = torch.nonzero(key == value).squeeze(1)
        parts += [indices[start : start + batch_size] for start in range(0, len(indices), batch_size)]
    return parts


def render_in_batches(n: int, image_shape: tuple[int, int, int], draw: Callable[[Part], torch.Tensor], *,
                      batch_size: int, desc: str, parts: Iterable[Part] | None = None) -> torch.Tensor:
    """`n` images, uint8 N x C x H x W, drawn by `draw(part)` a batch at a time.

    `draw` returns the uint8 images of `part`; by default the parts are consecutive slices of
    `batch_size`, drawn in order (a renderer that draws noise from the split's stream needs
    that order). The progress bar shows only if it takes more than 2 s.
    """
    images = torch.empty(n, *image_shape, dtype=torch.uint8)
    if parts is None:
        parts = (slice(start, start + batch_size) for start in range(0, n, batch_size))
    with progress(total=n, desc=desc, unit="img", delay=2) as bar:
        for part in parts:
            drawn = draw(part)
            images[part] = drawn
            bar.update(len(drawn))
    return images


def as_split(images: torch.Tensor, factors: dict[str, torch.Tensor], factor_names, labels=None) -> Split:
    """The Split of a stand-in: its images, its factors as float32 columns in the order of
    `factor_names`, and its class labels (int64) if it has any."""
    return Split(
        images=images.numpy(),
        labels=None if labels is None else labels.numpy().astype(np.int64),
        factors=torch.stack([factors[name].float() for name in factor_names], dim=1).numpy(),
        factor_names=list(factor_names),
    )


def prepare(out_path, dataset: str, description: str, generate_split: Callable[[int, torch.Generator, str], Split],
            *, seed: int, sizes: dict[str, int], streams=split_generators):
    """Generate each split of `sizes` ({"train": n, ...}) from its own stream and write them to
    `out_path` as HDF5 (source "synthetic"); returns `out_path`.

    `generate_split(n, generator, desc)` draws one split; `desc` labels its progress bar
    ("synthetic digits (train)"). `streams(seed)` gives each split's generator.
    """
    generators = streams(seed)
    subject = dataset.replace("_", " ")
    splits = {name: generate_split(n, generators[name], f"{subject} ({name})") for name, n in sizes.items()}
    write_dataset(out_path, dataset=dataset, source="synthetic", splits=splits, description=description)
    return out_path
