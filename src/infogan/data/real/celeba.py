"""CelebA (aligned and cropped): the image zip and attribute list, their checks, and the
conversion to 32x32 RGB in the HDF5 layout.

Why it is built this way
------------------------
CelebA's only official host is Google Drive, which often answers with an HTML page
(its daily download quota, a sign-in page, a virus-scan confirmation) instead of the
1.4 GB zip. `fetch` already refuses such pages and wrong checksums; this module turns
every such failure into one message that says what Drive did and exactly how to place
both files by hand, because for many users that is the only route that works. The
attribute file's Drive id is not published, so it has no download address at all: it is
placed by hand or served by a mirror ($INFOGAN_CELEBA_MIRRORS).

Both files are held to their published checksums, also when placed by hand: CelebA
publishes no digest of its content, only of these files, so a repackaged copy (another zip,
rewritten line endings) cannot be told from an edited one and is refused, naming the file.
Beyond the checksums, the images are checked as they are converted (a zip of blank,
one-colour images is refused) and every attribute must take both values.

JPEGs are decoded straight from the zip, never extracted: nothing lands on disk but the
HDF5 file, and a member name that tries to leave its folder is refused all the same
(such an archive is not the published one). Each 178x218 image is centre-cropped to
CROP_SIZE x CROP_SIZE, which keeps the face from chin to crown with some hair beside it,
then resized to 32x32 with PIL's Lanczos filter (antialiased when shrinking).

The 40 binary attributes (Eyeglasses, Smiling, Bald, ...) are stored as the split's
factors, 0/1, named by the file's header. They serve to score the learnt codes after
training (Figure 6: azimuth, glasses, hair style, emotion), never as training input.
All 202,599 images go into one train split; the paper does not use CelebA's partition.
"""

import html
import http.client
import io
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from infogan.data.download import (
    USER_AGENT,
    RemoteFile,
    fetch,
    mirrors_from,
    served_from,
    sha256_of,
)
from infogan.data.hdf5 import Split, write_dataset
from infogan.data.real.content import FlatImageCount
from infogan.errors import DatasetFileError, DownloadError
from infogan.progress import progress

ZIP_DRIVE_ID = "0B7EVK8r0v71pZjFTYXZWM3FlRnM"
# Two forms of Drive's download address: the first skips the virus-scan page that Drive
# puts in front of files too large to scan; the second is the classic one.
DRIVE_URLS = (
    f"https://drive.usercontent.google.com/download?id={ZIP_DRIVE_ID}&export=download&confirm=t",
    f"https://drive.google.com/uc?export=download&id={ZIP_DRIVE_ID}",
)
# Comma-separated base URLs, each serving both files by name; they replace DRIVE_URLS.
MIRRORS_ENV = "INFOGAN_CELEBA_MIRRORS"
PROJECT_PAGE = "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html"

FILES = {
    "images": RemoteFile(
        "img_align_celeba.zip",
        sha256="46fb89443c578308acf364d7d379fe1b9efb793042c0af734b6112e4fd3a8c74",
        size=1_443_490_838,
        md5="00d2c5bc6d35e252742224ab0c1e8fcb",
        urls=DRIVE_URLS,
    ),
    # No published Drive id: placed by hand or fetched from a mirror only.
    "attributes": RemoteFile("list_attr_celeba.txt", sha256=None, md5="75e246fa4810816ffd6ee81facbd244c"),
}

N_IMAGES = 202_599
N_ATTRIBUTES = 40
SOURCE_SIZE = (178, 218)  # width, height of every aligned-and-cropped image
CROP_SIZE = 140  # central square kept before resizing: chin to crown, some hair at the sides
IMAGE_SIZE = 32
RESAMPLING = Image.Resampling.LANCZOS

DESCRIPTION = (
    f"CelebA aligned and cropped (Liu, Luo, Wang and Tang, ICCV 2015): all {N_IMAGES:,} images in one "
    f"train split. Each {SOURCE_SIZE[0]}x{SOURCE_SIZE[1]} JPEG is centre-cropped to its central "
    f"{CROP_SIZE}x{CROP_SIZE} square (left {(SOURCE_SIZE[0] - CROP_SIZE) // 2}, top "
    f"{(SOURCE_SIZE[1] - CROP_SIZE) // 2}) and resized to {IMAGE_SIZE}x{IMAGE_SIZE} RGB with PIL's Lanczos "
    f"filter. Factors are the {N_ATTRIBUTES} binary attributes of list_attr_celeba.txt (1 present, 0 absent), "
    "for scoring learnt codes only, never for training. Licence: non-commercial research, no redistribution."
)

