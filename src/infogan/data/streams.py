"""Random streams for the synthetic stand-ins: one per split, from one seed.

Independent streams per split keep the test set the same whatever the size of the train
set (a test profile with 256 training images scores on the same test images as a demo
with 50,000), and the same seed always gives the same arrays.
"""

import numpy as np
import torch


def split_generators(seed: int, splits=("train", "test")) -> dict[str, torch.Generator]:
    """A seeded torch.Generator per split name, each from its own child of SeedSequence(seed)."""
    streams = np.random.SeedSequence(seed).spawn(len(splits))
    return {
        name: torch.Generator().manual_seed(int(stream.generate_state(1, dtype=np.uint64)[0] >> 1))
        for name, stream in zip(splits, streams)
    }
