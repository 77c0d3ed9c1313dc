"""3D Faces (Basel Face Model renders, as used by DC-IGN and the paper): three honest routes.

The paper's faces are renders of the Basel Face Model 2009 (BFM), which needs registration and
may not be redistributed, so there is no official download. `prepare` tries, in order:

1. DC-IGN's renders (Kulkarni et al. 2015), mirrored as one zip on S3. Inside, folders
   `th_AZ_VARIED`, `th_EL_VARIED`, `th_LIGHT_AZ_VARIED` and `th_SHAPE_VARIED` each hold
   `FT_training/batchN` and `FT_test/batchN` files: Torch7-serialized float tensors of 20
   grayscale 150x150 faces in [0, 1] (DC-IGN's preprocessing divided by 255), in each of
   which only the folder's factor varies. They are shrunk to 32x32 (antialiased). The folder
   is kept as the label; Torch7's format is read by our own small reader (`read_torch7`).
2. If the mirror cannot be reached: our own renders of a BFM file the user placed at
   `<raw_dir>/01_MorphableModel.mat`, with random shape, pose and light, at 32x32, the true
   values stored as factors. The rasterizing is `infogan.data.synthetic.render3d`'s (`render_batch`,
   the batched form of `render_mesh`).
3. Otherwise one error says exactly what to obtain and where to put it; the demo then runs
   on the synthetic heads stand-in.
"""

import logging
import re
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from infogan.data.download import RemoteFile, fetch, mirrors_from, sha256_of
from infogan.data.hdf5 import Split, write_dataset
from infogan.data.real.torch7 import read_torch7
from infogan.errors import DatasetFileError, DownloadError
from infogan.progress import progress

log = logging.getLogger(__name__)

IMAGE_SIZE = 32

ZIP_NAME = "dcign_facedataset_monovariant.zip"
DEFAULT_URL = "https://s3.amazonaws.com/willwhitney/dc-ign/" + ZIP_NAME
# Comma-separated base URLs that replace the mirror, e.g. a local copy or a test server.
MIRRORS_ENV = "INFOGAN_FACES_MIRRORS"
# No checksum is published: fetch accepts what arrives, and its sha256 is recorded in the HDF5 file.
FILE = RemoteFile(ZIP_NAME, sha256=None, urls=(DEFAULT_URL,))

# DC-IGN's folders, in the order its code numbers them; the index is the label.
FOLDERS = ("AZ_VARIED", "EL_VARIED", "LIGHT_AZ_VARIED", "SHAPE_VARIED")
DCIGN_FACTOR_NAMES = ["varied_folder", "position_in_batch"]
# Used only if the zip has no FT_test folders: every TEST_EVERY-th batch of each folder is held out.
TEST_EVERY = 10

BFM_NAME = "01_MorphableModel.mat"
BFM_URL = "https://faces.dmi.unibas.ch/bfm/"
BFM_FIELDS = ("shapeMU", "shapePC", "shapeEV", "texMU", "texPC", "texEV", "tl")

# Ranges of our BFM renders, in degrees. Azimuth spans profile to profile as in DC-IGN's
# AZ_VARIED set; DC-IGN does not state its elevation and light ranges, these are our choice.
AZIMUTH_RANGE = (-90.0, 90.0)
ELEVATION_RANGE = (-30.0, 30.0)
LIGHT_AZIMUTH_RANGE = (-90.0, 90.0)
LIGHT_ELEVATION_RANGE = (-30.0, 30.0)
N_SHAPE_FACTORS = 5  # the first shape coefficients (of 199) are stored as factors
BFM_FACTOR_NAMES = ["azimuth_deg", "elevation_deg", "light_azimuth_deg", "light_elevation_deg"] + [
    f"shape_coefficient_{i + 1}" for i in range(N_SHAPE_FACTORS)
]
# Rendering the BFM's 106,466 triangles takes about 0.2 s per face on one CPU thread (render3d,
# measured on a mesh of that size), so the default set takes about 2 hours there.
BFM_SIZES = {"train": 30_000, "test": 3_000}
# Framing shared by every face, in units of the mean face's radius (its farthest vertex from its
# centroid): the camera stands 4 radii away and the view spans +-1.1 radii at the centre's depth.
CAMERA_DISTANCE = 4.0
FRAME_HALF_WIDTH = 1.1
RENDER_BATCH = 32  # faces rendered together (render3d's fast path)

