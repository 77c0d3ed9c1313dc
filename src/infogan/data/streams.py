"""Random streams for the synthetic stand-ins: one per split, from one seed.

Independent streams per split keep the test set the same whatever the size of the train
set (a test profile with 256 training images scores on the same test images as a demo
with 50,000), and the same seed always gives the same arrays.
"""

import numpy as np
import torch


def generator_from(seed_sequence: np.random.SeedSequence) -> torch.Generator:
    """A torch.Generator seeded with 63 bits of `seed_sequence`'s state (torch takes a signed 64-bit seed)."""
    return torch.Generator().manual_seed(int(seed_sequence.generate_state(1, dtype=np.uint64)[0] >> 1))


def split_generators(seed: int, splits=("train", "test")) -> dict[str, torch.Generator]:
    """A seeded torch.Generator per split name, each from its own child of SeedSequence(seed)."""
    streams = np.random.SeedSequence(seed).spawn(len(splits))
    return {name: generator_from(stream) for name, stream in zip(splits, streams)}


def train_generator(seed: int) -> dict[str, torch.Generator]:
    """The one stream of a stand-in with a train split only (cartoon faces, as CelebA has no
    test split): SeedSequence(seed) itself rather than a child of it. That is how its files
    were always seeded; spawning a child now would change every image of a given seed."""
    return {"train": generator_from(np.random.SeedSequence(seed))}
