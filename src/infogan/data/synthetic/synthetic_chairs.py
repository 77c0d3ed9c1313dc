"""Synthetic chairs: an offline stand-in for 3D Chairs, rendered with known pose and shape.

Why it is built this way
------------------------
The paper's 3D Chairs experiment (Figure 4) asks whether InfoGAN's codes find the chair's
rotation and its width. 3D Chairs (Aubry et al.) is 1,393 CAD chairs rendered on white from
31 azimuths and 2 elevations (20 and 30 degrees), which the paper uses as 64 x 64
grayscale. This stand-in poses the same problem with the true factors known: procedural
chairs built from boxes, rendered by `infogan.data.synthetic.render3d` at the real set's views, dark
grey chairs shaded by a studio light on white.

Chairs are built from boxes in units of the seat's depth (1). Four types differ in
structure and fixed proportions (the label): 0 dining chair (thin seat, square legs, back
posts with a top panel), 1 armchair (cushion seat, stubby legs, thick back, solid arm
sides), 2 stool with back (high thin splayed legs with rungs, a small band on two posts),
3 office chair (five-spoke base on casters, central column, separate tilted back on a
support, small arm rests). Every type shares three continuous shape factors, drawn
uniformly and independently of the type:

- ``width`` in [0.8, 1.5]: seat width relative to its depth (the paper's width code);
- ``back_height`` in [0.6, 1.3]: height of the back rest above the seat;
- ``leg_length`` in [0.5, 1.1]: height of the seat's underside above the floor.

Pose is drawn from the real set's grid: ``azimuth_deg`` one of 31 azimuths k * 360 / 31
(uniform), ``elevation_deg`` 20 or 30; ``azimuth_sin`` and ``azimuth_cos`` are stored too
because azimuth is periodic. Azimuth 0 shows the chair's front (the open side of the seat);
positive azimuth turns it to show its left side (see `render3d`). The light stays fixed
relative to the camera (upper left, in front), as in a studio. Each chair is centred on its
bounding box and all chairs are drawn at one fixed scale, so a wider chair is wider in the
image (the tallest fill about 60 of the 64 rows, a typical one about 40). No textures, no
per-chair colour: the factors above (and the type) are the only sources of variation.
Rendering is `infogan.data.synthetic.render3d`'s (flat Lambertian shading, perspective, drawn at
128 x 128 and averaged down); 33,000 images (the default) take about 15 s on one CPU thread.

What it is not: real CAD chairs. The shapes are simple boxes, the real set's variety
(1,393 designs, textures, curved parts, swivel chairs with many details) is not there.
"""

import functools
import math

import numpy as np
import torch

from infogan.data.hdf5 import Split
from infogan.data.synthetic import standin
from infogan.data.synthetic.render3d import (
    box_triangles,
    box_vertices,
    render_batch,
    view_to_world,
)

IMAGE_SIZE = 64
CHAIR_TYPES = ("dining", "armchair", "stool_with_back", "office")
SHAPE_RANGES = {"width": (0.8, 1.5), "back_height": (0.6, 1.3), "leg_length": (0.5, 1.1)}
AZIMUTHS_DEG = tuple(k * 360.0 / 31 for k in range(31))  # the real set's 31 azimuths
ELEVATIONS_DEG = (20.0, 30.0)  # and its 2 elevations
FACTOR_NAMES = ["azimuth_sin", "azimuth_cos", "azimuth_deg", "elevation_deg", *SHAPE_RANGES]
FACTOR_RANGES = {
    "azimuth_sin": (-1.0, 1.0),
    "azimuth_cos": (-1.0, 1.0),
    "azimuth_deg": (0.0, 360.0),
    "elevation_deg": (20.0, 30.0),
    **SHAPE_RANGES,
}

# Camera and light: one scale for every chair (the largest fits with a margin).
VIEW_SCALE = 1.8  # half the view's width at the origin, in seat depths
CAMERA_DISTANCE = 7.0
LIGHT_FROM_VIEW = (-0.45, 0.6, 0.65)  # upper left, in front of the chair, relative to the camera
AMBIENT = 0.25
BACKGROUND = 1.0
SUPERSAMPLE = 2
BATCH_SIZE = 64
FRAME_ALBEDO, SEAT_ALBEDO, BASE_ALBEDO = 0.32, 0.62, 0.22

