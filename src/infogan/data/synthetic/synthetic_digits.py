"""Synthetic digits: an offline, MNIST-shaped stand-in with known generating factors.

Why it is built this way
------------------------
The stand-in exists so that the MNIST InfoGAN can be run and scored without a download,
so it must pose the same problem as MNIST: a 10-way categorical code should find digit
identity, and the continuous codes should find continuous style. Earlier trials showed
what breaks that. With 15 fonts of mixed families, or 5 sans fonts, the categorical
code split the data by font (categorical accuracy 0.52 and 0.58): a few discrete styles
are a rival partition that a 10-valued code is happy to take. Handwriting has no such
partition; its style varies continuously. So here digit identity is the ONLY discrete
factor: one font (DejaVu Sans, shipped with matplotlib) and four continuous style
factors, each drawn uniformly from a range:

- ``rotation_degrees`` in [-12, 12]: positive leans the top to the right; the paper's
  second code found slant.
- ``width_scale`` in [0.8, 1.15]: horizontal scale of the glyph before rotation (DejaVu
  digits are ~0.75 as wide as tall); the paper's third code.
- ``stroke_width_px`` in [2.5, 4.0]: pen width in pixels of a glyph 20 px tall (MNIST strokes
  are about 2-5 px). The pen is round: a narrowed glyph keeps its stroke width (see
  `_render_canvas`), so width and thickness stay separate factors.
- ``elastic_strength`` in [0, 0.05]: standard deviation, in glyph heights, of a smooth
  random displacement field (a 5 x 5 grid of Gaussian vectors, bicubically upsampled) that
  wobbles the strokes the way a hand does; the field itself is random noise, not a factor.

How wide the style ranges are matters as much as their being continuous. Measured with
`mnist_infogan` (paper settings, seeds 1 and 2): with wider ranges (rotation +-22 degrees,
width 0.65-1.3, stroke 2-4.5 px) the categorical code still mixed digits with style,
accuracy 0.67 and 0.71 at iteration 2,000 (real MNIST: about 0.81); with the ranges
above, seed 1 reached 0.995 by iteration 500. So this stand-in is easier than MNIST for
the categorical code; it tests the pipeline and the method, not the paper's 95%.

Digits are told apart by their shapes alone, as in MNIST, and the near pairs stay near: the
"1" is drawn as most hands draw it, without DejaVu's foot serif and with a short flag (the
font's long flag makes it almost a "7"; its foot is a tell no MNIST "1" has), and a slanted
"7" or a narrow "4" against a "9" is left to the shapes to settle. A linear classifier on the
pixels is near-perfect, yet no single pixel gets a third of the labels right.

How it is made (fast and continuous)
------------------------------------
Each glyph is turned once into a signed distance field (SDF; negative inside), 64 texels
per glyph height, with the direction of its gradient; the ten are laid side by side in one
atlas. A batch is then drawn on a 48 x 48 canvas with `grid_sample`: each canvas point is
mapped back through the elastic field, the rotation and the width scale into the atlas, and
the sampled distance to the glyph's centre line, corrected to first order for the
non-uniform scale, is thresholded softly at the pen's radius. That gives anti-aliased strokes
of any continuous thickness. As in MNIST, the drawn digit is then fitted into a 20 x 20 box
(aspect kept) and centred by its centre of mass in the 28 x 28 image, white on black
(resampled at 56 x 56 and averaged down). 70,000 images take about 10 s on one CPU core.
"""

import functools

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.path import Path as MplPath
from matplotlib.textpath import TextPath
from scipy import ndimage

from infogan.data.hdf5 import Split
from infogan.data.synthetic import standin

IMAGE_SIZE = 28
BOX_SIZE = 20  # MNIST fits each digit into a 20 x 20 box, then centres it by mass in 28 x 28

FACTOR_RANGES = {
    "rotation_degrees": (-12.0, 12.0),
    "width_scale": (0.8, 1.15),
    "stroke_width_px": (2.5, 4.0),
    "elastic_strength": (0.0, 0.05),
}
FACTOR_NAMES = list(FACTOR_RANGES)

FONT_FAMILY = "DejaVu Sans"
TEXELS_PER_HEIGHT = 64  # SDF texels per glyph height
MASK_SUPERSAMPLE = 4  # the ink mask and its distance transform are computed this much finer
TILE_HALF_WIDTH = 2.5  # each glyph's tile spans [-2.5, 2.5] glyph heights: every lookup lands inside
CANVAS_SIZE = 48  # first drawing, before the box fit
CANVAS_GLYPH_HEIGHT = 1.0  # glyph height in the canvas's [-1, 1] units (24 px): room for the
# worst case (wide, rotated, thick, distorted) without clipping
ELASTIC_GRID = 5
EDGE_SOFTNESS_PX = 1.0  # width of the anti-aliased edge ramp, in pixels of a 20 px glyph
SUPERSAMPLE = 2
BATCH_SIZE = 512  # small enough that a batch's full-size tensors stay in cache

