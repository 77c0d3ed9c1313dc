"""3D Chairs (Aubry et al., CVPR 2014): the rendered_chairs tar, streamed into the HDF5 layout.

The tar holds 1,393 chairs x 62 views = 86,366 PNG renders of 600x600 pixels, several GB in
all, so it is never extracted: it is read once, front to back, with `tarfile` in stream
mode, and each render is decoded and shrunk in memory. Every member name is checked before
use, because a tar can name files outside the folder it would be extracted to (an absolute
path, a `..` component, a link); such a tar is refused outright rather than skipped over,
since it was not made by the dataset's authors.

No checksum is published, so a tar is accepted on its content, and its sha256 is recorded:
renders under the published names, in the published number, at most 1% of them one flat
colour (counted while streaming, so a blank imitation is refused early), and each chair's
views differing from each other.

Preprocessing (the paper says only "64x64 grayscale"): grayscale, then the central
400x400 crop of the 600x600 render (offset 100 on each side), then an antialiased resize to
64x64. Ports of InfoGAN differ here (some resize the whole render); the crop keeps the chair
larger in the frame, since the renders leave a wide white margin around it.

Render file names read `image_XXX_pYYY_tZZZ_rRRR.png`. What the fields mean is not written
down in the dataset's README; from the renders themselves and from how ports use them:
XXX is the view number within the chair (000-061), YYY the camera's elevation ("pitch") in
degrees (020 or 030), ZZZ its azimuth ("theta") in degrees (31 values over 0-360), and RRR
the camera distance ("radius", the same for every view). The elevation/azimuth reading is
well established; the distance reading is our best understanding and is not stored as a
factor.
"""

import logging
import re
import tarfile
from io import BytesIO
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

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
from infogan.progress import progress

log = logging.getLogger(__name__)

TAR_NAME = "rendered_chairs.tar"
DEFAULT_URL = "https://www.di.ens.fr/willow/research/seeing3Dchairs/data/" + TAR_NAME
# Comma-separated base URLs that replace the published host, e.g. a local mirror or a test server.
MIRRORS_ENV = "INFOGAN_CHAIRS_MIRRORS"
# No checksum is published: fetch accepts what arrives, and its sha256 is recorded in the HDF5 file.
FILE = RemoteFile(TAR_NAME, sha256=None, urls=(DEFAULT_URL,))

N_CHAIRS = 1_393
VIEWS_PER_CHAIR = 62
N_IMAGES = N_CHAIRS * VIEWS_PER_CHAIR  # 86,366

# The crop, stated for the published 600x600 renders: the central 400x400 (offset 100).
# Renders of another size (tests) are cropped in the same proportion.
RENDER_SIZE = 600
CROP_SIZE = 400
CROP_OFFSET = (RENDER_SIZE - CROP_SIZE) // 2
IMAGE_SIZE = 64
# Every TEST_EVERY-th chair (sorted by folder name) also forms the test split; see `description`.
TEST_EVERY = 10
# At most this share of chairs may show one identical image in all their views. A chair seen
# from 31 azimuths and 2 elevations looks different in each, unless its mesh failed to render
# (a blank frame every time), which may befall a few chairs; an imitation that copies one
# image into every view of a chair does it for all of them.
MOST_UNCHANGING_CHAIRS = 0.01
REDOWNLOAD = f"delete it and download {TAR_NAME} again"

RENDER_PATTERN = re.compile(
    r"rendered_chairs/(?P<chair>[^/]+)/renders/"
    r"image_(?P<view>\d{3})_p(?P<elevation>\d{3})_t(?P<azimuth>\d{3})_r(?P<distance>\d{3})\.png"
)
FACTOR_NAMES = ["azimuth_deg", "azimuth_sin", "azimuth_cos", "elevation_deg"]


def description(test_every=TEST_EVERY) -> str:
    """What the HDF5 file holds and how it was made, for its `description` attribute."""
    return (
        "3D Chairs (Aubry, Maturana, Efros, Russell and Sivic, CVPR 2014): 1,393 chairs x 62 views "
        "(31 azimuths x 2 elevations), 86,366 renders. Preprocessing: the 600x600 RGB render on white "
        "is converted to grayscale, the central 400x400 crop (offset 100) is taken, and it is resized "
        "to 64x64 with PIL's antialiased Lanczos filter (the crop choice stated in the report). "
        "Labels: chair index (chair folders sorted by name). Factors from the file names "
        "image_XXX_pYYY_tZZZ_rRRR.png: azimuth_deg (t), its sine and cosine, elevation_deg (p). "
        "Train holds every image, as the paper trained on all chairs; test holds the images of every "
        f"{test_every}th chair and is therefore a subset of train (the codes are scored against the "
        "factors, which training never sees)."
    )