# The offline stand-in the demo uses when no real faces can be had (another module).
SYNTHETIC_STAND_IN = "synthetic_heads"


# --------------------------------------------------------------------------------------------
# Route 1: DC-IGN's renders
# --------------------------------------------------------------------------------------------


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
    """Every batch of the zip, shrunk to 32x32, as train and test splits; True if the zip defined the test split."""
    members, own_split = _assign_splits(list_batches(zip_path))
    collected = {"train": ([], [], []), "test": ([], [], [])}
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
            labels_out.append(np.full(len(images), member.folder))
            positions_out.append(np.arange(len(images)))
    splits = {}
    for name, (images, labels, positions) in collected.items():
        if not images:
            raise DatasetFileError(f"{zip_path}: no {name} batches; replace it with {ZIP_NAME} from {DEFAULT_URL}")
        labels, positions = np.concatenate(labels).astype(np.int64), np.concatenate(positions)
        splits[name] = Split(
            images=np.concatenate(images)[:, np.newaxis],
            labels=labels,
            factors=np.stack([labels, positions], axis=1).astype(np.float32),
            factor_names=list(DCIGN_FACTOR_NAMES),
        )
    return splits, own_split


def dcign_description(own_split: bool) -> str:
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


def prepare_dcign(out_path, zip_path) -> None:
    """Convert DC-IGN's zip to the HDF5 layout."""
    log.info("%s: %s", zip_path, check_zip(zip_path))
    checksum = sha256_of(zip_path)
    log.info("%s: sha256 %s (no checksum is published; recorded in %s)", zip_path, checksum, out_path)
    splits, own_split = read_dcign(zip_path)
    write_dataset(out_path, dataset="faces", source="real", splits=splits,
                  description=dcign_description(own_split), raw_checksums={zip_path.name: checksum})


# --------------------------------------------------------------------------------------------
# Route 2: our own renders of a Basel Face Model file
# --------------------------------------------------------------------------------------------


@dataclass
class FaceModel:
    """The parts of the BFM used here, in row-per-vertex layout, the mean shape centred and scaled.

    `shape_basis` is 3V x K and already multiplied by the standard deviations (shapeEV), so
    shape = mean + basis @ alpha with alpha ~ N(0, 1) is a face drawn from the model.
    """

    mean_shape: np.ndarray  # V x 3
    shape_basis: np.ndarray  # 3V x K
    mean_albedo: np.ndarray  # V, grayscale in [0, 1]
    texture_basis: np.ndarray  # 3V x K', scaled by texEV, in RGB units of 0-255
    mean_texture: np.ndarray  # V x 3, 0-255
    triangles: np.ndarray  # T x 3, 0-based


def _read_mat_fields(path) -> dict[str, np.ndarray]:
    """The BFM fields of a MATLAB file, v5 (scipy) or v7.3 (HDF5, via h5py), in MATLAB's orientation."""
    import h5py

    path = Path(path)
    fix = f"replace it with {BFM_NAME} from the Basel Face Model 2009 ({BFM_URL})"
    try:
        if h5py.is_hdf5(path):
            with h5py.File(path, "r") as f:
                # HDF5 stores MATLAB's column-major arrays transposed.
                fields = {name: np.asarray(f[name]).T for name in BFM_FIELDS if name in f}
        else:
            from scipy.io import loadmat

            fields = loadmat(path, variable_names=list(BFM_FIELDS))
    except (OSError, ValueError, NotImplementedError, TypeError, KeyError) as exc:
        raise DatasetFileError(f"{path}: not a readable MATLAB file ({exc}); {fix}") from exc
    missing = [name for name in BFM_FIELDS if name not in fields]
    if missing:
        raise DatasetFileError(f"{path}: lacks {', '.join(missing)}; not the BFM 2009 {BFM_NAME}, {fix}")
    return {name: np.asarray(fields[name]) for name in BFM_FIELDS}