DESCRIPTION = (
    "Synthetic stand-in for MNIST: DejaVu Sans digits drawn white on black at 28x28 "
    "from signed distance fields with continuous random rotation, width, stroke width "
    "and elastic distortion, fitted into a 20x20 box and centred by mass."
)


def _font_path() -> str:
    return findfont(FontProperties(family=FONT_FAMILY), fallback_to_default=False)


def _glyph_mask(digit: int, size: int) -> np.ndarray:
    """Ink mask of `digit` on a size x size grid over glyph space [-1, 1]^2, glyph 1 high.

    The glyph's bounding box is centred; rows run downwards. Contours are combined even-odd,
    so the counters of 0, 4, 6, 8 and 9 are holes.
    """
    outline = TextPath((0, 0), str(digit), size=1, prop=FontProperties(fname=_font_path()))
    extents = outline.get_extents()
    height = extents.y1 - extents.y0
    centre = np.array([(extents.x0 + extents.x1) / 2, (extents.y0 + extents.y1) / 2])
    axis = (np.arange(size) + 0.5) / size * 2 - 1
    x, y = np.meshgrid(axis, axis)
    points = np.column_stack([x.ravel(), -y.ravel()]) * height + centre
    mask = np.zeros(len(points), dtype=bool)
    for contour in outline.to_polygons(closed_only=True):
        mask ^= MplPath(contour).contains_points(points)
    mask = mask.reshape(size, size)
    return _as_handwritten_one(mask) if digit == 1 else mask


def _as_handwritten_one(mask: np.ndarray) -> np.ndarray:
    """Make DejaVu's "1" look like a handwritten one: no foot serif, and a short flag.

    With the foot it would be told from a "7" by a feature no MNIST "1" has; with the font's
    long flag it is nearly a "7". The stem is vertical in the bottom quarter, so the row where
    that quarter begins (above the foot) gives the stem's columns. The flag is cut to reach
    one stem width left of the stem.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    quarter_top = rows[-1] - (rows[-1] - rows[0]) // 4
    stem_columns = np.flatnonzero(mask[quarter_top])
    trimmed = mask.copy()
    trimmed[quarter_top:] &= mask[quarter_top]
    trimmed[:, : stem_columns[0] - len(stem_columns)] = False
    return trimmed


def _signed_distance(mask: np.ndarray) -> np.ndarray:
    """Distance to the edge of a mask over glyph space [-1, 1]^2, in glyph heights; negative inside."""
    texels_per_height = len(mask) / 2
    outside = ndimage.distance_transform_edt(~mask) - 0.5
    inside = ndimage.distance_transform_edt(mask) - 0.5
    return np.where(mask, -inside, outside) / texels_per_height


def _typical_half_stroke(sdf: np.ndarray) -> float:
    """Median inside depth along the glyph's medial ridge: half its typical stroke width."""
    depth = -sdf
    ridge = (depth == ndimage.maximum_filter(depth, size=5)) & (depth > 0.25 * depth.max())
    return float(np.median(depth[ridge]))


def _glyph_tile(digit: int) -> tuple[np.ndarray, float]:
    """One glyph's 2-channel tile over [-TILE_HALF_WIDTH, TILE_HALF_WIDTH]^2, and its half stroke.

    Channel 0 is the SDF (block-averaged from a MASK_SUPERSAMPLE x finer one, for smooth
    edges); channel 1 is the squared x share of its unit normal, (d/dx)^2 / |grad|^2, which
    is all the stroke-width correction in `_render_canvas` needs. The tile is padded with
    its edge values, far from any ink, so lookups never need clamping.
    """
    size = 2 * TEXELS_PER_HEIGHT
    fine_sdf = _signed_distance(_glyph_mask(digit, size * MASK_SUPERSAMPLE))
    sdf = fine_sdf.reshape(size, MASK_SUPERSAMPLE, size, MASK_SUPERSAMPLE).mean(axis=(1, 3))
    d_row, d_col = np.gradient(ndimage.gaussian_filter(sdf, 1.0))
    x_share = d_col**2 / np.maximum(d_col**2 + d_row**2, 1e-12)
    margin = round((TILE_HALF_WIDTH - 1) * TEXELS_PER_HEIGHT)
    tile = np.pad(np.stack([sdf, x_share]), ((0, 0), (margin, margin), (margin, margin)), mode="edge")
    return tile, _typical_half_stroke(fine_sdf)