# What the HTML pages Google Drive sends instead of a file say, and what they mean.
# Checked in order: a quota page also carries a "Sign in" link.
DRIVE_PAGES = (
    (
        ("too many users have viewed or downloaded", "quota exceeded", "download quota"),
        (
            "Google Drive's download quota for this file is used up (\"Too many users have viewed or downloaded "
            "this file recently\"); it resets after about a day"
        ),
    ),
    (
        ("virus scan warning", "can't scan this file for viruses", "cannot scan this file for viruses",
         "download anyway"),
        "Google Drive sent its virus-scan confirmation page instead of the file",
    ),
    (
        ("accounts.google.com", "servicelogin", "sign in"),
        "Google Drive asked for a sign-in instead of sending the file",
    ),
)
HTML_FAILURE = "HTML page"  # how fetch's errors say it got a page instead of a file
PEEK_BYTES = 1 << 16


def mirror_bases(mirrors=None) -> tuple[str, ...] | None:
    """Base URLs that replace Drive: `mirrors`, else $INFOGAN_CELEBA_MIRRORS, else None."""
    return mirrors_from(MIRRORS_ENV, mirrors)


def _with_mirrors(files, bases):
    return {key: served_from(remote, bases) for key, remote in files.items()}


# ---------------------------------------------------------------- failures and their fix


def describe_drive_page(text: str) -> str | None:
    """Which of Drive's pages `text` is (quota, virus scan, sign-in), in words; None if unknown."""
    lowered = html.unescape(text).lower().replace("\u2019", "'")
    for needles, meaning in DRIVE_PAGES:
        if any(needle in lowered for needle in needles):
            return meaning
    return None


def _peek(url, timeout=10) -> bytes:
    """The first bytes a URL answers with, to tell which page Drive sent; b"" if it fails.

    `fetch` does not keep the pages it refuses, so the diagnosis asks once more.
    """
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read(PEEK_BYTES)
    except (OSError, http.client.HTTPException, ValueError):
        return b""


def _diagnose_html(remote, path) -> str | None:
    """What the HTML page that stood in for `remote` says: from the placed file, else from its URLs."""
    if path.is_file():
        with open(path, "rb") as f:
            return describe_drive_page(f.read(PEEK_BYTES).decode("utf-8", "replace"))
    for url in remote.urls:
        meaning = describe_drive_page(_peek(url).decode("utf-8", "replace"))
        if meaning:
            return meaning
    return None


def _file_line(remote, raw_dir) -> str:
    checks = [f"{remote.size:,} bytes" if remote.size else None,
              f"md5 {remote.md5}" if remote.md5 else None,
              f"sha256 {remote.sha256}" if remote.sha256 else None]
    checks.append("present" if (Path(raw_dir) / remote.name).exists() else "missing")
    return f"{remote.name} ({'; '.join(c for c in checks if c)})"


def manual_placement(files, raw_dir) -> str:
    """How to get both files into `raw_dir` by hand: names, checksums, where to find them."""
    listed = " and ".join(_file_line(files[key], raw_dir) for key in ("images", "attributes"))
    return (
        f"To place CelebA by hand, put {listed} in {Path(raw_dir)}/ under exactly these names. Both are in the "
        f"Google Drive folders linked from {PROJECT_PAGE} (img_align_celeba.zip under Align&Cropped Images, "
        "list_attr_celeba.txt under Anno); download them in a browser. Copies from Kaggle or other mirrors "
        "work only if they match these checksums (a repackaged archive or a CSV attribute list does not). "
        f"Or set {MIRRORS_ENV} to comma-separated base URLs that serve both files by name. Then run the same "
        "command again."
    )


