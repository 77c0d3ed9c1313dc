"""SVHN (cropped digits): the published MATLAB files, their checks, and conversion to HDF5.

The Street View House Numbers files live on one host, over plain http, with md5 checksums
only (no sha256), so a download is held to its md5 and size. A copy the user placed by
hand whose md5 differs (re-saved by someone else) is accepted only if its content reads
as SVHN: a MATLAB v5 file holding `X` (32 x 32 x 3 x N uint8) and `y` (N labels 1-10, where
10 stands for digit 0) with the published N. The error for a file that fails names it.

The paper does not say which split it trained on; public ports use `train`, so that is the
default. `extra` (531,131 easier images, 1.3 GB) is fetched only when asked for, and then
joins the training split, as in the SVHN literature that uses it.
"""

import zlib
from functools import partial
from pathlib import Path

import numpy as np

from infogan.data.download import (
    RemoteFile,
    fetch,
    mirrors_from,
    served_from,
    sha256_of,
)
from infogan.data.hdf5 import Split, write_dataset
from infogan.data.real.content import FlatImageCount
from infogan.errors import DatasetFileError

DEFAULT_MIRRORS = ("http://ufldl.stanford.edu/housenumbers/",)
# Comma-separated base URLs that replace DEFAULT_MIRRORS, e.g. a local mirror or a test server.
MIRRORS_ENV = "INFOGAN_SVHN_MIRRORS"

IMAGE_SHAPE = (32, 32, 3)  # X's first three axes: rows, columns, RGB
ZERO_LABEL = 10  # SVHN's label for the digit 0
SPLIT_SIZES = {"train": 73_257, "test": 26_032, "extra": 531_131}

DESCRIPTION = (
    "SVHN cropped digits (Netzer et al., Street View House Numbers), 32x32 RGB; label = centre "
    "digit, with SVHN's 10 mapped to 0. train: the {train} images of train_32x32.mat{extra}; "
    "test: the {test} images of test_32x32.mat. Licence: non-commercial use only."
)


def _published(name, size, md5) -> RemoteFile:
    return RemoteFile(name, sha256=None, size=size, md5=md5, urls=tuple(base + name for base in DEFAULT_MIRRORS))


FILES = {
    "train": _published("train_32x32.mat", 182_040_794, "e26dedcc434d2e4c54c9b2d4a06d8373"),
    "test": _published("test_32x32.mat", 64_275_384, "eb5a983be6a315427106f1b164d9cef3"),
    "extra": _published("extra_32x32.mat", 1_329_278_602, "a93ce644f1a588dc4d68dda5feec44a7"),
}


def load_mat(path) -> tuple[np.ndarray, np.ndarray]:
    """Read `X` and `y` from a MATLAB v5 file, refusing anything unreadable or without them."""
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    path = Path(path)
    replace_it = "delete it and fetch it again, or replace it with the SVHN file of that name"
    try:
        contents = loadmat(path, variable_names=["X", "y"])
    except NotImplementedError as exc:
        raise DatasetFileError(
            f"{path}: a MATLAB v7.3 (HDF5) file ({exc}); SVHN publishes MATLAB v5 files, {replace_it}"
        ) from exc
    except (MatReadError, ValueError, OSError, EOFError, TypeError, zlib.error) as exc:
        raise DatasetFileError(f"{path}: not a readable MATLAB file ({exc}); {replace_it}") from exc
    missing = [name for name in ("X", "y") if name not in contents]
    if missing:
        raise DatasetFileError(f"{path}: has no variable {' or '.join(map(repr, missing))}; not an SVHN file, {replace_it}")
    return contents["X"], contents["y"]


def to_images_and_labels(x, y, path) -> tuple[np.ndarray, np.ndarray]:
    """SVHN's arrays as images N x 3 x 32 x 32 uint8 and labels 0-9 int64, after checking them."""
    if x.ndim != 4 or x.shape[:3] != IMAGE_SHAPE or x.dtype != np.uint8:
        raise DatasetFileError(
            f"{path}: X is {x.dtype} {x.shape}, SVHN's is uint8 (32, 32, 3, N); replace the file"
        )
    count = x.shape[3]
    if y.size != count or (y.ndim == 2 and min(y.shape) != 1) or y.ndim > 2:
        raise DatasetFileError(f"{path}: y has shape {y.shape} for {count} images in X, expected ({count}, 1); replace the file")
    labels = y.reshape(-1).astype(np.int64)
    if count and (labels.min() < 1 or labels.max() > ZERO_LABEL):
        raise DatasetFileError(
            f"{path}: labels span {labels.min()}-{labels.max()}, SVHN's are 1-10 (10 = digit 0); replace the file"
        )
    labels[labels == ZERO_LABEL] = 0
    return np.ascontiguousarray(x.transpose(3, 2, 0, 1)), labels


