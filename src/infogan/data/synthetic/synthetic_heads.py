"""Synthetic heads: an offline stand-in for the 3D Faces renders, with known pose, light and shape.

Why it is built this way
------------------------
The paper's 3D Faces experiment (Figure 3) asks whether five continuous codes find a face's
azimuth, elevation, lighting and width. Its data are DC-IGN's renders of the Basel Face
Model: grey faces on black, 32 x 32 grayscale in the paper, with random pose, light and
shape. The Basel model needs a licence, so this stand-in renders a procedural head with the
same kinds of variation and stores the true values:

- ``azimuth`` in [-90, 90] degrees: 0 is frontal; positive turns the head to show its left
  side (see `render3d`), so at +90 the nose points to the image's left;
- ``elevation`` in [-30, 30] degrees: positive looks down on the head from above;
- ``light_azimuth`` in [-90, 90] and ``light_elevation`` in [-30, 30] degrees: a studio
  light fixed relative to the camera, whatever the pose; light azimuth +90 lights the
  head from the image's right, elevation +30 from above;
- ``width`` in [0.8, 1.2]: how wide the head and face are, a scale of the left-right axis
  (the paper's "wide or narrow");
- ``face_length`` in [0.9, 1.1]: a scale of the vertical axis;
- ``nose_size`` in [0.6, 1.4]: how far the nose stands out, and its width.

All are drawn uniformly and independently. The head is a sphere sculpted into a skull and
face: egg-shaped (the jaw narrower than the skull), flatter in front, the back of the lower
head tucked in (a jaw line in profile), with a nose, brow ridge, eye sockets, cheekbones,
lips and chin as smooth bumps and dents, and darker brows, eyes and lips in its albedo; two
flat ellipsoid ears and an ellipsoid neck complete it (about 2,200 triangles). It is rendered
by `infogan.data.synthetic.render3d` with smooth (Gouraud) Lambertian shading and a little ambient
light, perspective from a fixed distance at a fixed scale, 32 x 32 (drawn at 64 x 64 and
averaged down) on black. 55,000 images (the default) take about 50 s on one CPU thread.

What it is not: Basel faces. There is one face shape family with three shape factors, no
identity variation beyond them, no texture detail, no hair (the Basel renders have none
either), and no cast shadows.
"""

import functools

import numpy as np
import torch

from infogan.data.hdf5 import Split
from infogan.data.synthetic import standin
from infogan.data.synthetic.render3d import (
    direction_from_angles,
    render_batch,
    uv_sphere,
    vertex_normals,
    view_to_world,
)

IMAGE_SIZE = 32
FACTOR_RANGES = {  # drawn in this order (see the module docstring for units and signs)
    "azimuth": (-90.0, 90.0), "elevation": (-30.0, 30.0),  # pose, degrees
    "light_azimuth": (-90.0, 90.0), "light_elevation": (-30.0, 30.0),  # the studio light, degrees
    "width": (0.8, 1.2), "face_length": (0.9, 1.1), "nose_size": (0.6, 1.4),  # shape, as scales
}
FACTOR_NAMES = list(FACTOR_RANGES)

MESH_LONGITUDES, MESH_LATITUDES, LONGITUDE_WARP, LATITUDE_WARP = 36, 24, 0.55, 0.4
VIEW_SCALE = 1.18  # half the view's width at the origin, in head half-heights
CAMERA_DISTANCE = 6.0
PIVOT_BEHIND = 0.14  # the head turns about a point this far behind the skull's centre, which
# centres a profile (nose tip to back of the skull) in the frame
AMBIENT = 0.12
BACKGROUND = 0.0
SUPERSAMPLE = 2
BATCH_SIZE = 64
SKIN, BROW, EYE, LIP = 0.85, 0.45, 0.25, 0.6

DESCRIPTION = (
    "Synthetic stand-in for the 3D Faces (Basel Face Model) renders, not Basel faces: a "
    "procedural head (egg-shaped ellipsoid with nose, brows, eye sockets, lips, chin, ears) "
    "rendered 32x32 grayscale on black by a software rasterizer, Lambertian with a studio "
    "light fixed to the camera, with uniform random azimuth, elevation, light direction, "
    "width, face length and nose size. Factors: " + ", ".join(FACTOR_NAMES) + "."
)