@functools.cache
def _glyph_atlas() -> tuple[torch.Tensor, torch.Tensor]:
    """The ten glyph tiles side by side, 1 x 2 x R x 10R (SDF, x share), and each glyph's
    typical half stroke width. One atlas lets a batch of mixed digits be drawn by a single
    `grid_sample`."""
    tiles, half_strokes = zip(*(_glyph_tile(digit) for digit in range(10)))
    return torch.from_numpy(np.concatenate(tiles, axis=2)).float()[None], torch.tensor(half_strokes)


def sample_factors(n: int, generator: torch.Generator) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Digits (exactly balanced, shuffled) and each style factor uniform over its range."""
    digits = standin.balanced_labels(n, 10, generator)  # first: the order of the draws is part of the data
    return digits, standin.uniform_factors(FACTOR_RANGES, n, generator)


def render(digits, rotation_degrees, width_scale, stroke_width_px, elastic_strength, generator=None) -> torch.Tensor:
    """Draw digits with the given factor values (one per image, or one for all) as uint8
    N x 1 x 28 x 28. Units and ranges are those of FACTOR_RANGES (see the module docstring).

    The elastic field's directions are random noise from `generator`; an `elastic_strength`
    of 0 makes the result a pure function of the other factors.
    """
    digits = torch.as_tensor(digits, dtype=torch.long)
    rotation, width, stroke, elastic = (
        torch.as_tensor(v, dtype=torch.float32).expand(len(digits))
        for v in (rotation_degrees, width_scale, stroke_width_px, elastic_strength)
    )
    canvas = _render_canvas(digits, rotation, width, stroke, elastic, generator)
    return standin.to_uint8(_fit_into_box(canvas))


def _canvas_to_glyph(rotation_degrees: torch.Tensor, width_scale: torch.Tensor) -> torch.Tensor:
    """N x 2 x 2 linear maps taking canvas coordinates back to glyph coordinates.

    Forward, a glyph point g lands at CANVAS_GLYPH_HEIGHT * R(angle) @ diag(width, 1) @ g,
    with rows downwards so a positive angle leans the top to the right.
    """
    angle = torch.deg2rad(rotation_degrees)
    cos, sin = torch.cos(angle), torch.sin(angle)
    inverse_rotation = torch.stack([torch.stack([cos, sin], -1), torch.stack([-sin, cos], -1)], -2)
    inverse_width = torch.stack([1 / width_scale, torch.ones_like(width_scale)], -1).diag_embed()
    return inverse_width @ inverse_rotation / CANVAS_GLYPH_HEIGHT


def _pixel_centres(size: int) -> torch.Tensor:
    """Coordinates of pixel centres in grid_sample's normalised [-1, 1] (align_corners=False)."""
    return (torch.arange(size) + 0.5) / size * 2 - 1


@functools.cache
def _bicubic_upsampling(size: int) -> torch.Tensor:
    """size x ELASTIC_GRID matrix U with U @ coarse @ U.T equal to bicubic upsampling.

    Two small matrix products are much faster on CPU than `interpolate` on the whole batch.
    """
    identity = torch.eye(ELASTIC_GRID).view(ELASTIC_GRID, 1, 1, ELASTIC_GRID)
    rows = F.interpolate(identity, size=(1, size), mode="bicubic", align_corners=True)
    return rows.view(ELASTIC_GRID, size).T.contiguous()


def _atlas_lookup_grid(digits, canvas_to_glyph, elastic_strength, generator) -> torch.Tensor:
    """Where each canvas pixel reads the atlas: N x CANVAS x CANVAS x 2, grid_sample units.

    Canvas point c reads glyph point M (c - d(c)), with d a smooth random displacement: a
    coarse grid of Gaussian vectors with std `elastic_strength` glyph heights, upsampled
    bicubically. Everything is linear, so the map to atlas units is applied to M and to the
    coarse grid before anything is full size.
    """
    n = len(digits)
    tiles_across = 10 * 2 * TILE_HALF_WIDTH  # atlas width in glyph heights
    to_atlas = torch.tensor([2 / tiles_across, 1 / TILE_HALF_WIDTH]).view(1, 2, 1) * canvas_to_glyph
    tile_centre = torch.stack([(2 * digits + 1) / 10 - 1, torch.zeros(n)], dim=-1)
    axis = _pixel_centres(CANVAS_SIZE)
    along_x = axis.view(1, 1, -1, 1) * to_atlas[:, :, 0].view(n, 1, 1, 2) + tile_centre.view(n, 1, 1, 2)
    along_y = axis.view(1, -1, 1, 1) * to_atlas[:, :, 1].view(n, 1, 1, 2)
    coarse = torch.randn(n, 2, ELASTIC_GRID, ELASTIC_GRID, generator=generator)
    coarse = coarse * (elastic_strength * CANVAS_GLYPH_HEIGHT).view(n, 1, 1, 1)
    coarse = torch.einsum("nij,njkl->nikl", to_atlas, coarse)
    upsampling = _bicubic_upsampling(CANVAS_SIZE)
    displacement = (upsampling @ coarse @ upsampling.T).permute(0, 2, 3, 1)
    return along_x + along_y - displacement


