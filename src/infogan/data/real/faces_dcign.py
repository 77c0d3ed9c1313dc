"""3D Faces, route 1: DC-IGN's renders of the Basel Face Model (Kulkarni et al. 2015).

They are mirrored as one zip on S3. Inside, folders `th_AZ_VARIED`, `th_EL_VARIED`,
`th_LIGHT_AZ_VARIED` and `th_SHAPE_VARIED` each hold `FT_training/batchN` and
`FT_test/batchN` files: Torch7-serialized float tensors of 20 grayscale 150x150 faces in
[0, 1] (DC-IGN's preprocessing divided by 255), in each of which only the folder's factor
varies. They are shrunk to 32x32 (antialiased). The folder is kept as the label; Torch7's
format is read by our own small reader (`infogan.data.real.torch7`). `faces` decides
whether this route is taken.
"""

import logging
import re
import zipfile
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

import numpy as np
from PIL import Image

from infogan.data.download import RemoteFile, mirrors_from, sha256_of
from infogan.data.hdf5 import Split, write_dataset
from infogan.data.real.content import FlatImageCount
from infogan.data.real.torch7 import read_torch7
from infogan.errors import DatasetFileError
from infogan.progress import progress

log = logging.getLogger(__name__)

IMAGE_SIZE = 32  # the paper's faces: 32 x 32 grayscale, whichever route makes them

ZIP_NAME = "dcign_facedataset_monovariant.zip"
DEFAULT_URL = "https://s3.amazonaws.com/willwhitney/dc-ign/" + ZIP_NAME
# Comma-separated base URLs that replace the mirror, e.g. a local copy or a test server.
MIRRORS_ENV = "INFOGAN_FACES_MIRRORS"
# No checksum is published: fetch accepts what arrives, and its sha256 is recorded in the HDF5 file.
FILE = RemoteFile(ZIP_NAME, sha256=None, urls=(DEFAULT_URL,))

# DC-IGN's folders, in the order its code numbers them; the index is the label.
FOLDERS = ("AZ_VARIED", "EL_VARIED", "LIGHT_AZ_VARIED", "SHAPE_VARIED")
FACTOR_NAMES = ["varied_folder", "position_in_batch"]
# Used only if the zip has no FT_test folders: every TEST_EVERY-th batch of each folder is held out.
TEST_EVERY = 10


@dataclass(frozen=True)
class BatchMember:
    """One batch file inside the zip: its name, folder index, split and batch number."""

    name: str
    folder: int
    split: str | None  # None: the zip does not say
    number: int


def parse_member(name: str) -> BatchMember | None:
    """Where a zip member sits in DC-IGN's layout (`.../th_AZ_VARIED/FT_training/batch12`); None if elsewhere."""
    parts = PurePosixPath(name).parts
    if not parts or "__MACOSX" in parts or parts[-1].startswith("."):
        return None
    match = re.fullmatch(r"batch(\d+)(\.t7)?", parts[-1])
    folders = [FOLDERS.index(p.removeprefix("th_")) for p in parts[:-1] if p.removeprefix("th_") in FOLDERS]
    if match is None or not folders:
        return None
    lowered = {p.lower() for p in parts[:-1]}
    split = "test" if lowered & {"ft_test", "test"} else "train" if lowered & {"ft_training", "training", "train"} else None
    return BatchMember(name, folders[-1], split, int(match[1]))


def batch_images(array: np.ndarray, name: str) -> np.ndarray:
    """A batch tensor (N x 1 x H x W or N x H x W, values in [0, 1] or [0, 255]) as N x H x W float32 in [0, 255]."""
    if array.ndim == 4 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 3 or array.shape[0] == 0:
        raise DatasetFileError(f"{name}: a tensor of shape {array.shape}, expected N x 1 x H x W grayscale images")
    array = array.astype(np.float32)
    if not np.isfinite(array).all() or array.min() < -1e-3 or array.max() > 255.5:
        raise DatasetFileError(f"{name}: pixel values outside [0, 255] (min {array.min()}, max {array.max()})")
    return array * 255.0 if array.max() <= 1.0 + 1e-3 else array