def _explained(exc: DownloadError, key, files, raw_dir) -> DownloadError:
    """The same kind of error as `exc`, saying what Drive did and how to place the files by hand."""
    remote = files[key]
    causes = []
    if HTML_FAILURE in str(exc):
        meaning = _diagnose_html(remote, Path(raw_dir) / remote.name)
        causes.append(meaning or "a host sent an HTML page (a quota, sign-in or virus-scan page) instead of the file")
    if key == "attributes" and not remote.urls:
        causes.append(
            f"{remote.name} has no download address (its Google Drive id is not published), so it must be "
            f"placed by hand or served by a mirror named in {MIRRORS_ENV}"
        )
    what_happened = ". ".join(causes + [str(exc)])
    return type(exc)(f"CelebA: {what_happened}. {manual_placement(files, raw_dir)}")


def fetch_files(files, raw_dir, *, backoff_s=1.0) -> dict[str, Path]:
    """Fetch (or verify) the attribute list, then the zip; any failure says how to place them by hand.

    The small attribute file goes first, so a user who lacks it learns so before a 1.4 GB download.
    """
    paths = {}
    for key in ("attributes", "images"):
        try:
            paths[key] = fetch(files[key], raw_dir, backoff_s=backoff_s)
        except DownloadError as exc:
            raise _explained(exc, key, files, raw_dir) from exc
    return paths


# ---------------------------------------------------------------- reading the files


def read_attributes(path, expected_count=N_IMAGES) -> tuple[list[str], list[str], np.ndarray]:
    """Attribute names, image file names and an N x 40 float32 array of 0/1 from list_attr_celeba.txt.

    The file's first line is the image count, the second the attribute names, then one line
    per image: its file name and -1 or 1 per attribute.
    """
    path = Path(path)
    fix = "replace it with the published list_attr_celeba.txt"
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetFileError(f"{path}: not a readable text file ({exc}); {fix}") from exc
    if len(lines) < 2 or not lines[0].strip().isdigit():
        raise DatasetFileError(f"{path}: does not start with the image count and the attribute names; {fix}")
    announced, names = int(lines[0]), lines[1].split()
    if len(names) != N_ATTRIBUTES:
        raise DatasetFileError(f"{path}: {len(names)} attribute names, expected {N_ATTRIBUTES}; {fix}")
    rows = [line.split() for line in lines[2:] if line.strip()]
    if not announced == len(rows) == expected_count:
        raise DatasetFileError(
            f"{path}: announces {announced} images and lists {len(rows)}, expected {expected_count}; {fix}"
        )
    files = [row[0] for row in rows]
    try:
        values = np.array([[int(v) for v in row[1:]] for row in rows], dtype=np.int64)
    except ValueError as exc:
        raise DatasetFileError(f"{path}: a non-integer attribute value ({exc}); {fix}") from exc
    if values.shape != (len(rows), N_ATTRIBUTES) or not np.isin(values, (-1, 1)).all():
        raise DatasetFileError(f"{path}: every image line must hold a file name and {N_ATTRIBUTES} values of -1 or 1; {fix}")
    _check_attributes_vary(path, names, values, fix)
    return names, files, (values > 0).astype(np.float32)


def _check_attributes_vary(path, names, values, fix):
    """Refuse a list in which some attribute has one value for every image: each of CelebA's 40
    (even Bald, 2% of faces) is present in some images and absent in others, while an
    all-zero or copied-row imitation holds a constant column."""
    constant = [name for name, column in zip(names, values.T) if len(values) and (column == column[0]).all()]
    if constant:
        raise DatasetFileError(f"{path}: {len(constant)} of its {len(names)} attributes take one value for every image "
                               f"({constant[0]} is always {values[0, names.index(constant[0])]}), CelebA's each take "
                               f"both -1 and 1; {fix}")


