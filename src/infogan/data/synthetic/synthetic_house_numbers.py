"""Synthetic house numbers: an offline, SVHN-shaped stand-in with known generating factors.

Why it is built this way
------------------------
The paper's SVHN codes found lighting (a continuous code) and plate context (a categorical
code: which digits stand beside the centre one). An SVHN crop is a 32 x 32 colour square
around one digit of a house number, so the stand-in draws exactly that, with each cause of
variation an explicit factor that is stored beside the image:

- the centre digit (the label), always 0-9 and exactly balanced;
- its neighbours on the same plate, left and right, each present with probability 0.65
  and partly cut off by the crop's edge; ``neighbours`` counts those that actually show
  (at least NEIGHBOUR_MIN_INK pixels' worth of ink inside the crop), and ``left_digit`` /
  ``right_digit`` say which digit shows there, -1 where none does;
- plate colours: background and digit hue and saturation; ``contrast`` (how far the dark
  element's value is below the light one's) and ``contrast_inverted`` (1: light digits on
  a dark plate, 0: dark on light, as on most plates);
- lighting: ``lighting`` scales the brightness at the crop's centre, ``light_gradient`` is
  the relative change of brightness from the centre to the crop's edge along
  ``light_direction`` (radians, 0 = brighter to the right, pi/2 = brighter downwards);
- geometry: ``digit_scale`` (digit height / crop height), ``shift_x`` / ``shift_y`` (px),
  ``rotation_degrees`` (of the whole plate, positive = clockwise on screen),
  ``width_scale`` and ``stroke_width_px`` (of the font, px per 20 px of glyph height),
  ``digit_spacing`` (gap between digits, in digit heights);
- camera: ``blur_sigma`` (px, Gaussian) and ``noise_std`` (per-pixel Gaussian noise, in
  units of full intensity).

Two nuisances are random noise, not factors: a faint smooth stain over the plate (so that
backgrounds are not flat) and the per-pixel noise pattern.

What it is not: real SVHN has many fonts, plate edges, clutter and JPEG artefacts; here one
font (DejaVu Sans, the glyphs of `synthetic_digits`) carries every digit, so the digit is
far easier to read than in SVHN. It tests the pipeline and whether the codes find lighting
and context, not the paper's SVHN numbers.

How it is made
--------------
`synthetic_digits.render` draws each upright glyph (centre, left, right) at 28 x 28, 20 px
high, centred by ink mass, with the plate's width and stroke. One `grid_sample` per slot
then places the glyphs on the 32 x 32 crop: scaled to the digit height, the neighbours put
beside the centre digit at the chosen gap measured from their actual ink edges (so a narrow
"1" sits closer), tops aligned, and the whole plate rotated about the centre digit.
Colours, lighting, blur and noise follow as per-pixel arithmetic on the batch.
"""

import math

import torch
import torch.nn.functional as F

from infogan.data.hdf5 import Split
from infogan.data.synthetic import standin, synthetic_digits

IMAGE_SIZE = 32
GLYPH_SIZE = synthetic_digits.IMAGE_SIZE  # the glyphs come from synthetic_digits at 28 x 28...
GLYPH_HEIGHT = synthetic_digits.BOX_SIZE  # ...fitted to a 20 px high box,
GLYPH_CENTRE = GLYPH_SIZE / 2  # ...with their centre of ink mass here (pixel i spans [i, i + 1])

NEIGHBOUR_PROBABILITY = 0.65  # each side independently
NEIGHBOUR_MIN_INK = 3.0  # pixels' worth of ink inside the crop for a neighbour to count as visible
INVERTED_PROBABILITY = 0.35
LIGHT_VALUE = 0.92  # HSV value of the plate's light element, before lighting
STAIN_STD = 0.04  # the smooth stain's strength, in units of full intensity
STAIN_GRID = 4
INK_EDGE = 0.5  # ink level that marks a glyph's edge when measuring it
BLUR_RADIUS = 3  # kernel taps each side: covers 2.5 sigma at the largest blur
BATCH_SIZE = 512