def read_split_file(path, expected_count=None) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of one .mat file; with `expected_count`, also its number of images."""
    images, labels = to_images_and_labels(*load_mat(path), path)
    if expected_count is not None and len(images) != expected_count:
        raise DatasetFileError(f"{path}: {len(images)} images, expected {expected_count}; replace the file")
    return images, labels


MOST_OF_ONE_LABEL = 0.5  # SVHN's commonest digit (1) is under a fifth of each split


def check_file(path, expected_count) -> str:
    """The second opinion `fetch` asks for on a hand-placed file whose md5 differs: SVHN's
    layout and image count, and content an imitation of that layout does not have: crops
    that are not flat colour (at most `MOST_FLAT_IMAGES`, shared by every real dataset), every
    digit present, none holding half the labels. SVHN publishes no digest of its content, so a copy with its labels shuffled among the images
    cannot be told from the original; the md5 of a download can."""
    images, labels = read_split_file(path, expected_count)
    if len(images):
        flat = FlatImageCount(path, "SVHN's photographs", "replace the file")
        flat.add(images)
        flat.finish()
        counts = np.bincount(labels, minlength=10)
        if (counts == 0).any() or counts.max() > MOST_OF_ONE_LABEL * len(labels):
            raise DatasetFileError(f"{path}: label counts {counts.tolist()} (digits 0-9) are not SVHN's, which has "
                                   f"every digit and none in half the images; replace the file")
    return (f"content check passed (MATLAB file with X of {expected_count} 32x32x3 uint8 images, photographs "
            "rather than flat colour, and labels 1-10 with every digit present)")


def mirror_bases(mirrors=None) -> tuple[str, ...] | None:
    """Base URLs that override the published host: `mirrors`, else $INFOGAN_SVHN_MIRRORS, else None."""
    return mirrors_from(MIRRORS_ENV, mirrors)


def _with_mirrors(files, bases):
    return {key: served_from(remote, bases) for key, remote in files.items()}


def _description(counts, extra) -> str:
    joined = f" followed by the {counts['extra']:,} of extra_32x32.mat" if extra else ""
    return DESCRIPTION.format(train=f"{counts['train']:,}", test=f"{counts['test']:,}", extra=joined)


def prepare(out_path, raw_dir, mirrors=None, *, include_extra=False, files=None, split_sizes=None, backoff_s=1.0) -> None:
    """Fetch the .mat files into `raw_dir`, check them, and write the HDF5 file `out_path`.

    With `include_extra`, extra_32x32.mat (1.3 GB; about 4 GB of memory to convert) is fetched too and
    appended to the training split. `mirrors` (base URLs) or $INFOGAN_SVHN_MIRRORS replace the
    published host. `files` (keyed "train", "test", "extra") and `split_sizes` default to the
    published SVHN; tests pass tiny stand-ins.
    """
    files = files or FILES
    split_sizes = split_sizes or SPLIT_SIZES
    bases = mirror_bases(mirrors)
    if bases:
        files = _with_mirrors(files, bases)
    wanted = ("train", "test", "extra") if include_extra else ("train", "test")
    paths = {
        split: fetch(
            files[split], raw_dir, backoff_s=backoff_s,
            content_check=partial(check_file, expected_count=split_sizes[split]),
        )
        for split in wanted
    }
    arrays = {split: read_split_file(paths[split], split_sizes[split]) for split in wanted}
    if include_extra:
        extra_images, extra_labels = arrays.pop("extra")
        train_images, train_labels = arrays["train"]
        arrays["train"] = (np.concatenate([train_images, extra_images]), np.concatenate([train_labels, extra_labels]))
    write_dataset(
        out_path,
        dataset="svhn",
        source="real",
        splits={split: Split(images=images, labels=labels) for split, (images, labels) in arrays.items()},
        description=_description(split_sizes, include_extra),
        raw_checksums={path.name: sha256_of(path) for path in paths.values()},
    )