def _check_member_name(name, zip_path):
    """Refuse a member whose name would leave the folder it is read into (absolute, '..', a drive)."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
        raise DatasetFileError(
            f"{zip_path}: member {name!r} points outside its folder; this is not the published "
            "img_align_celeba.zip, delete it and place the published one"
        )


def index_jpegs(archive: zipfile.ZipFile, zip_path) -> dict[str, zipfile.ZipInfo]:
    """The archive's JPEGs by file name (without folders), after checking every member's name."""
    jpegs = {}
    for info in archive.infolist():
        _check_member_name(info.filename, zip_path)
        if info.is_dir() or not info.filename.lower().endswith(".jpg"):
            continue
        name = PurePosixPath(info.filename.replace("\\", "/")).name
        if name in jpegs:
            raise DatasetFileError(f"{zip_path}: holds {name} twice; delete it and place the published img_align_celeba.zip")
        jpegs[name] = info
    return jpegs


def crop_and_resize(image: Image.Image) -> np.ndarray:
    """The central CROP_SIZE square of an aligned CelebA image, as 3 x 32 x 32 uint8."""
    width, height = image.size
    left, top = (width - CROP_SIZE) // 2, (height - CROP_SIZE) // 2
    square = image.convert("RGB").crop((left, top, left + CROP_SIZE, top + CROP_SIZE))
    small = square.resize((IMAGE_SIZE, IMAGE_SIZE), RESAMPLING)
    return np.asarray(small, dtype=np.uint8).transpose(2, 0, 1)


def _decode(archive, info, zip_path) -> np.ndarray:
    """Read one member and convert it; any damage is reported with the zip and member named."""
    try:
        with Image.open(io.BytesIO(archive.read(info))) as image:
            if image.size != SOURCE_SIZE:
                raise DatasetFileError(
                    f"{zip_path}: {info.filename} is {image.size[0]}x{image.size[1]}, aligned CelebA images are "
                    f"{SOURCE_SIZE[0]}x{SOURCE_SIZE[1]}; place the published img_align_celeba.zip"
                )
            return crop_and_resize(image)
    except (OSError, zipfile.BadZipFile, Image.DecompressionBombError) as exc:
        raise DatasetFileError(f"{zip_path}: {info.filename} cannot be read ({exc}); delete the zip and fetch it again") from exc


def _open_zip(zip_path, files, raw_dir) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DatasetFileError(
            f"{zip_path} is not a zip archive ({exc}): an HTML page or a partial download saved under the zip's "
            f"name, or another file; delete it. " + manual_placement(files, raw_dir)
        ) from exc


def read_images(zip_path, file_names, files=FILES, raw_dir=None) -> np.ndarray:
    """Decode `file_names` (in that order) from the zip into N x 3 x 32 x 32 uint8, with a progress bar.

    Images of one flat colour are counted as they are decoded: more than MOST_FLAT_IMAGES of
    them and the zip is refused (a blank imitation, not CelebA's photographs).
    """
    zip_path = Path(zip_path)
    with _open_zip(zip_path, files, raw_dir or zip_path.parent) as archive:
        jpegs = index_jpegs(archive, zip_path)
        missing = [name for name in file_names if name not in jpegs]
        if missing or len(jpegs) != len(file_names):
            raise DatasetFileError(
                f"{zip_path}: holds {len(jpegs)} JPEGs for {len(file_names)} attribute lines"
                f"{' and lacks ' + ', '.join(missing[:3]) if missing else ''}; the zip and list_attr_celeba.txt "
                "must both be the published files"
            )
        images = np.empty((len(file_names), 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
        flat = FlatImageCount(zip_path, "CelebA's photographs", "place the published img_align_celeba.zip",
                              expected=len(file_names))
        for i, name in enumerate(progress(file_names, desc="CelebA images", unit="img")):
            images[i] = _decode(archive, jpegs[name], zip_path)
            flat.add(images[i : i + 1])
        flat.finish()
    return images


def prepare(out_path, raw_dir, mirrors=None, *, files=None, expected_count=N_IMAGES, backoff_s=1.0):
    """Fetch or verify the zip and attribute list in `raw_dir`, and write the HDF5 file `out_path`.

    `mirrors` (base URLs) or $INFOGAN_CELEBA_MIRRORS replace Google Drive. `files` (keys
    "images" and "attributes") and `expected_count` default to the published CelebA; tests
    pass a tiny zip and attribute list.
    """
    files = files or FILES
    bases = mirror_bases(mirrors)
    if bases:
        files = _with_mirrors(files, bases)
    paths = fetch_files(files, raw_dir, backoff_s=backoff_s)
    names, file_names, attributes = read_attributes(paths["attributes"], expected_count)
    images = read_images(paths["images"], file_names, files, raw_dir)
    write_dataset(
        out_path,
        dataset="celeba",
        source="real",
        splits={"train": Split(images=images, factors=attributes, factor_names=names)},
        description=DESCRIPTION,
        raw_checksums={path.name: sha256_of(path) for path in paths.values()},
    )
    return out_path