DESCRIPTION = (
    "Synthetic stand-in for 3D Chairs (Aubry et al. 2014), not real CAD chairs: procedural "
    "box chairs of 4 types (label: 0 dining, 1 armchair, 2 stool with back, 3 office) with "
    "continuous width, back height and leg length, rendered 64x64 grayscale, dark on white, "
    "at the real set's 31 azimuths and elevations 20 or 30 degrees, by a software rasterizer "
    "(Lambertian, studio light fixed to the camera). Factors: " + ", ".join(FACTOR_NAMES) + "."
)


def _rotation(about: str, angle: torch.Tensor) -> torch.Tensor:
    """(B, 3, 3) rotations by `angle` radians about the x or y axis (right-handed)."""
    cos, sin = torch.cos(angle), torch.sin(angle)
    one, zero = torch.ones_like(angle), torch.zeros_like(angle)
    if about == "x":
        rows = [[one, zero, zero], [zero, cos, -sin], [zero, sin, cos]]
    else:
        rows = [[cos, zero, sin], [zero, one, zero], [-sin, zero, cos]]
    return torch.stack([torch.stack(row, dim=-1) for row in rows], dim=-2)


class _Parts:
    """Boxes of a batch of chairs, collected part by part: each part is a centre (B, 3),
    half axes (B, 3, 3) (rows) and an albedo."""

    def __init__(self, n: int):
        self.n = n
        self.centres, self.axes, self.albedo = [], [], []

    def box(self, centre, half_size, albedo, rotation=None, axes=None):
        """Add a box; `centre` and `half_size` are 3 tensors-or-floats, `rotation` (B, 3, 3)
        turns the box about its centre; or give the half axes (B, 3, 3) directly."""
        centre = torch.stack([torch.as_tensor(c, dtype=torch.float32).expand(self.n) for c in centre], dim=1)
        if axes is None:
            half = torch.stack([torch.as_tensor(h, dtype=torch.float32).expand(self.n) for h in half_size], dim=1)
            axes = torch.diag_embed(half)
        if rotation is not None:
            axes = axes @ rotation.transpose(1, 2)  # rows are the rotated half-extent vectors
        self.centres.append(centre)
        self.axes.append(axes)
        self.albedo.append(albedo)

    def tilted(self, bottom, half_size, albedo, tilt):
        """Add a box whose bottom face is centred at `bottom` and that leans back (towards -z)
        by `tilt` radians about the x axis through that point."""
        rotation = _rotation("x", -torch.as_tensor(tilt, dtype=torch.float32).expand(self.n))
        offset = rotation @ torch.tensor([0.0, 1.0, 0.0]) * torch.as_tensor(half_size[1]).reshape(-1, 1)
        centre = [torch.as_tensor(b, dtype=torch.float32).expand(self.n) + offset[:, i] for i, b in enumerate(bottom)]
        self.box(centre, half_size, albedo, rotation)

    def mesh(self):
        """Vertices (B, 8P, 3) centred on each chair's bounding box, shared triangles (12P, 3),
        albedo (8P,)."""
        corners = box_vertices(torch.stack(self.centres, 1), torch.stack(self.axes, 1))  # B, P, 8, 3
        vertices = corners.reshape(self.n, -1, 3)
        low, high = vertices.amin(dim=1, keepdim=True), vertices.amax(dim=1, keepdim=True)
        vertices = vertices - (low + high) / 2
        parts = len(self.centres)
        triangles = np.concatenate([box_triangles() + 8 * p for p in range(parts)])
        albedo = torch.tensor(self.albedo, dtype=torch.float32).repeat_interleave(8)
        return vertices, triangles, albedo


def _legs(parts, width, leg_length, half_thickness, inset, splay=0.0):
    """Four legs from the floor to the seat's underside, at the seat's corners; `splay`
    radians lean their feet outwards (the legs are sheared boxes, their tops stay put)."""
    for sx in (-1, 1):
        for sz in (-1, 1):
            x = sx * (width / 2 - inset - half_thickness)
            z = sz * (0.5 - inset - half_thickness)
            reach = math.tan(splay) * leg_length / 2  # half the foot's outward offset
            axes = torch.zeros(parts.n, 3, 3)
            axes[:, 0, 0] = half_thickness
            axes[:, 2, 2] = half_thickness
            axes[:, 1] = torch.stack(torch.broadcast_tensors(-sx * reach, leg_length / 2, -sz * reach), dim=-1)
            parts.box((x + sx * reach, leg_length / 2, z + sz * reach), None, FRAME_ALBEDO, axes=axes)


