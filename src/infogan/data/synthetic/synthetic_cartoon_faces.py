"""Synthetic cartoon faces: an offline, CelebA-shaped stand-in with known generating factors.

Why it is built this way
------------------------
The paper's CelebA experiment (Figure 6) reports codes that found head turn (azimuth),
glasses, hair style and emotion, with no labels. To run and score that experiment without
the 1.4 GB download, this stand-in draws 32 x 32 RGB faces whose pictures vary in exactly
those four ways, each a stored factor:

- ``head_turn`` in [-1, 1]: the head turns up to TURN_RADIANS either way. The face is drawn
  on a cylinder: eyes, nose and mouth sit at fixed longitudes and move by R sin(longitude +
  angle), so positive values move them to the image's right; each feature's width scales with
  the cosine of its new longitude (the eye moving toward the middle widens, the one moving
  toward the edge narrows), the silhouette narrows by up to TURN_NARROWING, and the ears and
  the hair behind the head slide the other way (one ear shows more, the other hides).
- ``glasses``, 0 or 1 (a share GLASSES_SHARE of the faces): dark rims around both eyes, a
  bridge, arms toward the ears and slightly tinted lenses.
- ``hair_amount`` in [0, 1]: 0 is bald; hair first appears as a short cap with a hairline that
  moves down to the forehead, gains volume around the head, then (above LONG_HAIR_FROM) falls
  beside the face and the neck down to the shoulders, framing the face.
- ``smile`` in [-1, 1]: the mouth line curves from a frown (corners down) through a straight
  line to a smile (corners up); positive values also open the mouth on a row of teeth.

Everything else a photo of a face varies in is a nuisance, drawn at random and stored too, so
that a code can be checked against it: ``skin_tone`` (0 light to 1 dark), ``hair_colour``
(0 black, brown, auburn, blond, to 1 grey), ``background_red/green/blue`` (a muted backdrop:
a grey level plus a small tint, lit a little more at the top), ``scale`` and ``shift_x`` /
``shift_y`` (in pixels): aligned CelebA faces differ a little in size and place. Lighting is
frontal: face and hair are brightest in their middle and darken toward their edges, as under
a light beside the camera.

The layout imitates aligned CelebA after `infogan.data.real.celeba`'s central 140 x 140 crop: eyes
near mid-height about 9 px apart, mouth at three quarters of the height, the chin near the
bottom edge and the crown near the top, so the face fills the square.

What it is not: these are flat cartoons made of a dozen simple shapes, with no identities,
expressions other than the mouth, lighting directions, accessories other than glasses, or
photographic texture. A
model that does well here has learnt the four factors when they are cleanly separable; it says
nothing about how well the same model does on photographs.

How it is made
--------------
Every part is an analytic shape (ellipses, rounded boxes, capsules, curved bands) given as an
approximate signed distance in head coordinates; a pixel's coverage is its distance mapped
linearly over one pixel width, which anti-aliases every edge. The parts are composited back to
front, a batch at a time, with torch on the CPU; nothing is random during drawing, so the
images are a pure function of the stored factors, and the factors a pure function of the seed.
"""

import math

import torch

from infogan.data.hdf5 import Split
from infogan.data.streams import train_generator
from infogan.data.synthetic import standin

IMAGE_SIZE = 32
PIXEL = 2 / IMAGE_SIZE  # one pixel in image coordinates, which span [-1, 1]

GLASSES_SHARE = 0.3  # more than CelebA's 6.5 %, so that a code has enough examples to find them
# Backdrops are muted, as in CelebA's photos: a grey level, plus a tint of up to this much per channel.
BACKGROUND_BRIGHTNESS = (0.15, 0.85)
BACKGROUND_TINT = 0.15
BACKGROUND = ("background_red", "background_green", "background_blue")
FACTOR_RANGES = {
    "head_turn": (-1.0, 1.0),
    "glasses": (0.0, 1.0),  # 0 or 1
    "hair_amount": (0.0, 1.0),
    "smile": (-1.0, 1.0),
    "skin_tone": (0.0, 1.0),
    "hair_colour": (0.0, 1.0),
    "background_red": (0.0, 1.0),  # see BACKGROUND_BRIGHTNESS and BACKGROUND_TINT
    "background_green": (0.0, 1.0),
    "background_blue": (0.0, 1.0),
    "scale": (0.92, 1.08),
    "shift_x": (-1.5, 1.5),  # pixels
    "shift_y": (-1.5, 1.5),  # pixels
}
FACTOR_NAMES = list(FACTOR_RANGES)