# Continuous factors are uniform over these ranges; the discrete ones take the integers in theirs.
FACTOR_RANGES = {
    "lighting": (0.3, 1.0),
    "light_gradient": (0.0, 0.5),
    "light_direction": (-math.pi, math.pi),
    "background_hue": (0.0, 1.0),
    "background_saturation": (0.0, 0.5),
    "digit_hue": (0.0, 1.0),
    "digit_saturation": (0.0, 0.5),
    "contrast": (0.35, 0.8),
    "contrast_inverted": (0, 1),
    "neighbours": (0, 2),
    "left_digit": (-1, 9),
    "right_digit": (-1, 9),
    "digit_scale": (0.55, 0.8),
    "shift_x": (-2.0, 2.0),
    "shift_y": (-2.0, 2.0),
    "rotation_degrees": (-8.0, 8.0),
    "width_scale": (0.8, 1.1),
    "stroke_width_px": (2.5, 5.0),
    "digit_spacing": (0.05, 0.3),
    "blur_sigma": (0.3, 1.2),
    "noise_std": (0.0, 0.03),
}
FACTOR_NAMES = list(FACTOR_RANGES)
DISCRETE_FACTORS = ("contrast_inverted", "neighbours", "left_digit", "right_digit")
# Factors `render` takes, besides the three digits (the rest are what the rendering shows).
STYLE_FACTORS = [name for name in FACTOR_NAMES if name not in DISCRETE_FACTORS] + ["contrast_inverted"]

DESCRIPTION = (
    "Synthetic stand-in for SVHN (cropped digits): 32x32 RGB crops of a house number drawn with "
    "one font (DejaVu Sans): a centred digit (the label) with neighbouring digits partly visible "
    "at the edges or absent, coloured plates with sometimes inverted contrast, overall lighting "
    "and a lighting gradient, slight scale, shift and rotation, blur and noise. All generating "
    "factors are stored. Not SVHN: no real photographs, one font, no clutter or plate edges."
)


def sample_factors(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict]:
    """Centre digits (exactly balanced, shuffled), neighbour digits (-1 where absent), and the
    style factors: continuous ones uniform over FACTOR_RANGES, contrast_inverted Bernoulli."""
    digits = standin.balanced_labels(n, 10, generator)
    neighbours = torch.randint(0, 10, (2, n), generator=generator)
    present = torch.rand(2, n, generator=generator) < NEIGHBOUR_PROBABILITY
    left, right = torch.where(present, neighbours, -1)
    style = {}
    for name in STYLE_FACTORS:
        if name == "contrast_inverted":
            style[name] = (torch.rand(n, generator=generator) < INVERTED_PROBABILITY).float()
        else:
            style[name] = standin.uniform(FACTOR_RANGES[name], n, generator)
    return digits, left, right, style


def render(digits, left_digit, right_digit, generator=None, **style) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw house-number crops, uint8 N x 3 x 32 x 32, and say which neighbours show (N x 2 bool).

    `left_digit` / `right_digit` are -1 for no neighbour. `style` holds every name in
    STYLE_FACTORS, one value per image or one for all, in the units of FACTOR_RANGES. The
    stain and pixel noise come from `generator`; with `noise_std` 0 only the faint stain is random.
    """
    digits = torch.as_tensor(digits, dtype=torch.long)
    n = len(digits)
    left_digit, right_digit = (torch.as_tensor(d, dtype=torch.long).expand(n) for d in (left_digit, right_digit))
    style = {name: torch.as_tensor(style[name], dtype=torch.float32).expand(n) for name in STYLE_FACTORS}
    ink = _place_glyphs(digits, left_digit, right_digit, style)  # N x 3 slots x 32 x 32
    visible = ink[:, 1:].sum(dim=(2, 3)) >= NEIGHBOUR_MIN_INK
    image = _colour(ink.amax(dim=1, keepdim=True), style, generator)
    image = image * _light_map(style["lighting"], style["light_gradient"], style["light_direction"])
    image = _blur(image.clamp_(0, 1), style["blur_sigma"])
    image = image + style["noise_std"].view(n, 1, 1, 1) * torch.randn(image.shape, generator=generator)
    return standin.to_uint8(image.clamp_(0, 1)), visible


def _glyphs(digits, width_scale, stroke_width_px) -> torch.Tensor:
    """Upright glyphs of `digits` (S x N; -1: blank) in each plate's font (N values), float
    S x N x 28 x 28 in [0, 1]."""
    slots = len(digits)
    drawn = synthetic_digits.render(
        digits.flatten().clamp(min=0), rotation_degrees=0.0, width_scale=width_scale.repeat(slots),
        stroke_width_px=stroke_width_px.repeat(slots), elastic_strength=0.0,
    )
    glyphs = drawn[:, 0].float().div_(255).mul_((digits.flatten() >= 0).float().view(-1, 1, 1))
    return glyphs.view(*digits.shape, GLYPH_SIZE, GLYPH_SIZE)


def _ink_extents(glyphs) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Left edge, right edge and top edge of each glyph's ink, in glyph pixels (blank: the centre)."""
    columns = glyphs.amax(dim=1) > INK_EDGE
    rows = glyphs.amax(dim=2) > INK_EDGE
    index = torch.arange(GLYPH_SIZE)
    blank = ~columns.any(dim=1)
    left = torch.where(columns, index, GLYPH_SIZE).amin(dim=1).float()
    right = torch.where(columns, index + 1, 0).amax(dim=1).float()
    top = torch.where(rows, index, GLYPH_SIZE).amin(dim=1).float()
    centre = torch.full_like(left, GLYPH_CENTRE)
    return torch.where(blank, centre, left), torch.where(blank, centre, right), torch.where(blank, centre, top)