def mirror_bases(mirrors=None) -> tuple[str, ...] | None:
    """Base URLs that override the published host: `mirrors`, else $INFOGAN_CHAIRS_MIRRORS, else None."""
    return mirrors_from(MIRRORS_ENV, mirrors)


def _with_mirrors(remote, bases) -> RemoteFile:
    return served_from(remote, bases)


def check_member(member: tarfile.TarInfo, tar_path) -> None:
    """Refuse a member that would land outside the folder if the tar were extracted."""
    name = member.name
    fix = "this is not the published rendered_chairs.tar; delete it and download it again"
    if name.startswith(("/", "\\")) or PurePosixPath(name).is_absolute() or re.match(r"^[A-Za-z]:", name):
        raise DatasetFileError(f"{tar_path}: member {name!r} has an absolute path; {fix}")
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        raise DatasetFileError(f"{tar_path}: member {name!r} has a '..' component that escapes the folder; {fix}")
    if member.issym() or member.islnk():
        raise DatasetFileError(f"{tar_path}: member {name!r} is a link (to {member.linkname!r}); {fix}")


def parse_render_name(name: str) -> dict | None:
    """Chair folder, view number, elevation and azimuth from a render's path; None if it is not a render."""
    match = RENDER_PATTERN.fullmatch(name.removeprefix("./"))
    if match is None:
        return None
    return {
        "chair": match["chair"],
        "view": int(match["view"]),
        "elevation_deg": float(match["elevation"]),
        "azimuth_deg": float(match["azimuth"]),
    }


def crop_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The central crop, CROP_SIZE/RENDER_SIZE of each side (400x400 at offset 100 for 600x600)."""
    crop_w, crop_h = round(width * CROP_SIZE / RENDER_SIZE), round(height * CROP_SIZE / RENDER_SIZE)
    left, top = (width - crop_w) // 2, (height - crop_h) // 2
    return left, top, left + crop_w, top + crop_h


def preprocess(image: Image.Image) -> np.ndarray:
    """A render (RGB on white, or with alpha) as a 64x64 uint8 grayscale array: gray, crop, resize."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image.convert("RGBA"))
    gray = image.convert("L")
    cropped = gray.crop(crop_box(*gray.size))
    return np.asarray(cropped.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.LANCZOS), dtype=np.uint8)


def _decode(data: bytes, name: str, tar_path) -> np.ndarray:
    try:
        with Image.open(BytesIO(data)) as image:
            image.load()
            return preprocess(image)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DatasetFileError(f"{tar_path}: member {name!r} is not a readable PNG ({exc}); delete the tar and download it again") from exc


