"""3D Faces, route 2: our own renders of a Basel Face Model 2009 file the user placed.

The paper's faces are renders of the Basel Face Model 2009 (BFM), which needs registration
and may not be redistributed. Given `<raw_dir>/01_MorphableModel.mat`, this renders faces
with random shape, pose and light at 32x32, the true values stored as factors, as DC-IGN
did but with our own renderer: `infogan.data.synthetic.render3d`'s `render_batch` (the
batched form of `render_mesh`). `faces` takes this route when DC-IGN's zip cannot be had.

The model file has no published checksum (registration hands it out), so what it draws is
checked: a file with the BFM's fields but nothing in them (all zeros) renders blank frames,
and more than 1% of those refuses it (`FlatImageCount`, counted while rendering).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from infogan.data.download import sha256_of
from infogan.data.hdf5 import Split, write_dataset
from infogan.data.real.content import FlatImageCount
from infogan.data.real.faces_dcign import IMAGE_SIZE
from infogan.errors import DatasetFileError
from infogan.progress import progress

BFM_NAME = "01_MorphableModel.mat"
BFM_URL = "https://faces.dmi.unibas.ch/bfm/"
BFM_FIELDS = ("shapeMU", "shapePC", "shapeEV", "texMU", "texPC", "texEV", "tl")
REPLACE_MODEL = f"replace it with {BFM_NAME} from the Basel Face Model 2009 ({BFM_URL})"

# Ranges of our BFM renders, in degrees. Azimuth spans profile to profile as in DC-IGN's
# AZ_VARIED set; DC-IGN does not state its elevation and light ranges, these are our choice.
AZIMUTH_RANGE = (-90.0, 90.0)
ELEVATION_RANGE = (-30.0, 30.0)
LIGHT_AZIMUTH_RANGE = (-90.0, 90.0)
LIGHT_ELEVATION_RANGE = (-30.0, 30.0)
N_SHAPE_FACTORS = 5  # the first shape coefficients (of 199) are stored as factors
FACTOR_NAMES = ["azimuth_deg", "elevation_deg", "light_azimuth_deg", "light_elevation_deg"] + [
    f"shape_coefficient_{i + 1}" for i in range(N_SHAPE_FACTORS)
]
# Rendering the BFM's 106,466 triangles takes about 0.2 s per face on one CPU thread (render3d,
# measured on a mesh of that size), so the default set takes about 2 hours there.
DEFAULT_SIZES = {"train": 30_000, "test": 3_000}
# Framing shared by every face, in units of the mean face's radius (its farthest vertex from its
# centroid): the camera stands 4 radii away and the view spans +-1.1 radii at the centre's depth.
CAMERA_DISTANCE = 4.0
FRAME_HALF_WIDTH = 1.1
RENDER_BATCH = 32  # faces rendered together (render3d's fast path)


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
    try:
        if h5py.is_hdf5(path):
            with h5py.File(path, "r") as f:
                # HDF5 stores MATLAB's column-major arrays transposed.
                fields = {name: np.asarray(f[name]).T for name in BFM_FIELDS if name in f}
        else:
            from scipy.io import loadmat

            fields = loadmat(path, variable_names=list(BFM_FIELDS))
    except (OSError, ValueError, NotImplementedError, TypeError, KeyError) as exc:
        raise DatasetFileError(f"{path}: not a readable MATLAB file ({exc}); {REPLACE_MODEL}") from exc
    missing = [name for name in BFM_FIELDS if name not in fields]
    if missing:
        raise DatasetFileError(f"{path}: lacks {', '.join(missing)}; not the BFM 2009 {BFM_NAME}, {REPLACE_MODEL}")
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
                 size=IMAGE_SIZE, batch_size=RENDER_BATCH, desc="faces", flat: FlatImageCount | None = None) -> Split:
    """Render `n` random faces of `model`: random shape, pose and light; the mean or a random texture.

    `flat`, if given, counts renders of one flat colour batch by batch, so that a model that
    draws nothing (an all-zero imitation renders black frames) is refused within minutes,
    not after hours of rendering.

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
            if flat is not None:
                flat.add(images[part])
            bar.update(part.stop - part.start)
    shape = np.zeros((n, N_SHAPE_FACTORS))
    k = min(N_SHAPE_FACTORS, params["shape"].shape[1])
    shape[:, :k] = params["shape"][:, :k]
    factors = np.column_stack([params[name] for name in FACTOR_NAMES[:4]] + [shape]).astype(np.float32)
    return Split(images=images, factors=factors, factor_names=list(FACTOR_NAMES))


def description(sizes, random_texture) -> str:
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


def prepare(out_path, model_path, *, sizes=None, seed=0, random_texture=False) -> None:
    """Render train and test faces from a BFM file and write them to `out_path`."""
    sizes = sizes or DEFAULT_SIZES
    model = load_face_model(model_path)
    generators = dict(zip(sizes, np.random.SeedSequence(seed).spawn(len(sizes))))
    flat = FlatImageCount(model_path, "renders of a face", REPLACE_MODEL, expected=sum(sizes.values()))
    splits = {name: render_faces(model, count, np.random.default_rng(generators[name]), random_texture=random_texture,
                                 desc=f"faces ({name})", flat=flat)
              for name, count in sizes.items()}
    flat.finish()
    write_dataset(out_path, dataset="faces", source="real", splits=splits,
                  description=description(sizes, random_texture),
                  raw_checksums={Path(model_path).name: sha256_of(model_path)})