def _dining(width, back_height, leg_length):
    """Thin seat, square legs, two back posts with a panel across their upper part."""
    parts = _Parts(len(width))
    seat = 0.07
    _legs(parts, width, leg_length, 0.035, 0.03)
    parts.box((0.0, leg_length + seat / 2, 0.0), (width / 2, seat / 2, 0.5), SEAT_ALBEDO)
    top = leg_length + seat
    tilt = math.radians(8)
    for sx in (-1, 1):
        parts.tilted((sx * (width / 2 - 0.065), top, -0.465), (0.035, back_height / 2, 0.035), FRAME_ALBEDO, tilt)
    panel = 0.5 * back_height
    shift = math.sin(tilt) * (back_height - panel)
    rise = math.cos(tilt) * (back_height - panel)
    parts.tilted((0.0, top + rise, -0.465 - shift), (width / 2 - 0.03, panel / 2, 0.03), SEAT_ALBEDO, tilt)
    return parts


def _armchair(width, back_height, leg_length):
    """Cushion seat on stubby legs, a thick back, and solid arm sides outside the seat."""
    parts = _Parts(len(width))
    seat, arm = 0.2, 0.09
    legs = 0.35 * leg_length  # stubby legs under a solid base that reaches the seat
    _legs(parts, width + 2 * arm, legs, 0.05, 0.0)
    top = leg_length + seat
    parts.box((0.0, (legs + top) / 2, 0.0), (width / 2, (top - legs) / 2, 0.5), SEAT_ALBEDO)
    parts.tilted((0.0, top, -0.42), (width / 2, back_height / 2, 0.08), SEAT_ALBEDO, math.radians(10))
    arm_top = top + 0.32
    for sx in (-1, 1):
        parts.box((sx * (width / 2 + arm), (legs + arm_top) / 2, 0.0), (arm, (arm_top - legs) / 2, 0.5), SEAT_ALBEDO)
    return parts


def _stool_with_back(width, back_height, leg_length):
    """High thin splayed legs with rungs, a thin seat, and a small band on two posts."""
    parts = _Parts(len(width))
    seat, legs = 0.06, 1.25 * leg_length  # a stool sits higher than a chair
    splay = math.radians(5)
    _legs(parts, width, legs, 0.03, 0.06, splay)
    rung_height = 0.35 * legs
    spread = math.tan(splay) * (legs - rung_height)
    half_x = width / 2 - 0.09 + spread
    half_z = 0.5 - 0.09 + spread
    for sz in (-1, 1):
        parts.box((0.0, rung_height, sz * half_z), (half_x, 0.02, 0.02), FRAME_ALBEDO)
    for sx in (-1, 1):
        parts.box((sx * half_x, rung_height, 0.0), (0.02, 0.02, half_z), FRAME_ALBEDO)
    parts.box((0.0, legs + seat / 2, 0.0), (width / 2, seat / 2, 0.5), SEAT_ALBEDO)
    top = legs + seat
    post = 0.75 * back_height
    for sx in (-1, 1):
        parts.box((sx * (width / 2 - 0.12), top + post / 2, -0.45), (0.025, post / 2, 0.025), FRAME_ALBEDO)
    band = 0.3 * back_height
    parts.box((0.0, top + back_height - band / 2, -0.45), (width / 2 - 0.05, band / 2, 0.04), SEAT_ALBEDO)
    return parts


def _office(width, back_height, leg_length):
    """Five-spoke base on casters, a central column, a seat, a tilted back on a support, and
    small arm rests."""
    n = len(width)
    parts = _Parts(n)
    seat = 0.12
    for k in range(5):
        angle = torch.full((n,), 2 * math.pi * k / 5)
        direction = (torch.sin(angle), torch.cos(angle))
        parts.box((0.3 * direction[0], 0.09, 0.3 * direction[1]), (0.035, 0.03, 0.3), BASE_ALBEDO, _rotation("y", angle))
        parts.box((0.58 * direction[0], 0.03, 0.58 * direction[1]), (0.04, 0.03, 0.04), BASE_ALBEDO)
    parts.box((0.0, (0.12 + leg_length) / 2, 0.0), (0.045, (leg_length - 0.12) / 2, 0.045), BASE_ALBEDO)
    parts.box((0.0, leg_length + seat / 2, 0.0), (width / 2, seat / 2, 0.5), SEAT_ALBEDO)
    top = leg_length + seat
    gap = 0.15
    parts.box((0.0, top + gap / 2, -0.47), (0.08, gap / 2, 0.03), BASE_ALBEDO)
    parts.tilted((0.0, top + gap, -0.47), (0.42 * width, (back_height - gap) / 2, 0.05), SEAT_ALBEDO, math.radians(12))
    for sx in (-1, 1):
        parts.box((sx * (width / 2 - 0.04), top + 0.12, 0.0), (0.025, 0.12, 0.025), BASE_ALBEDO)
        parts.box((sx * (width / 2 - 0.04), top + 0.255, -0.02), (0.045, 0.02, 0.22), BASE_ALBEDO)
    return parts