# Head geometry, in image units at scale 1 (y runs downwards).
HEAD_CENTRE_Y = -0.02
HEAD_HALF_WIDTH = 0.62
HEAD_HALF_HEIGHT = 0.86  # crown at -0.88, chin at 0.84
JAW_NARROWING = 0.22  # the half width shrinks by this share toward the chin
TURN_RADIANS = 0.5  # head_turn 1 turns the head by about 29 degrees
TURN_NARROWING = 0.1  # the silhouette narrows by this share at a full turn
EYE_LONGITUDE = 0.45  # radians either side of the face's midline
EYE_Y = 0.02
BROW_Y = -0.15
NOSE_Y = 0.3
NOSE_DEPTH = 1.18  # the nose stands out of the face cylinder, so it moves more when the head turns
MOUTH_Y = 0.5
MOUTH_HALF_WIDTH = 0.21
MOUTH_CURVE = 0.12  # how far the corners rise above the centre at smile 1
FROWN_SHARE = 0.6  # at smile -1 they drop by this share of MOUTH_CURVE: stern, not tragic
LONG_HAIR_FROM = 0.35  # hair_amount above which hair falls below the ears

SKIN_PALETTE = ((0.98, 0.84, 0.74), (0.90, 0.70, 0.56), (0.72, 0.52, 0.38), (0.45, 0.31, 0.22))
HAIR_PALETTE = ((0.07, 0.06, 0.06), (0.26, 0.16, 0.09), (0.50, 0.28, 0.15), (0.82, 0.66, 0.40), (0.68, 0.68, 0.68))
LIP_COLOUR = (0.70, 0.25, 0.25)
MOUTH_LINE_COLOUR = (0.30, 0.08, 0.08)
TEETH_COLOUR = (0.96, 0.94, 0.88)
EYE_COLOUR = (0.10, 0.07, 0.07)
FRAME_COLOUR = (0.06, 0.06, 0.08)
LENS_DARKENING = 0.3

BATCH_SIZE = 256  # measured fastest on one CPU thread (128 to 1024 tried)


# ---------------------------------------------------------------- shapes and compositing


def _coverage(distance, pixel):
    """Share of a pixel inside a shape, from the signed distance of its centre (negative inside)."""
    return (0.5 - distance / pixel).clamp_(0, 1)


def _ellipse(x, y, cx, cy, a, b):
    """Approximate signed distance to an axis-aligned ellipse (exact on the axes, good near the edge)."""
    px, py = (x - cx) / a, (y - cy) / b
    k0 = torch.sqrt(px * px + py * py)
    qx, qy = px / a, py / b
    k1 = torch.sqrt(qx * qx + qy * qy).clamp_(min=1e-6)
    return (k0 - 1).mul_(k0).div_(k1)


def _rounded_box(x, y, cx, cy, half_x, half_y, radius):
    """Signed distance to a box with rounded corners."""
    qx = (x - cx).abs() - half_x + radius
    qy = (y - cy).abs() - half_y + radius
    outside = torch.sqrt(qx.clamp(min=0) ** 2 + qy.clamp(min=0) ** 2)
    return outside + torch.maximum(qx, qy).clamp(max=0) - radius


def _capsule(x, y, x0, x1, cy, half_thickness):
    """Signed distance to a horizontal segment from x0 to x1 at height cy, thickened."""
    nearest = torch.minimum(torch.maximum(x, x0), x1)
    return torch.sqrt((x - nearest) ** 2 + (y - cy) ** 2) - half_thickness


