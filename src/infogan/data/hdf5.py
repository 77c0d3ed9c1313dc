"""The HDF5 layout every dataset is converted to, and the only code that reads it.

Layout (format version 2):

    /                      attrs: format_version, dataset, source ("real" or "synthetic"),
                                  description, raw_checksums (JSON: file name -> sha256),
                                  created_by
    /<split>              attrs: sha256 (of its images, labels, factors and factor names)
    /<split>/images        uint8, N x C x H x W
    /<split>/labels        int64, N              (optional; class labels)
    /<split>/factors       float32, N x F        (optional; true generating factors)
                           attrs: names (F strings)

Splits are `train` and `test`. Files are written atomically and opened read-only. Each
split's content digest is recorded when it is written and checked whenever it is read, so a
label or factor edited afterwards (which would change every accuracy silently) is refused.
"""

import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from infogan import __version__
from infogan.atomic import atomic_path
from infogan.errors import DatasetFileError

FORMAT_VERSION = 2
SOURCES = ("real", "synthetic")


@dataclass
class Split:
    """One split of a dataset, held in memory."""

    images: np.ndarray
    labels: np.ndarray | None = None
    factors: np.ndarray | None = None
    factor_names: list[str] | None = None

    def __post_init__(self):
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise ValueError(f"images must be uint8 N x C x H x W, got {self.images.dtype} {self.images.shape}")
        n = len(self.images)
        if self.labels is not None and len(self.labels) != n:
            raise ValueError(f"{len(self.labels)} labels for {n} images")
        if self.labels is not None and n and np.min(self.labels) < 0:
            raise ValueError(f"labels must be 0 or more, found {int(np.min(self.labels))}")
        if self.factors is not None:
            if self.factors.shape[0] != n or self.factors.ndim != 2:
                raise ValueError(f"factors must be N x F with N = {n}, got {self.factors.shape}")
            if self.factor_names is None or len(self.factor_names) != self.factors.shape[1]:
                raise ValueError("factor_names must name every factor column")


@dataclass
class DatasetInfo:
    """What the root attributes of a dataset file say about it."""

    path: Path
    dataset: str
    source: str
    description: str
    raw_checksums: dict[str, str]
    format_version: int
    splits: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def synthetic(self) -> bool:
        return self.source == "synthetic"

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """C x H x W of the images (the same in every split)."""
        return tuple(next(iter(self.splits.values()))[1:])


def split_digest(images, labels, factors, factor_names) -> str:
    """sha256 over a split's arrays as stored (shape, dtype and bytes of each) and its factor names."""
    digest = hashlib.sha256()
    for array in (images, labels, factors):
        if array is None:
            digest.update(b"none;")
        else:
            array = np.ascontiguousarray(array)
            digest.update(f"{array.dtype.str}{array.shape};".encode())
            digest.update(array.tobytes())
    digest.update(json.dumps(factor_names).encode())
    return digest.hexdigest()


def write_dataset(path, *, dataset, source, splits, description="", raw_checksums=None):
    """Write `splits` (name -> Split) to `path` atomically, in the layout above."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    # Built in memory, then written in one go: HDF5 meeting a full disk mid-file leaves its
    # library in a state that crashes the interpreter, while a plain write fails cleanly.
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["dataset"] = dataset
        f.attrs["source"] = source
        f.attrs["description"] = description
        f.attrs["raw_checksums"] = json.dumps(raw_checksums or {}, sort_keys=True)
        f.attrs["created_by"] = f"infogan {__version__}"
        for name, split in splits.items():
            labels = None if split.labels is None else np.asarray(split.labels, dtype=np.int64)
            factors = None if split.factors is None else np.asarray(split.factors, dtype=np.float32)
            names = None if factors is None else [str(n) for n in split.factor_names]
            group = f.create_group(name)
            group.attrs["sha256"] = split_digest(split.images, labels, factors, names)
            group.create_dataset("images", data=split.images, chunks=True, compression="gzip", compression_opts=1)
            if labels is not None:
                group.create_dataset("labels", data=labels)
            if factors is not None:
                group.create_dataset("factors", data=factors).attrs["names"] = names
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getbuffer())


def _open(path):
    path = Path(path)
    if not path.is_file():
        raise DatasetFileError(f"{path}: no such dataset file; create it with `infogan prepare DATASET --out {path}`")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise DatasetFileError(f"{path}: not a readable HDF5 file ({exc}); delete it and run `infogan prepare` again") from exc


def read_info(path) -> DatasetInfo:
    """Read and check the root attributes and split shapes, without loading images."""
    path = Path(path)
    with _open(path) as f:
        try:
            version = int(f.attrs["format_version"])
            info = DatasetInfo(
                path=path,
                dataset=str(f.attrs["dataset"]),
                source=str(f.attrs["source"]),
                description=str(f.attrs.get("description", "")),
                raw_checksums=json.loads(f.attrs.get("raw_checksums", "{}")),
                format_version=version,
                splits={name: tuple(f[name]["images"].shape) for name in f.keys()},
            )
        except (KeyError, ValueError, TypeError, OSError) as exc:
            raise DatasetFileError(f"{path}: not an infogan dataset file ({exc}); run `infogan prepare` again") from exc
    if version != FORMAT_VERSION:
        raise DatasetFileError(f"{path}: format version {version}, this code reads {FORMAT_VERSION}; run `infogan prepare` again")
    if info.source not in SOURCES or not info.splits:
        raise DatasetFileError(f"{path}: bad source {info.source!r} or no splits; run `infogan prepare` again")
    return info


def read_split(path, split="train") -> Split:
    """Load one split fully into memory. Corrupt chunks raise DatasetFileError naming the file."""
    path = Path(path)
    read_info(path)
    with _open(path) as f:
        if split not in f:
            raise DatasetFileError(f"{path}: has no split {split!r} (it has {sorted(f.keys())})")
        group = f[split]
        try:
            recorded = str(group.attrs["sha256"])
            images = group["images"][()]
            labels = group["labels"][()] if "labels" in group else None
            factors, names = None, None
            if "factors" in group:
                factors = group["factors"][()]
                names = [str(n) for n in group["factors"].attrs["names"]]
        except (OSError, KeyError, ValueError) as exc:
            raise DatasetFileError(f"{path}: split {split!r} is corrupt ({exc}); delete it and run `infogan prepare` again") from exc
    if split_digest(images, labels, factors, names) != recorded:
        raise DatasetFileError(f"{path}: split {split!r} does not match the sha256 recorded when it was written "
                               "(its images, labels or factors were changed since); run `infogan prepare` again")
    try:
        return Split(images=images, labels=labels, factors=factors, factor_names=names)
    except ValueError as exc:
        raise DatasetFileError(f"{path}: split {split!r}: {exc}; run `infogan prepare` again") from None
