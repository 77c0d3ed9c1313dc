"""Content checks shared by the real datasets: what an imitation of a dataset's layout lacks.

A file can have a dataset's names, counts and shapes and still not hold the dataset: all
zeros, one colour, a placeholder. Where no digest of the exact content is published, or a
copy's digest differs from it, such checks stand between the file and `source=real`. They
run on the images each module decodes anyway, as it decodes them, so nothing is read twice.
"""

import numpy as np

from infogan.errors import DatasetFileError

# Photographs and renders: at most this share of a dataset's images may be one flat colour.
# Real sets hold a few (a blank render, a washed-out crop), far fewer than 1%; an all-zero
# or one-colour imitation holds 100%, so the line between them is wide.
MOST_FLAT_IMAGES = 0.01


def flat_images(images: np.ndarray) -> np.ndarray:
    """One bool per image of `images` (N x ...): True where every pixel and channel has one value."""
    pixels = images.reshape(len(images), -1)
    return pixels.min(axis=1) == pixels.max(axis=1)


class FlatImageCount:
    """Counts images of one flat colour while a dataset file is decoded, and refuses the file once
    more than MOST_FLAT_IMAGES of them are.

    With the expected number of images known, the file is refused as soon as the flat ones
    pass that share of it, so an all-zero imitation of a multi-gigabyte archive fails after a
    few seconds of decoding rather than hours; `finish` checks the share of what was read.
    """

    def __init__(self, path, holds: str, fix: str, expected: int | None = None):
        self.path, self.holds, self.fix, self.expected = path, holds, fix, expected
        self.flat = self.seen = 0

    def add(self, images: np.ndarray) -> None:
        """Count a batch of decoded images (N x ...); raise DatasetFileError if too many are flat."""
        self.flat += int(flat_images(images).sum())
        self.seen += len(images)
        if self.expected and self.flat > MOST_FLAT_IMAGES * self.expected:
            raise self._refusal(f"more than {MOST_FLAT_IMAGES:.0%} of its images are one flat colour "
                                f"({self.flat:,} among the first {self.seen:,} of {self.expected:,})")

    def finish(self) -> None:
        """Raise DatasetFileError if more than MOST_FLAT_IMAGES of the images read are flat."""
        if self.seen and self.flat > MOST_FLAT_IMAGES * self.seen:
            raise self._refusal(f"{self.flat / self.seen:.0%} of its images are one flat colour")

    def _refusal(self, what_is_wrong) -> DatasetFileError:
        return DatasetFileError(f"{self.path}: {what_is_wrong}, not {self.holds}; {self.fix}")