BUILDERS = (_dining, _armchair, _stool_with_back, _office)


def chair_mesh(chair_type: int, width, back_height, leg_length):
    """Vertices (B, V, 3), triangles (T, 3) and albedo (V,) of B chairs of one type."""
    width, back_height, leg_length = (torch.as_tensor(v, dtype=torch.float32).reshape(-1) for v in (width, back_height, leg_length))
    width, back_height, leg_length = torch.broadcast_tensors(width, back_height, leg_length)
    return BUILDERS[chair_type](width, back_height, leg_length).mesh()


def render(chair_type: int, width, back_height, leg_length, azimuth_deg, elevation_deg, supersample=SUPERSAMPLE) -> torch.Tensor:
    """Chairs of one type as float (B, 64, 64) in [0, 1], dark on white. Each argument is one
    value per chair or one for all (broadcast)."""
    values = (torch.as_tensor(v, dtype=torch.float32).reshape(-1) for v in (width, back_height, leg_length, azimuth_deg, elevation_deg))
    width, back_height, leg_length, azimuth, elevation = torch.broadcast_tensors(*values)
    vertices, triangles, albedo = chair_mesh(chair_type, width, back_height, leg_length)
    light = view_to_world(torch.tensor(LIGHT_FROM_VIEW), azimuth, elevation)
    return render_batch(
        vertices, triangles, albedo, azimuth_deg=azimuth, elevation_deg=elevation, light_direction=light,
        size=IMAGE_SIZE, background=BACKGROUND, ambient=AMBIENT, supersample=supersample, scale=VIEW_SCALE,
        camera_distance=CAMERA_DISTANCE, smooth=False, cull_backfaces=True,
    )


def sample_factors(n: int, generator: torch.Generator, azimuth_grid: bool = True):
    """Chair types (balanced, shuffled), and a dict of factor tensors named FACTOR_NAMES."""
    types = standin.balanced_labels(n, len(CHAIR_TYPES), generator)
    if azimuth_grid:
        azimuth = torch.tensor(AZIMUTHS_DEG)[torch.randint(len(AZIMUTHS_DEG), (n,), generator=generator)]
    else:
        azimuth = 360 * torch.rand(n, generator=generator)
    elevation = torch.tensor(ELEVATIONS_DEG)[torch.randint(len(ELEVATIONS_DEG), (n,), generator=generator)]
    factors = {
        "azimuth_sin": torch.sin(torch.deg2rad(azimuth)),
        "azimuth_cos": torch.cos(torch.deg2rad(azimuth)),
        "azimuth_deg": azimuth,
        "elevation_deg": elevation,
    }
    return types, factors | standin.uniform_factors(SHAPE_RANGES, n, generator)


def generate_split(n: int, generator: torch.Generator, desc: str, azimuth_grid: bool = True) -> Split:
    """Draw the types and factors of `n` chairs, then render them a batch of one type at a time
    (one type, one mesh layout; nothing random in the drawing)."""
    types, factors = sample_factors(n, generator, azimuth_grid)

    def draw(part):
        chair_type = int(types[part[0]])
        drawn = render(chair_type, *(factors[name][part] for name in (*SHAPE_RANGES, "azimuth_deg", "elevation_deg")))
        return standin.to_uint8(drawn).unsqueeze(1)

    parts = standin.batches_of_each(types, BATCH_SIZE)
    images = standin.render_in_batches(n, (1, IMAGE_SIZE, IMAGE_SIZE), draw, batch_size=BATCH_SIZE, desc=desc, parts=parts)
    return standin.as_split(images, factors, FACTOR_NAMES, labels=types)


def prepare(out_path, raw_dir=None, *, seed=0, n_train=30000, n_test=3000, azimuth_grid=True):
    """Write the stand-in to `out_path` as HDF5; arguments as for every stand-in (`standin.prepare`).
    ``azimuth_grid=False`` draws azimuth uniformly over [0, 360) instead of from the real set's 31 views."""
    generate = functools.partial(generate_split, azimuth_grid=azimuth_grid)
    sizes = {"train": n_train, "test": n_test}
    return standin.prepare(out_path, "synthetic_chairs", DESCRIPTION, generate, seed=seed, sizes=sizes)
