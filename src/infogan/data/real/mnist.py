"""MNIST: the four published IDX archives, their checks, and conversion to the HDF5 layout.

A file is MNIST when its archive has the published sha256, or when what it decompresses
to has the original's well-known sha256: a copy recompressed by a mirror or by hand
(other gzip bytes, the same IDX bytes) is accepted exactly, and anything else under
MNIST's names (another MNIST-shaped dataset, a shuffled, edited or truncated copy) is
refused, naming the file and what it should be.
"""

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from infogan.data.download import (
    RemoteFile,
    content_sha256_of,
    fetch,
    mirrors_from,
    served_from,
    sha256_of,
)
from infogan.data.hdf5 import Split, write_dataset
from infogan.errors import DatasetFileError

# Tried in this order; the last often answers HTTP 403.
DEFAULT_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
# Comma-separated base URLs that replace DEFAULT_MIRRORS, e.g. a local mirror or a test server.
MIRRORS_ENV = "INFOGAN_MNIST_MIRRORS"

# IDX magic numbers: 0x08 (unsigned bytes) in the third byte, the number of dimensions in the fourth.
IMAGE_MAGIC = 2051
LABEL_MAGIC = 2049
IMAGE_SIDE = 28
SPLIT_SIZES = {"train": 60_000, "test": 10_000}

DESCRIPTION = (
    "MNIST handwritten digits (LeCun, Cortes and Burges), 28x28 grayscale, all 60,000 training "
    "and 10,000 test images; the paper's code trained on TensorFlow's first 55,000. Licence CC BY-SA 3.0."
)


# The sha256 of the IDX file each archive decompresses to (the well-known digests of the
# original files): what identifies MNIST, whoever compressed it.
IDX_SHA256 = {
    "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


def _published(name, size, md5, sha256) -> RemoteFile:
    return RemoteFile(name, sha256=sha256, size=size, md5=md5, urls=tuple(base + name for base in DEFAULT_MIRRORS),
                      content_sha256=IDX_SHA256[name])


# Each archive as published: its name, size, md5 and sha256.
FILES = {
    ("train", "images"): _published("train-images-idx3-ubyte.gz", 9_912_422, "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                                    "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    ("train", "labels"): _published("train-labels-idx1-ubyte.gz", 28_881, "d53e105ee54ea40749a09fcbcd1e9432",
                                    "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    ("test", "images"): _published("t10k-images-idx3-ubyte.gz", 1_648_877, "9fb629c4189551a2d022fa330f9573f3",
                                   "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    ("test", "labels"): _published("t10k-labels-idx1-ubyte.gz", 4_542, "ec29112dd5afa0611ce80d1b7f02629c",
                                   "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
}


def read_idx(path, magic) -> np.ndarray:
    """Read a gzipped IDX file of unsigned bytes, refusing anything whose header or length is off."""
    path = Path(path)
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetFileError(f"{path}: not a readable gzip file ({exc}); delete it and fetch it again") from exc
    ndim = magic & 0xFF
    header_bytes = 4 + 4 * ndim
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise DatasetFileError(f"{path}: IDX magic number {found}, expected {magic}; not the MNIST file of that name, replace it")
    if len(data) < header_bytes:
        raise DatasetFileError(f"{path}: IDX header truncated ({len(data)} bytes); delete it and fetch it again")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected, found_bytes = math.prod(shape), len(data) - header_bytes
    if found_bytes != expected:
        problem = "truncated" if found_bytes < expected else "has trailing bytes"
        raise DatasetFileError(
            f"{path}: {problem}: header announces {expected} data bytes for shape {shape}, file holds {found_bytes}; "
            "delete it and fetch it again"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_bytes).reshape(shape)


def read_images(path) -> np.ndarray:
    """Images as N x 28 x 28 uint8."""
    images = read_idx(path, IMAGE_MAGIC)
    if images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DatasetFileError(f"{path}: images are {images.shape[1:]}, MNIST's are 28x28; replace the file")
    return images


def read_labels(path) -> np.ndarray:
    """Labels as N uint8."""
    return read_idx(path, LABEL_MAGIC)


def check_images(images, path, expected_count) -> None:
    """Raise DatasetFileError unless there are `expected_count` images."""
    if len(images) != expected_count:
        raise DatasetFileError(f"{path}: {len(images)} images, expected {expected_count}; replace the file")


def check_labels(labels, path, expected_count) -> None:
    """Raise DatasetFileError unless there are `expected_count` labels, each a digit 0-9."""
    if len(labels) != expected_count:
        raise DatasetFileError(f"{path}: {len(labels)} labels, expected {expected_count}; replace the file")
    if labels.max(initial=0) > 9:
        raise DatasetFileError(f"{path}: label {labels.max()} found, MNIST's are 0-9; replace the file")


def mirror_bases(mirrors=None) -> tuple[str, ...] | None:
    """Base URLs that override the published hosts: `mirrors`, else $INFOGAN_MNIST_MIRRORS, else None."""
    return mirrors_from(MIRRORS_ENV, mirrors)


def _with_mirrors(files, bases):
    return {key: served_from(remote, bases) for key, remote in files.items()}


def prepare(out_path, raw_dir, mirrors=None, *, files=None, split_sizes=None, backoff_s=1.0) -> None:
    """Fetch the four archives into `raw_dir`, check them, and write the HDF5 file `out_path`.

    `mirrors` (base URLs) or $INFOGAN_MNIST_MIRRORS replace the published hosts. `files`
    (keyed by (split, "images"|"labels")) and `split_sizes` default to the published
    MNIST; tests pass tiny stand-ins.
    """
    files = files or FILES
    split_sizes = split_sizes or SPLIT_SIZES
    bases = mirror_bases(mirrors)
    if bases:
        files = _with_mirrors(files, bases)
    paths = {
        (split, kind): fetch(files[split, kind], raw_dir, backoff_s=backoff_s)
        for split in split_sizes
        for kind in ("images", "labels")
    }
    splits = {}
    for split, count in split_sizes.items():
        images, labels = read_images(paths[split, "images"]), read_labels(paths[split, "labels"])
        check_images(images, paths[split, "images"], count)
        check_labels(labels, paths[split, "labels"], count)
        splits[split] = Split(images=images[:, np.newaxis], labels=labels.astype(np.int64))
    write_dataset(
        out_path,
        dataset="mnist",
        source="real",
        splits=splits,
        description=DESCRIPTION,
        raw_checksums=_provenance(paths.values()),
    )


def _provenance(paths) -> dict[str, str]:
    """sha256 of each archive as it is, and of the IDX file it decompresses to (named without
    .gz): the second is what identifies MNIST, whoever compressed it."""
    digests = {}
    for path in paths:
        digests[path.name] = sha256_of(path)
        digests[path.name.removesuffix(".gz")] = content_sha256_of(path)
    return digests