def _over(image, colour, alpha):
    """Paint `colour` (N x 3, or N x 3 x H x W) over `image` (N x 3 x H x W) with coverage `alpha` (N x H x W)."""
    if colour.dim() == 2:
        colour = colour[:, :, None, None]
    image.lerp_(colour.expand_as(image), alpha.unsqueeze(1))


def _palette(palette, t):
    """Piecewise-linear colour ramp through `palette` at positions t in [0, 1]; N x 3."""
    colours = torch.tensor(palette)
    position = t.clamp(0, 1) * (len(palette) - 1)
    low = position.floor().long().clamp(max=len(palette) - 2)
    share = (position - low).unsqueeze(1)
    return colours[low] * (1 - share) + colours[low + 1] * share


def _column(values):
    return values.view(-1, 1, 1)


# ---------------------------------------------------------------- the face, part by part


class _Head:
    """Per-image geometry (N x 1 x 1 tensors) and the pixel grid in head coordinates.

    x is N x 1 x W and y is N x H x 1: work that depends on one axis only is done at that
    size, and tensors become full N x H x W only where the two meet (a third of the time).
    """

    def __init__(self, f):
        n = len(f["head_turn"])
        axis = (torch.arange(IMAGE_SIZE, dtype=torch.float32) + 0.5) * PIXEL - 1
        scale = _column(f["scale"])
        self.x = (axis.view(1, 1, -1) - _column(f["shift_x"]) * PIXEL) / scale
        self.y = (axis.view(1, -1, 1) - _column(f["shift_y"]) * PIXEL) / scale
        self.pixel = PIXEL / scale
        self.turn = _column(f["head_turn"]) * TURN_RADIANS
        self.half_width = HEAD_HALF_WIDTH * (1 - TURN_NARROWING * _column(f["head_turn"]).abs())
        self.n = n

    def on_face(self, longitude, radius=None):
        """Image x of a point at `longitude` on the face cylinder, and the foreshortening there."""
        angle = longitude + self.turn
        return (radius if radius is not None else self.half_width) * torch.sin(angle), torch.cos(angle)

    def back_of_head(self):
        """Image x of the back of the skull, which moves against the face when the head turns."""
        return -0.12 * torch.sin(self.turn)

    def face_distance(self):
        """The face silhouette: an ellipse whose half width narrows toward the chin."""
        below_centre = ((self.y - HEAD_CENTRE_Y) / HEAD_HALF_HEIGHT).clamp(0, 1)
        half_width = self.half_width * (1 - JAW_NARROWING * below_centre**2)
        return _ellipse(self.x, self.y, 0.0, HEAD_CENTRE_Y, half_width, HEAD_HALF_HEIGHT)

    def radial(self):
        """Squared elliptical radius from the head centre: 0 in the middle, 1 at the silhouette."""
        return (self.x / self.half_width) ** 2 + ((self.y - HEAD_CENTRE_Y) / HEAD_HALF_HEIGHT) ** 2


def _background(head, f):
    colour = torch.stack([f["background_red"], f["background_green"], f["background_blue"]], dim=1)
    light = 1.06 - 0.12 * (head.y + 1) / 2  # a little brighter at the top
    return colour[:, :, None, None] * light.unsqueeze(1)


def _hair_geometry(head, f):
    """Hair volume (how far it stands out of the head) and how far it has grown down."""
    amount = _column(f["hair_amount"])
    volume = 0.13 * amount
    grown = ((amount - 0) / 0.3).clamp(0, 1)
    grown = grown * grown * (3 - 2 * grown)  # smoothstep: the hairline settles on the forehead
    long = ((amount - LONG_HAIR_FROM) / (1 - LONG_HAIR_FROM)).clamp(0, 1)
    return volume, grown, long


def _hair_colour(head, f):
    colour = _palette(HAIR_PALETTE, f["hair_colour"])[:, :, None, None]
    shade = 1.1 - 0.3 * head.radial().clamp(0, 1.6).unsqueeze(1)  # lit from the front
    return colour * shade