def _render_canvas(digits, rotation, width, stroke, elastic, generator) -> torch.Tensor:
    """Anti-aliased ink in [0, 1], N x 1 x CANVAS x CANVAS, glyph about 24 px high.

    A round pen of width `stroke` is drawn along the glyph's centre line: the distance to
    that line is the SDF plus the glyph's typical half stroke, measured on the canvas. A
    glyph-space distance becomes a canvas distance, to first order, on division by
    |M^T grad sdf|; the rotation in M drops out of that norm, leaving
    sqrt(1 + x_share (1/width^2 - 1)) / CANVAS_GLYPH_HEIGHT. So narrowing a glyph does not
    thin its vertical strokes, and width and stroke width stay separate factors.
    """
    atlas, half_strokes = _glyph_atlas()
    n = len(digits)
    grid = _atlas_lookup_grid(digits, _canvas_to_glyph(rotation, width), elastic, generator)
    grid = grid.view(1, n * CANVAS_SIZE, CANVAS_SIZE, 2)
    sampled = F.grid_sample(atlas, grid, mode="bilinear", align_corners=False)
    sdf, x_share = sampled.view(2, n, CANVAS_SIZE, CANVAS_SIZE)
    per_image = (1 / width**2 - 1).view(n, 1, 1)
    inverse_stretch = x_share.mul_(per_image).add_(1).rsqrt_().mul_(CANVAS_GLYPH_HEIGHT)
    distance = sdf.add_(half_strokes[digits].view(n, 1, 1)).mul_(inverse_stretch)  # in drawn glyph heights
    softness = EDGE_SOFTNESS_PX / BOX_SIZE
    ink = distance.mul_(-1 / softness).add_((stroke / (2 * BOX_SIZE * softness) + 0.5).view(n, 1, 1))
    return ink.clamp_(0, 1).unsqueeze(1)


def _fit_into_box(canvas: torch.Tensor) -> torch.Tensor:
    """MNIST's normalisation: scale so the longer side of the ink is BOX_SIZE px, centre by mass.

    Extents are the summed column (row) maxima of the ink, a sub-pixel measure that varies
    smoothly with the factors. Resampled at SUPERSAMPLE x and averaged down for anti-aliasing.
    """
    n = len(canvas)
    ink = canvas[:, 0]
    extent = torch.maximum(ink.amax(dim=1).sum(dim=1), ink.amax(dim=2).sum(dim=1)) * 2 / CANVAS_SIZE
    axis = _pixel_centres(CANVAS_SIZE)
    mass = ink.sum(dim=(1, 2))
    centre_x = (ink.sum(dim=1) * axis).sum(dim=1) / mass
    centre_y = (ink.sum(dim=2) * axis).sum(dim=1) / mass
    scale = (extent / (2 * BOX_SIZE / IMAGE_SIZE)).view(n, 1, 1)
    size = IMAGE_SIZE * SUPERSAMPLE
    out_axis = _pixel_centres(size)
    grid_x = (out_axis.view(1, 1, size) * scale + centre_x.view(n, 1, 1)).expand(n, size, size)
    grid_y = (out_axis.view(1, size, 1) * scale + centre_y.view(n, 1, 1)).expand(n, size, size)
    fine = F.grid_sample(canvas, torch.stack([grid_x, grid_y], dim=-1), mode="bilinear", align_corners=False)
    return F.avg_pool2d(fine, SUPERSAMPLE)


def generate_split(n: int, generator: torch.Generator, desc: str) -> Split:
    """Draw the digits and their style, then render them; the elastic noise comes from `generator` too."""
    digits, factors = sample_factors(n, generator)

    def draw(part):
        return render(digits[part], *(factors[name][part] for name in FACTOR_NAMES), generator=generator)

    images = standin.render_in_batches(n, (1, IMAGE_SIZE, IMAGE_SIZE), draw, batch_size=BATCH_SIZE, desc=desc)
    return standin.as_split(images, factors, FACTOR_NAMES, labels=digits)


def prepare(out_path, raw_dir=None, *, seed=0, n_train=60000, n_test=10000):
    """Write the stand-in to `out_path` as HDF5; arguments as for every stand-in (`standin.prepare`)."""
    sizes = {"train": n_train, "test": n_test}
    return standin.prepare(out_path, "synthetic_digits", DESCRIPTION, generate_split, seed=seed, sizes=sizes)