@functools.cache
def _template():
    """The spheres the head is sculpted from: for the skull and face, the neck and the two
    ears, unit directions (V, 3) and (longitude, latitude) per vertex as tensors, and all the
    triangles (T, 3) indexing the parts laid end to end."""
    parts = [uv_sphere(MESH_LONGITUDES, MESH_LATITUDES, LONGITUDE_WARP, LATITUDE_WARP), uv_sphere(16, 12), uv_sphere(10, 6), uv_sphere(10, 6)]
    triangles, offset = [], 0
    for vertices, part_triangles, _ in parts:
        triangles.append(part_triangles + offset)
        offset += len(vertices)
    directions = [torch.tensor(vertices, dtype=torch.float32) for vertices, _, _ in parts]
    return directions, np.concatenate(triangles), torch.tensor(parts[0][2], dtype=torch.float32)


def _bump(longitude, latitude, lon0, lat0, sigma_lon, sigma_lat):
    """A Gaussian bump of height 1 over (longitude, latitude), centred at (lon0, lat0)."""
    return torch.exp(-0.5 * (((longitude - lon0) / sigma_lon) ** 2 + ((latitude - lat0) / sigma_lat) ** 2))


def _ramp(x):
    """0 below 0, 1 above 1, smooth in between."""
    x = x.clamp(0, 1)
    return x * x * (3 - 2 * x)


def _relief(longitude, latitude, nose_size):
    """Forward (+z) displacement of the face's features: nose, brow, sockets, cheeks, lips,
    chin. (V,) template angles, (B, 1) nose size -> (B, V)."""
    lon, lat = longitude[None], latitude[None]
    along_nose = _ramp((0.12 - lat) / 0.34)  # 0 between the eyes, 1 at the tip
    below_tip = torch.exp(-0.5 * ((lat + 0.22).clamp(max=0) / 0.045) ** 2)
    nose_width = 0.07 + 0.06 * along_nose * nose_size
    nose = 0.26 * nose_size * (0.2 + 0.8 * along_nose) * below_tip * _ramp((0.16 - lat) / 0.06)
    nose = nose * torch.exp(-0.5 * (lon / nose_width) ** 2)
    brow = 0.05 * torch.exp(-0.5 * ((lat - 0.25) / 0.06) ** 2) * torch.exp(-((lon / 0.6) ** 4))
    sockets = sum(_bump(lon, lat, side * 0.4, 0.1, 0.15, 0.08) for side in (-1, 1))
    cheeks = sum(_bump(lon, lat, side * 0.55, -0.14, 0.18, 0.1) for side in (-1, 1))
    lips = _bump(lon, lat, 0.0, -0.46, 0.22, 0.05) - 0.6 * _bump(lon, lat, 0.0, -0.48, 0.22, 0.012)
    chin = _bump(lon, lat, 0.0, -0.8, 0.25, 0.1)
    return nose + brow - 0.09 * sockets + 0.03 * cheeks + 0.035 * lips + 0.07 * chin


def _skull(direction, longitude, latitude, width, face_length, nose_size):
    """Skull and face: an ellipsoid with a flatter front (a face is more plane than ball), a
    jaw narrower than the skull, the back of the lower head tucked in towards the neck (so a
    profile shows a jaw line), and the features' relief. (B, V, 3)."""
    forward = direction[:, 2]
    jaw = 1 - 0.25 * _ramp((-latitude - 0.2) / 1.0)
    tuck = 1 - 0.4 * _ramp((0.4 - forward) / 0.9) * _ramp((-latitude - 0.15) / 0.6)
    x = 0.74 * width * jaw * tuck * direction[:, 0]
    y = face_length * direction[:, 1]
    z = torch.where(forward > 0, 0.9 * forward.clamp_min(0) ** 0.6, 0.95 * forward * tuck)
    z = z + _relief(longitude, latitude, nose_size)
    return torch.stack(torch.broadcast_tensors(x, y, z), dim=-1)


def _ellipsoid(direction, centre, radii):
    """Unit-sphere directions (V, 3) scaled by radii (B, 1, 3) about centre (B, 1, 3)."""
    return centre + direction[None] * radii