def _back_hair(head, f, volume, grown, long):
    """Hair seen beside and above the head (drawn behind it), and long hair down to the shoulders."""
    back = head.back_of_head()
    outline = _ellipse(head.x, head.y, back, HEAD_CENTRE_Y, head.half_width + volume, HEAD_HALF_HEIGHT + volume)
    sides_end = -0.3 + 0.6 * _column(f["hair_amount"])
    around = _coverage(outline, head.pixel) * _coverage(head.y - sides_end, head.pixel) * (grown > 0)
    length = 1.35 * long
    widening = 0.12 * long * ((head.y - HEAD_CENTRE_Y) / length.clamp(min=1e-3)).clamp(0, 1)
    fall = _rounded_box(head.x, head.y, back, HEAD_CENTRE_Y + length / 2,
                        head.half_width + volume + 0.04 * long + widening, length / 2, 0.12)
    falling = _coverage(fall, head.pixel) * (long * 10).clamp(max=1)
    return torch.maximum(around, falling)


def _front_hair(head, f, volume, grown):
    """The hair cap over the skull, down to a hairline that is lower at the temples."""
    outline = _ellipse(head.x, head.y, 0.0, HEAD_CENTRE_Y, head.half_width + volume, HEAD_HALF_HEIGHT + volume)
    across = (head.x - 0.5 * head.on_face(torch.zeros(()))[0]) / head.half_width  # the hairline turns with the face
    hairline = -1.2 + 0.68 * grown + 0.55 * grown * across**2
    return _coverage(outline, head.pixel) * _coverage(head.y - hairline, head.pixel)


def _ears(head):
    """Both ears, to be drawn behind the face: they slide against the turn, one out, one in."""
    shift = head.back_of_head()
    alphas = [
        _coverage(_ellipse(head.x, head.y, side * (head.half_width + 0.01) + shift, 0.06, 0.075, 0.13), head.pixel)
        for side in (-1, 1)
    ]
    return torch.maximum(*alphas)


def _neck(head):
    centre = 0.08 * torch.sin(head.turn)
    return _coverage(_rounded_box(head.x, head.y, centre, 0.95, 0.27, 0.55, 0.08), head.pixel)


def _eyes(head):
    """Eye positions (x, y) with their foreshortening, and the coverage of sockets and irises."""
    eyes = [head.on_face(side * EYE_LONGITUDE) for side in (-1, 1)]
    sockets, irises = [], []
    for x, squeeze in eyes:
        squeeze = squeeze.clamp(min=0.2)
        sockets.append(_coverage(_ellipse(head.x, head.y, x, EYE_Y - 0.01, 0.13 * squeeze, 0.08), head.pixel))
        irises.append(_coverage(_ellipse(head.x, head.y, x, EYE_Y, 0.065 * squeeze, 0.05), head.pixel))
    return eyes, torch.maximum(*sockets), torch.maximum(*irises)


def _brows(head, eyes):
    alphas = []
    for x, squeeze in eyes:
        half = 0.08 * squeeze.clamp(min=0.2)
        arch = BROW_Y - 0.03 * (1 - ((head.x - x) / (half + 0.04)) ** 2).clamp(min=0)
        alphas.append(_coverage(_capsule(head.x, head.y - arch + BROW_Y, x - half, x + half, BROW_Y, 0.028), head.pixel))
    return torch.maximum(*alphas)


def _nose(head):
    """The nose's shadows: under its tip, and a faint one down the side away from the turn."""
    x, _ = head.on_face(torch.zeros(()), HEAD_HALF_WIDTH * NOSE_DEPTH)
    tip = _coverage(_ellipse(head.x, head.y, x, NOSE_Y, 0.08, 0.04), head.pixel)
    side = x - 0.06 * torch.sign(head.turn + 1e-6) * torch.sin(head.turn).abs().sqrt()
    ridge = _coverage(_ellipse(head.x, head.y, side, NOSE_Y - 0.13, 0.03, 0.13), head.pixel)
    return torch.maximum(tip, 0.4 * ridge)