def load_face_model(path) -> FaceModel:
    """Read and check a BFM 2009 file; the mean shape is centred and scaled to radius 1.

    Its coordinates are used as they are: the BFM's frame has y up and the face looking along +z
    (the nose tip has the largest z), which is render3d's convention (to our knowledge of the
    BFM; not checkable here without the file).
    """
    fields = _read_mat_fields(path)
    fix = f"not the BFM 2009 {BFM_NAME}; replace it"
    mean = fields["shapeMU"].astype(np.float64).reshape(-1)
    n_vertices = len(mean) // 3
    basis = fields["shapePC"].astype(np.float64).reshape(len(mean), -1)
    stddev = fields["shapeEV"].astype(np.float64).reshape(-1)
    tex_mean = fields["texMU"].astype(np.float64).reshape(-1)
    tex_basis = fields["texPC"].astype(np.float64).reshape(len(tex_mean), -1)
    tex_stddev = fields["texEV"].astype(np.float64).reshape(-1)
    triangles = fields["tl"]
    if triangles.ndim == 2 and triangles.shape[0] == 3 and triangles.shape[1] != 3:
        triangles = triangles.T
    problems = []
    if len(mean) % 3 or len(mean) == 0:
        problems.append(f"shapeMU has {len(mean)} values, not 3 per vertex")
    if basis.shape[1] != len(stddev) or tex_basis.shape[1] != len(tex_stddev):
        problems.append("a PC matrix and its EV vector disagree on the number of components")
    if len(tex_mean) != len(mean):
        problems.append(f"texMU has {len(tex_mean)} values, shapeMU {len(mean)}")
    if triangles.ndim != 2 or triangles.shape[1] != 3 or triangles.size == 0:
        problems.append(f"tl has shape {triangles.shape}, expected T x 3")
    elif triangles.min() < 1 or triangles.max() > n_vertices:
        problems.append(f"tl indexes vertices {int(triangles.min())}-{int(triangles.max())}, expected 1-{n_vertices}")
    if problems:
        raise DatasetFileError(f"{path}: {'; '.join(problems)}; {fix}")
    vertices = mean.reshape(-1, 3)
    centre = vertices.mean(axis=0)
    scale = np.linalg.norm(vertices - centre, axis=1).max()
    mean_texture = tex_mean.reshape(-1, 3)
    return FaceModel(
        mean_shape=(vertices - centre) / scale,
        shape_basis=(basis * (stddev / scale)).astype(np.float32),
        mean_albedo=grayscale_albedo(mean_texture),
        texture_basis=(tex_basis * tex_stddev).astype(np.float32),
        mean_texture=mean_texture,
        triangles=triangles.astype(np.int64) - 1,
    )


def grayscale_albedo(texture: np.ndarray) -> np.ndarray:
    """Per-vertex RGB in 0-255 as grayscale albedo in [0, 1] (ITU-R 601 luma)."""
    return np.clip(texture @ np.array([0.299, 0.587, 0.114]) / 255.0, 0.0, 1.0)


def _random_albedo(model: FaceModel, coefficients: np.ndarray) -> np.ndarray:
    """B x V grayscale albedo of random textures (coefficients B x K', N(0, 1), scaled by texEV)."""
    colours = model.mean_texture + (coefficients @ model.texture_basis.T).reshape(len(coefficients), -1, 3)
    return grayscale_albedo(colours)