def shrink(image: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """One H x W float image in [0, 255] as size x size uint8, antialiased (PIL's Lanczos)."""
    small = Image.fromarray(image.astype(np.float32), mode="F").resize((size, size), Image.Resampling.LANCZOS)
    return np.clip(np.rint(np.asarray(small)), 0, 255).astype(np.uint8)


def _open_zip(zip_path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DatasetFileError(f"{zip_path}: not a readable zip ({exc}); delete it and download {ZIP_NAME} again") from exc


def list_batches(zip_path) -> list[BatchMember]:
    """The zip's batch files in order (folder, split, number); DatasetFileError if it holds none."""
    with _open_zip(zip_path) as archive:
        members = [m for info in archive.infolist() if not info.is_dir() and (m := parse_member(info.filename))]
    if not members:
        raise DatasetFileError(
            f"{zip_path}: a zip, but it holds no th_<AZ|EL|LIGHT_AZ|SHAPE>_VARIED/<FT_training|FT_test>/batchN "
            f"files; replace it with {ZIP_NAME} from {DEFAULT_URL}"
        )
    return sorted(members, key=lambda m: (m.folder, m.split or "", m.number))


def check_zip(zip_path) -> str:
    """Content check for a zip placed by hand: a zip in DC-IGN's layout whose first batch reads."""
    members = list_batches(zip_path)
    with _open_zip(zip_path) as archive:
        images = batch_images(read_torch7(archive.read(members[0].name), name=f"{zip_path}:{members[0].name}"),
                              f"{zip_path}:{members[0].name}")
    return f"content check passed ({len(members)} batches; {members[0].name} holds {len(images)} images)"


def _assign_splits(members) -> tuple[list[BatchMember], bool]:
    """Members with a split each; True if the zip had its own test batches."""
    if any(m.split == "test" for m in members):
        return [m if m.split else replace(m, split="train") for m in members], True
    numbered = []
    for folder in range(len(FOLDERS)):
        mine = [m for m in members if m.folder == folder]
        numbered += [replace(m, split="test" if i % TEST_EVERY == 0 else "train") for i, m in enumerate(mine)]
    return numbered, False


def read_dcign(zip_path) -> tuple[dict[str, Split], bool]:
    """Every batch of the zip, shrunk to 32x32, as train and test splits; True if the zip defined the test split.

    No checksum is published, so the images are checked as they are read: a zip in DC-IGN's
    layout whose faces are blank (one flat colour) is refused.
    """
    members, own_split = _assign_splits(list_batches(zip_path))
    collected = {"train": ([], [], []), "test": ([], [], [])}
    flat = FlatImageCount(zip_path, "DC-IGN's renders of faces", f"delete it and download {ZIP_NAME} again")
    with _open_zip(zip_path) as archive:
        for member in progress(members, desc="faces", unit="batch"):
            label = f"{zip_path}:{member.name}"
            try:
                payload = archive.read(member.name)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise DatasetFileError(f"{label}: unreadable ({exc}); delete {zip_path} and download it again") from exc
            obj = read_torch7(payload, name=label)
            if not isinstance(obj, np.ndarray):
                raise DatasetFileError(f"{label}: holds a {type(obj).__name__}, expected a tensor of images")
            images = batch_images(obj, label)
            images_out, labels_out, positions_out = collected[member.split]
            images_out.append(np.stack([shrink(image) for image in images]))
            flat.add(images_out[-1])
            labels_out.append(np.full(len(images), member.folder))
            positions_out.append(np.arange(len(images)))
    flat.finish()
    splits = {}
    for name, (images, labels, positions) in collected.items():
        if not images:
            raise DatasetFileError(f"{zip_path}: no {name} batches; replace it with {ZIP_NAME} from {DEFAULT_URL}")
        labels, positions = np.concatenate(labels).astype(np.int64), np.concatenate(positions)
        splits[name] = Split(
            images=np.concatenate(images)[:, np.newaxis],
            labels=labels,
            factors=np.stack([labels, positions], axis=1).astype(np.float32),
            factor_names=list(FACTOR_NAMES),
        )
    return splits, own_split


def description(own_split: bool) -> str:
    split = ("train and test are DC-IGN's FT_training and FT_test batches" if own_split else
             f"the zip had no test batches, so every {TEST_EVERY}th batch of each folder forms the test split")
    return (
        "3D Faces: DC-IGN's renders of the Basel Face Model 2009 (Kulkarni et al. 2015; "
        f"{ZIP_NAME}), 150x150 grayscale shrunk to 32x32 with PIL's antialiased Lanczos filter; {split}. "
        "Each batch of 20 varies one factor only: label and factor varied_folder give which "
        "(0 AZ_VARIED azimuth, 1 EL_VARIED elevation, 2 LIGHT_AZ_VARIED light azimuth, 3 SHAPE_VARIED shape); "
        "factor position_in_batch (0-19) follows the varied factor if, as DC-IGN's code pairing "
        "consecutive images suggests, each batch sweeps it in order (not documented)."
    )


def prepare(out_path, zip_path) -> None:
    """Convert DC-IGN's zip to the HDF5 layout."""
    log.info("%s: %s", zip_path, check_zip(zip_path))
    checksum = sha256_of(zip_path)
    log.info("%s: sha256 %s (no checksum is published; recorded in %s)", zip_path, checksum, out_path)
    splits, own_split = read_dcign(zip_path)
    write_dataset(out_path, dataset="faces", source="real", splits=splits,
                  description=description(own_split), raw_checksums={zip_path.name: checksum})



def mirror_bases(mirrors=None) -> tuple[str, ...] | None:
    """Base URLs that override the mirror: `mirrors`, else $INFOGAN_FACES_MIRRORS, else None."""
    return mirrors_from(MIRRORS_ENV, mirrors)