def _mouth(head, f):
    """Lips, the dark line or opening between them, and teeth. The centre line is
    y = MOUTH_Y - curve (u^2 - 1/3) across the mouth (u from -1 to 1), so the corners rise with a
    smile and the mean height stays put; a smile also opens the mouth, most in the middle."""
    smile = _column(f["smile"])
    x, squeeze = head.on_face(torch.zeros(()))
    half_width = MOUTH_HALF_WIDTH * squeeze
    u = ((head.x - x) / half_width).clamp(-1, 1)
    curve = MOUTH_CURVE * torch.where(smile > 0, smile, FROWN_SHARE * smile)
    centre = MOUTH_Y - curve * (u * u - 1 / 3)
    opening = (0.012 + 0.1 * smile.clamp(min=0)) * (1 - u * u)
    upper, lower = centre - 0.3 * opening, centre + 0.7 * opening
    across = (head.x - x).abs() - half_width
    lips = torch.maximum(torch.maximum(upper - 0.03 - head.y, head.y - lower - 0.035), across)
    inside = torch.maximum(torch.maximum(upper - head.y, head.y - lower), across + 0.02)
    line = torch.maximum((head.y - centre).abs() - 0.025, across + 0.01)
    teeth = torch.maximum(torch.maximum(upper + 0.01 - head.y, head.y - lower + 0.02), across + 0.05)
    return (_coverage(lips, head.pixel), torch.maximum(_coverage(inside, head.pixel), _coverage(line, head.pixel)),
            _coverage(teeth, head.pixel))


def _glasses(head, eyes):
    """Frames (rims, bridge, arms) and lenses around both eyes."""
    rims, lenses, inner_edges = [], [], []
    for side, (x, squeeze) in zip((-1, 1), eyes):
        half_x = 0.15 * squeeze.clamp(min=0.3)
        lens = _ellipse(head.x, head.y, x, EYE_Y, half_x, 0.12)
        rims.append(_coverage(lens.abs() - 0.025, head.pixel))
        lenses.append(_coverage(lens, head.pixel))
        inner_edges.append(x - side * half_x)
    bridge = _capsule(head.x, head.y, inner_edges[0], inner_edges[1], EYE_Y - 0.03, 0.02)
    arm_ends = [side * (head.half_width + 0.01) + head.back_of_head() for side in (-1, 1)]
    arms = [
        _capsule(head.x, head.y, arm_ends[0], eyes[0][0] - 0.12, EYE_Y - 0.04, 0.02),
        _capsule(head.x, head.y, eyes[1][0] + 0.12, arm_ends[1], EYE_Y - 0.04, 0.02),
    ]
    frame = torch.maximum(torch.maximum(*rims), _coverage(bridge, head.pixel))
    frame = torch.maximum(frame, torch.maximum(*(_coverage(arm, head.pixel) for arm in arms)))
    return frame, torch.maximum(*lenses)