def draw_parameters(rng: np.random.Generator, n: int, n_components: int) -> dict[str, np.ndarray]:
    """Pose, light and shape coefficients of `n` faces, each uniform (angles) or N(0, 1) (shape)."""
    return {
        "azimuth_deg": rng.uniform(*AZIMUTH_RANGE, n),
        "elevation_deg": rng.uniform(*ELEVATION_RANGE, n),
        "light_azimuth_deg": rng.uniform(*LIGHT_AZIMUTH_RANGE, n),
        "light_elevation_deg": rng.uniform(*LIGHT_ELEVATION_RANGE, n),
        "shape": rng.standard_normal((n, n_components)),
    }


def render_faces(model: FaceModel, n: int, rng: np.random.Generator, *, random_texture=False,
                 size=IMAGE_SIZE, batch_size=RENDER_BATCH, desc="faces") -> Split:
    """Render `n` random faces of `model`: random shape, pose and light; the mean or a random texture.

    The light is fixed relative to the camera (a studio light), so its angles say where the
    light comes from in the image whatever the pose, as in DC-IGN's LIGHT_AZ_VARIED set.
    All faces share one framing (FRAME_HALF_WIDTH, CAMERA_DISTANCE), so a wider face looks wider.
    """
    import torch

    from infogan.data.synthetic.render3d import (
        direction_from_angles,
        render_batch,
        view_to_world,
    )

    params = draw_parameters(rng, n, model.shape_basis.shape[1])
    texture = rng.standard_normal((n, model.texture_basis.shape[1])) if random_texture else None
    images = np.empty((n, 1, size, size), dtype=np.uint8)
    with progress(total=n, desc=desc, unit="img") as bar:
        for start in range(0, n, batch_size):
            part = slice(start, min(start + batch_size, n))
            vertices = model.mean_shape + (params["shape"][part] @ model.shape_basis.T).reshape(-1, *model.mean_shape.shape)
            azimuth, elevation = params["azimuth_deg"][part], params["elevation_deg"][part]
            light = view_to_world(direction_from_angles(params["light_azimuth_deg"][part],
                                                        params["light_elevation_deg"][part]), azimuth, elevation)
            albedo = model.mean_albedo if texture is None else _random_albedo(model, texture[part])
            rendered = render_batch(
                torch.as_tensor(vertices, dtype=torch.float32), model.triangles,
                torch.as_tensor(albedo, dtype=torch.float32),
                azimuth_deg=azimuth, elevation_deg=elevation, light_direction=light, size=size,
                scale=FRAME_HALF_WIDTH, camera_distance=CAMERA_DISTANCE,
            )
            images[part, 0] = np.clip(np.rint(rendered.numpy() * 255.0), 0, 255).astype(np.uint8)
            bar.update(part.stop - part.start)
    shape = np.zeros((n, N_SHAPE_FACTORS))
    k = min(N_SHAPE_FACTORS, params["shape"].shape[1])
    shape[:, :k] = params["shape"][:, :k]
    factors = np.column_stack([params[name] for name in BFM_FACTOR_NAMES[:4]] + [shape]).astype(np.float32)
    return Split(images=images, factors=factors, factor_names=list(BFM_FACTOR_NAMES))


def bfm_description(sizes, random_texture) -> str:
    texture = "a random texture from the model" if random_texture else "the mean texture"
    return (
        f"3D Faces rendered by this project from the user's Basel Face Model 2009 ({BFM_NAME}), as DC-IGN "
        f"and the paper did, but with our own renderer: {sizes['train']:,} train and {sizes['test']:,} test faces, "
        f"32x32 grayscale on black, smooth Lambertian shading of {texture} (luma) with ambient 0.2 and a light fixed "
        "relative to the camera, perspective camera 4 mean-face radii away. Each face has "
        "random shape coefficients (N(0, 1) times shapeEV, all components), azimuth uniform in "
        f"{AZIMUTH_RANGE}, elevation in {ELEVATION_RANGE}, and light direction azimuth in {LIGHT_AZIMUTH_RANGE} "
        f"and elevation in {LIGHT_ELEVATION_RANGE} degrees (0, 0 = from the viewer); these are stored as factors (the first "
        f"{N_SHAPE_FACTORS} shape coefficients). These are not DC-IGN's images: its ranges and renderer differ."
    )