def head_mesh(width, face_length, nose_size):
    """Vertices (B, V, 3), triangles (T, 3), albedo (V,) and vertex normals (B, V, 3) of B
    heads facing +z, about 1 unit from the skull's centre to the crown: the skull and face, a
    neck, and two ears. The origin (the point the camera turns about) lies PIVOT_BEHIND
    behind the skull's centre."""
    (skull, neck, left_ear, right_ear), triangles, angles = _template()
    width, face_length, nose_size = (torch.as_tensor(v, dtype=torch.float32).reshape(-1, 1) for v in (width, face_length, nose_size))
    ones = torch.ones_like(width)
    head = _skull(skull, angles[:, 0], angles[:, 1], width, face_length, nose_size)
    neck_centre = torch.stack([0 * ones, -1.3 * face_length, -0.22 * ones], -1)
    neck = _ellipsoid(neck, neck_centre, torch.stack([0.4 * width, ones, 0.42 * ones], -1))
    ears = []
    for side, ear in ((1, left_ear), (-1, right_ear)):
        ear_centre = torch.stack([side * 0.71 * width, -0.02 * face_length, -0.12 * ones], -1)
        ears.append(_ellipsoid(ear, ear_centre, torch.tensor([0.07, 0.2, 0.13])))
    vertices = torch.cat([head, neck, *ears], dim=1) - torch.tensor([0.0, 0.0, PIVOT_BEHIND])
    return vertices, triangles, _albedo(), vertex_normals(vertices, triangles)


@functools.cache
def _albedo():
    """Skin with darker brows, eyes and lips (the same on every head), per vertex."""
    directions, _, angles = _template()
    longitude, latitude = angles[:, 0], angles[:, 1]
    brows = sum(_bump(longitude, latitude, side * 0.39, 0.22, 0.16, 0.03) for side in (-1, 1))
    eyes = sum(_bump(longitude, latitude, side * 0.39, 0.09, 0.07, 0.045) for side in (-1, 1))
    lips = _bump(longitude, latitude, 0.0, -0.47, 0.15, 0.03)
    face = SKIN - (SKIN - BROW) * brows.clamp(max=1) - (SKIN - EYE) * eyes.clamp(max=1) - (SKIN - LIP) * lips
    rest = sum(len(d) for d in directions[1:])
    return torch.cat([face.clamp(0, 1), torch.full((rest,), SKIN)])


def render(azimuth, elevation, light_azimuth, light_elevation, width, face_length, nose_size, supersample=SUPERSAMPLE) -> torch.Tensor:
    """Heads as float (B, 32, 32) in [0, 1], light on black. Each argument is one value per
    head or one for all (broadcast); angles in degrees, see the module docstring."""
    values = (
        torch.as_tensor(v, dtype=torch.float32).reshape(-1)
        for v in (azimuth, elevation, light_azimuth, light_elevation, width, face_length, nose_size)
    )
    azimuth, elevation, light_azimuth, light_elevation, width, face_length, nose_size = torch.broadcast_tensors(*values)
    vertices, triangles, albedo, normals = head_mesh(width, face_length, nose_size)
    light = view_to_world(direction_from_angles(light_azimuth, light_elevation), azimuth, elevation)
    return render_batch(
        vertices, triangles, albedo, azimuth_deg=azimuth, elevation_deg=elevation, light_direction=light,
        size=IMAGE_SIZE, background=BACKGROUND, ambient=AMBIENT, supersample=supersample, scale=VIEW_SCALE,
        camera_distance=CAMERA_DISTANCE, smooth=True, cull_backfaces=True, normals=normals,
    )


def sample_factors(n: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Every factor uniform over its range, independently."""
    return standin.uniform_factors(FACTOR_RANGES, n, generator)


def generate_split(n: int, generator: torch.Generator, desc: str) -> Split:
    """Draw the factors of `n` heads, then render them (nothing random in the drawing)."""
    factors = sample_factors(n, generator)

    def draw(part):
        return standin.to_uint8(render(*(factors[name][part] for name in FACTOR_NAMES))).unsqueeze(1)

    images = standin.render_in_batches(n, (1, IMAGE_SIZE, IMAGE_SIZE), draw, batch_size=BATCH_SIZE, desc=desc)
    return standin.as_split(images, factors, FACTOR_NAMES)


def prepare(out_path, raw_dir=None, *, seed=0, n_train=50000, n_test=5000):
    """Write the stand-in to `out_path` as HDF5; arguments as for every stand-in (`standin.prepare`)."""
    sizes = {"train": n_train, "test": n_test}
    return standin.prepare(out_path, "synthetic_heads", DESCRIPTION, generate_split, seed=seed, sizes=sizes)