def _slot_offsets(glyphs, spacing) -> tuple[torch.Tensor, torch.Tensor]:
    """Where each slot's glyph centre sits relative to the centre glyph's, in glyph pixels,
    before the plate is scaled and rotated: N x 3 (centre, left, right) for x and for y.

    Neighbours keep a gap of `spacing` digit heights from the centre digit's ink, and their
    tops are aligned with its top.
    """
    left_edge, right_edge, top = (extent.view(3, -1) for extent in _ink_extents(glyphs.flatten(0, 1)))
    gap = spacing * GLYPH_HEIGHT
    zero = torch.zeros_like(gap)
    to_right = (right_edge[0] - GLYPH_CENTRE) + gap + (GLYPH_CENTRE - left_edge[2])
    to_left = (GLYPH_CENTRE - left_edge[0]) + gap + (right_edge[1] - GLYPH_CENTRE)
    dx = torch.stack([zero, -to_left, to_right], dim=1)
    dy = torch.stack([zero, top[0] - top[1], top[0] - top[2]], dim=1)
    return dx, dy


def _place_glyphs(digits, left_digit, right_digit, style) -> torch.Tensor:
    """Each slot's ink on the crop, N x 3 x 32 x 32: scaled, spaced, shifted and rotated."""
    n = len(digits)
    glyphs = _glyphs(torch.stack([digits, left_digit, right_digit]), style["width_scale"], style["stroke_width_px"])
    dx, dy = _slot_offsets(glyphs, style["digit_spacing"])
    glyph_px_per_crop_px = GLYPH_HEIGHT / (style["digit_scale"] * IMAGE_SIZE)
    angle = torch.deg2rad(style["rotation_degrees"])
    cos, sin = torch.cos(angle).view(n, 1, 1), torch.sin(angle).view(n, 1, 1)
    centres = torch.arange(IMAGE_SIZE) + 0.5
    x = (centres.view(1, 1, -1) - IMAGE_SIZE / 2 - style["shift_x"].view(n, 1, 1))
    y = (centres.view(1, -1, 1) - IMAGE_SIZE / 2 - style["shift_y"].view(n, 1, 1))
    # Crop point -> plate point: undo the shift (above), the rotation and the scale.
    scale = glyph_px_per_crop_px.view(n, 1, 1)
    plate_x = (cos * x + sin * y) * scale
    plate_y = (-sin * x + cos * y) * scale
    slots = []
    for slot in range(3):
        glyph_x = plate_x - dx[:, slot].view(n, 1, 1) + GLYPH_CENTRE
        glyph_y = plate_y - dy[:, slot].view(n, 1, 1) + GLYPH_CENTRE
        grid = torch.stack([glyph_x, glyph_y], dim=-1) * (2 / GLYPH_SIZE) - 1
        slots.append(F.grid_sample(glyphs[slot].unsqueeze(1), grid, mode="bilinear", align_corners=False))
    return torch.cat(slots, dim=1)


def _hsv_to_rgb(hue, saturation, value) -> torch.Tensor:
    """N x 3 RGB in [0, 1] from HSV components in [0, 1]."""
    n = torch.tensor([5.0, 3.0, 1.0])
    k = (n + hue.unsqueeze(-1) * 6) % 6
    ramp = torch.minimum(k, 4 - k).clamp(0, 1)
    return value.unsqueeze(-1) * (1 - saturation.unsqueeze(-1) * ramp)