def render(factors: dict) -> torch.Tensor:
    """Draw faces with the given factor values (a 1-d tensor per name in FACTOR_NAMES) as uint8
    N x 3 x 32 x 32. Units and ranges are those of FACTOR_RANGES (see the module docstring)."""
    f = {name: torch.as_tensor(factors[name], dtype=torch.float32).reshape(-1) for name in FACTOR_NAMES}
    n = max(len(v) for v in f.values())
    f = {name: v.expand(n) for name, v in f.items()}
    head = _Head(f)
    skin = _palette(SKIN_PALETTE, f["skin_tone"])
    image = _background(head, f).expand(n, 3, IMAGE_SIZE, IMAGE_SIZE).contiguous()
    volume, grown, long = _hair_geometry(head, f)
    hair = _hair_colour(head, f)

    _over(image, hair, _back_hair(head, f, volume, grown, long))
    _over(image, skin * 0.85, _ears(head))
    _over(image, skin * 0.7, _neck(head))
    face_shade = (1.04 - 0.2 * head.radial().clamp(0, 1)).unsqueeze(1)  # lit from the front
    _over(image, skin[:, :, None, None] * face_shade, _coverage(head.face_distance(), head.pixel))
    _over(image, hair, _front_hair(head, f, volume, grown))

    eyes, sockets, irises = _eyes(head)
    _over(image, skin * 0.82, sockets * 0.8)
    _over(image, torch.tensor([EYE_COLOUR]).expand(n, 3), irises)
    _over(image, _palette(HAIR_PALETTE, f["hair_colour"]) * 0.6, _brows(head, eyes) * 0.9)
    _over(image, skin * 0.7, _nose(head) * 0.8)
    lips, opening, teeth = _mouth(head, f)
    _over(image, skin * 0.4 + torch.tensor([LIP_COLOUR]) * 0.6, lips)
    _over(image, torch.tensor([MOUTH_LINE_COLOUR]).expand(n, 3), opening)
    _over(image, torch.tensor([TEETH_COLOUR]).expand(n, 3), teeth)

    frame, lens = _glasses(head, eyes)
    wearing = _column(f["glasses"])
    image.mul_(1 - (LENS_DARKENING * lens * wearing).unsqueeze(1))
    _over(image, torch.tensor([FRAME_COLOUR]).expand(n, 3), frame * wearing)
    return standin.to_uint8(image.clamp_(0, 1))


# ---------------------------------------------------------------- the data set


def sample_factors(n: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Every factor uniform over its range, except glasses (1 for a share GLASSES_SHARE, else 0)
    and the background (a uniform grey level plus a uniform tint per channel)."""
    factors = {}
    for name, (low, high) in FACTOR_RANGES.items():
        if name in BACKGROUND:
            continue
        draw = torch.rand(n, generator=generator)
        factors[name] = (draw < GLASSES_SHARE).float() if name == "glasses" else low + (high - low) * draw
    grey = standin.uniform(BACKGROUND_BRIGHTNESS, n, generator)
    for name in BACKGROUND:
        factors[name] = grey + BACKGROUND_TINT * (2 * torch.rand(n, generator=generator) - 1)
    return factors


def generate_split(n: int, generator: torch.Generator, desc: str) -> Split:
    """Draw the factors of `n` faces, then render them (nothing random in the drawing)."""
    factors = sample_factors(n, generator)

    def draw(part):
        return render({name: values[part] for name, values in factors.items()})

    images = standin.render_in_batches(n, (3, IMAGE_SIZE, IMAGE_SIZE), draw, batch_size=BATCH_SIZE, desc=desc)
    return standin.as_split(images, factors, FACTOR_NAMES)


DESCRIPTION = (
    "Synthetic stand-in for CelebA (not photographs): 32x32 RGB front-lit cartoon faces drawn from analytic, "
    "anti-aliased shapes, laid out like aligned CelebA after a central 140x140 crop. Four factors of interest: "
    f"head_turn (-1..1, up to {math.degrees(TURN_RADIANS):.0f} degrees; features move right for positive values), "
    f"glasses (0/1, {GLASSES_SHARE:.0%} of faces), hair_amount (0 bald .. 1 long hair framing the face), smile "
    "(-1 frown .. 1 open smile). Nuisances, also stored: skin_tone, hair_colour, background_red/green/blue, "
    "scale, shift_x, shift_y (pixels). No identities, textures or other expressions; a test of the pipeline "
    "and of disentangling these factors, not of results on CelebA."
)


def prepare(out_path, raw_dir=None, *, seed=0, n_train=50_000):
    """Write the stand-in to `out_path` as HDF5; arguments as for every stand-in (`standin.prepare`).
    There is no test split: CelebA's experiment has none."""
    return standin.prepare(out_path, "synthetic_cartoon_faces", DESCRIPTION, generate_split, seed=seed,
                           sizes={"train": n_train}, streams=train_generator)