def prepare_bfm(out_path, model_path, *, sizes=None, seed=0, random_texture=False) -> None:
    """Render train and test faces from a BFM file and write them to `out_path`."""
    sizes = sizes or BFM_SIZES
    model = load_face_model(model_path)
    generators = dict(zip(sizes, np.random.SeedSequence(seed).spawn(len(sizes))))
    splits = {name: render_faces(model, count, np.random.default_rng(generators[name]), random_texture=random_texture,
                                 desc=f"faces ({name})")
              for name, count in sizes.items()}
    write_dataset(out_path, dataset="faces", source="real", splits=splits,
                  description=bfm_description(sizes, random_texture),
                  raw_checksums={Path(model_path).name: sha256_of(model_path)})


# --------------------------------------------------------------------------------------------
# The three routes
# --------------------------------------------------------------------------------------------


def mirror_bases(mirrors=None) -> tuple[str, ...] | None:
    """Base URLs that override the mirror: `mirrors`, else $INFOGAN_FACES_MIRRORS, else None."""
    return mirrors_from(MIRRORS_ENV, mirrors)


def _nothing_to_use(raw_dir, download_failure) -> DownloadError:
    raw_dir = Path(raw_dir)
    return DownloadError(
        f"3D Faces: no source could be used. The DC-IGN renders could not be downloaded ({download_failure}), "
        f"and there is no Basel Face Model file at {raw_dir / BFM_NAME}. To render the faces: register for the "
        f"Basel Face Model 2009 at the University of Basel ({BFM_URL}; non-commercial research licence, registration needed), "
        f"download and unpack its archive, place {BFM_NAME} (in its PublicMM1 folder) at {raw_dir / BFM_NAME}, "
        f"and run this again; or place {ZIP_NAME} at {raw_dir / ZIP_NAME}. Until then the demo runs on "
        f"synthetic heads instead (`infogan prepare {SYNTHETIC_STAND_IN}`)."
    )


def prepare(out_path, raw_dir, mirrors=None, *, files=None, bfm_sizes=None, seed=0, random_texture=False,
            backoff_s=1.0) -> None:
    """Write the 3D Faces to `out_path` by the first route that works (see the module docstring).

    A zip already in `raw_dir` is used as is. `mirrors` (base URLs) or $INFOGAN_FACES_MIRRORS
    replace the S3 mirror; `files` ({"zip": RemoteFile}) stands in for it in tests;
    `bfm_sizes` ({"train": n, "test": n}), `seed` and `random_texture` set the BFM renders.
    """
    raw_dir = Path(raw_dir)
    remote = (files or {}).get("zip", FILE)
    bases = mirror_bases(mirrors)
    if bases:
        remote = replace(remote, urls=tuple(base.rstrip("/") + "/" + remote.name for base in bases))
    try:
        zip_path = fetch(remote, raw_dir, backoff_s=backoff_s, content_check=check_zip)
    except DownloadError as exc:
        if (raw_dir / remote.name).exists():
            raise  # a zip the user placed is broken: say so rather than quietly take another route
        model_path = raw_dir / BFM_NAME
        if not model_path.exists():
            raise _nothing_to_use(raw_dir, exc) from exc
        log.warning("DC-IGN mirror failed (%s); rendering from %s instead", exc, model_path)
        prepare_bfm(out_path, model_path, sizes=bfm_sizes, seed=seed, random_texture=random_texture)
        return
    prepare_dcign(out_path, zip_path)