def _colour(ink, style, generator) -> torch.Tensor:
    """Paint the plate: background and digit colours mixed by the ink, N x 3 x 32 x 32, plus a faint stain."""
    n = len(ink)
    inverted = style["contrast_inverted"] > 0.5
    light = torch.full((n,), LIGHT_VALUE)
    dark = light - style["contrast"]
    background = _hsv_to_rgb(style["background_hue"], style["background_saturation"], torch.where(inverted, dark, light))
    digit = _hsv_to_rgb(style["digit_hue"], style["digit_saturation"], torch.where(inverted, light, dark))
    background, digit = background.view(n, 3, 1, 1), digit.view(n, 3, 1, 1)
    stain = torch.randn(n, 1, STAIN_GRID, STAIN_GRID, generator=generator) * STAIN_STD
    stain = F.interpolate(stain, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", align_corners=True)
    return background + (digit - background) * ink + stain


def _light_map(lighting, gradient, direction) -> torch.Tensor:
    """Brightness factor per pixel, N x 1 x 32 x 32: `lighting` at the centre, changing linearly
    by `gradient` (relative) from the centre to the edge along `direction`."""
    n = len(lighting)
    axis = (torch.arange(IMAGE_SIZE) + 0.5) / IMAGE_SIZE * 2 - 1
    along = torch.cos(direction).view(n, 1, 1) * axis.view(1, 1, -1) + torch.sin(direction).view(n, 1, 1) * axis.view(1, -1, 1)
    return (lighting.view(n, 1, 1) * (1 + gradient.view(n, 1, 1) * along)).unsqueeze(1)


def _blur(image, sigma) -> torch.Tensor:
    """Gaussian blur with a different sigma per image: separable, grouped convolutions."""
    n, channels = image.shape[:2]
    taps = torch.arange(-BLUR_RADIUS, BLUR_RADIUS + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (taps.view(1, -1) / sigma.view(-1, 1)) ** 2)
    kernel = (kernel / kernel.sum(dim=1, keepdim=True)).repeat_interleave(channels, dim=0)
    flat = F.pad(image.reshape(1, n * channels, IMAGE_SIZE, IMAGE_SIZE), [BLUR_RADIUS] * 4, mode="replicate")
    flat = F.conv2d(flat, kernel.view(-1, 1, 1, 2 * BLUR_RADIUS + 1), groups=n * channels)
    flat = F.conv2d(flat, kernel.view(-1, 1, 2 * BLUR_RADIUS + 1, 1), groups=n * channels)
    return flat.view(n, channels, IMAGE_SIZE, IMAGE_SIZE)


def _stored_factors(left, right, visible, style) -> dict[str, torch.Tensor]:
    """The stored factors by name, with the neighbours as they show in the crop."""
    return {
        **style,
        "neighbours": visible.sum(dim=1),
        "left_digit": torch.where(visible[:, 0], left, -1),
        "right_digit": torch.where(visible[:, 1], right, -1),
    }


def generate_split(n: int, generator: torch.Generator, desc: str) -> Split:
    """Draw the digits, neighbours and style of `n` crops, then render them; the stain and
    pixel noise come from `generator` too. Which neighbours show is known only once drawn."""
    digits, left, right, style = sample_factors(n, generator)
    visible = torch.empty(n, 2, dtype=torch.bool)

    def draw(part):
        images, visible[part] = render(digits[part], left[part], right[part], generator=generator,
                                       **{name: values[part] for name, values in style.items()})
        return images

    images = standin.render_in_batches(n, (3, IMAGE_SIZE, IMAGE_SIZE), draw, batch_size=BATCH_SIZE, desc=desc)
    return standin.as_split(images, _stored_factors(left, right, visible, style), FACTOR_NAMES, labels=digits)


def prepare(out_path, raw_dir=None, *, seed=0, n_train=50000, n_test=10000):
    """Write the stand-in to `out_path` as HDF5; arguments as for every stand-in (`standin.prepare`)."""
    sizes = {"train": n_train, "test": n_test}
    return standin.prepare(out_path, "synthetic_house_numbers", DESCRIPTION, generate_split, seed=seed, sizes=sizes)