class _Growing:
    """A preallocated N x 1 x 64 x 64 uint8 array that doubles if the tar holds more renders than expected."""

    def __init__(self, capacity):
        self.array = np.empty((max(capacity, 1), 1, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
        self.count = 0

    def append(self, image):
        if self.count == len(self.array):
            self.array = np.concatenate([self.array, np.empty_like(self.array)])
        self.array[self.count, 0] = image
        self.count += 1

    def result(self) -> np.ndarray:
        return self.array[: self.count]


def read_renders(tar_path, expected_images=N_IMAGES):
    """Stream the tar once; return (images N x 1 x 64 x 64 uint8, parsed names), in tar order.

    Every member is checked (`check_member`); only regular files named like renders are
    decoded, anything else (all_chair_names.mat, folders) is skipped. Renders of one flat
    colour are counted as they are decoded, and a tar of blank renders is refused early.
    """
    tar_path = Path(tar_path)
    images, records = _Growing(expected_images), []
    flat = FlatImageCount(tar_path, "3D Chairs' renders", REDOWNLOAD, expected=expected_images)
    try:
        with tarfile.open(tar_path, mode="r|") as tar, progress(total=expected_images, desc="chairs", unit="img") as bar:
            for member in tar:
                check_member(member, tar_path)
                record = parse_render_name(member.name) if member.isfile() else None
                if record is None:
                    continue
                data = tar.extractfile(member).read()
                image = _decode(data, member.name, tar_path)
                flat.add(image[np.newaxis])
                images.append(image)
                records.append(record)
                bar.update(1)
            end = tar.offset
        _check_end_marker(tar_path, end)
        flat.finish()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DatasetFileError(f"{tar_path}: not a readable tar, or truncated ({exc}); delete it and download it again") from exc
    return images.result(), records


def _check_end_marker(tar_path, offset):
    """Raise EOFError unless two zero blocks follow the last member: a tar cut at a member boundary
    reads without error in stream mode, and only its missing end-of-archive marker gives it away."""
    with open(tar_path, "rb") as f:
        f.seek(offset)
        marker = f.read(2 * tarfile.BLOCKSIZE)
    if len(marker) < 2 * tarfile.BLOCKSIZE or marker.count(0) != len(marker):
        raise EOFError(f"no end-of-archive marker after byte {offset}")


def check_tar(tar_path) -> str:
    """Content check for a tar placed by hand: it is a tar and holds at least one render."""
    tar_path = Path(tar_path)
    try:
        with tarfile.open(tar_path, mode="r|") as tar:
            for member in tar:
                check_member(member, tar_path)
                if member.isfile() and parse_render_name(member.name):
                    return f"content check passed (a tar holding renders such as {member.name})"
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DatasetFileError(f"{tar_path}: not a readable tar ({exc}); {REDOWNLOAD}") from exc
    raise DatasetFileError(
        f"{tar_path}: a tar, but it holds no rendered_chairs/<chair>/renders/image_*.png; "
        f"replace it with {TAR_NAME} from {DEFAULT_URL}"
    )


def to_split(images, records, chair_names):
    """Images sorted by (chair, view), with chair-index labels and the angles as factors."""
    index = {name: i for i, name in enumerate(chair_names)}
    order = sorted(range(len(records)), key=lambda i: (index[records[i]["chair"]], records[i]["view"]))
    labels = np.array([index[records[i]["chair"]] for i in order], dtype=np.int64)
    azimuth = np.array([records[i]["azimuth_deg"] for i in order])
    elevation = np.array([records[i]["elevation_deg"] for i in order])
    radians = np.deg2rad(azimuth)
    factors = np.stack([azimuth, np.sin(radians), np.cos(radians), elevation], axis=1).astype(np.float32)
    return Split(images=images[order], labels=labels, factors=factors, factor_names=list(FACTOR_NAMES))


def _check_counts(records, chair_names, tar_path, expected_images):
    if expected_images is not None and len(records) != expected_images:
        raise DatasetFileError(
            f"{tar_path}: {len(records)} renders in {len(chair_names)} chairs, the published tar has "
            f"{expected_images}; {REDOWNLOAD}"
        )
    if not records:
        raise DatasetFileError(f"{tar_path}: no renders found; replace it with {TAR_NAME} from {DEFAULT_URL}")


def unchanging_chairs(split) -> list[int]:
    """Labels of the chairs (of more than one view) whose renders in `split`, sorted by chair, are all one image."""
    starts = np.flatnonzero(np.r_[True, split.labels[1:] != split.labels[:-1]])
    ends = np.r_[starts[1:], len(split.labels)]
    return [int(split.labels[start]) for start, end in zip(starts, ends)
            if end - start > 1 and (split.images[start:end] == split.images[start]).all()]


def _check_views_differ(split, chair_names, tar_path):
    """Refuse a tar in which more than MOST_UNCHANGING_CHAIRS of the chairs look the same from every
    angle: the flat-colour check misses an imitation that repeats one textured image per chair."""
    unchanging = unchanging_chairs(split)
    if len(unchanging) > MOST_UNCHANGING_CHAIRS * len(chair_names):
        raise DatasetFileError(
            f"{tar_path}: every view of {len(unchanging)} of its {len(chair_names)} chairs (such as "
            f"{chair_names[unchanging[0]]}) is one identical image, the published renders show each chair from "
            f"{VIEWS_PER_CHAIR} angles; {REDOWNLOAD}"
        )


def _test_subset(split, test_every) -> Split:
    keep = split.labels % test_every == 0
    return Split(images=split.images[keep], labels=split.labels[keep], factors=split.factors[keep],
                 factor_names=split.factor_names)


def prepare(out_path, raw_dir, mirrors=None, *, files=None, expected_images=N_IMAGES, test_every=TEST_EVERY,
            backoff_s=1.0) -> None:
    """Fetch rendered_chairs.tar into `raw_dir` (or use one placed there), stream it, write `out_path`.

    `mirrors` (base URLs) or $INFOGAN_CHAIRS_MIRRORS replace the published host. `files`
    ({"tar": RemoteFile}) and `expected_images` default to the published tar; tests pass
    tiny stand-ins (expected_images=None skips the count check).
    """
    remote = (files or {}).get("tar", FILE)
    bases = mirror_bases(mirrors)
    if bases:
        remote = _with_mirrors(remote, bases)
    tar_path = fetch(remote, raw_dir, backoff_s=backoff_s, content_check=check_tar)
    log.info("%s: %s", tar_path, check_tar(tar_path))
    checksum = sha256_of(tar_path)
    log.info("%s: sha256 %s (no checksum is published; recorded in %s)", tar_path, checksum, out_path)

    images, records = read_renders(tar_path, expected_images or N_IMAGES)
    chair_names = sorted({record["chair"] for record in records})
    _check_counts(records, chair_names, tar_path, expected_images)
    train = to_split(images, records, chair_names)
    _check_views_differ(train, chair_names, tar_path)
    write_dataset(
        out_path,
        dataset="chairs",
        source="real",
        splits={"train": train, "test": _test_subset(train, test_every)},
        description=description(test_every),
        raw_checksums={tar_path.name: checksum},
    )
