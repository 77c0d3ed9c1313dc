"""Behavioural tests of the synthetic cartoon faces: layout, reproducibility, and that each of
the four named factors changes the picture where, and how, its name says."""

import numpy as np
import pytest
import torch

from infogan.data.hdf5 import read_info, read_split
from infogan.data.synthetic.synthetic_cartoon_faces import FACTOR_NAMES, FACTOR_RANGES, GLASSES_SHARE, prepare, render, sample_factors

N = 64


def faces(seed=0, n=N, **fixed):
    """Factors for `n` random faces (nuisances included), with `fixed` names set to one value."""
    factors = sample_factors(n, torch.Generator().manual_seed(seed))
    factors.update({name: torch.full((n,), float(value)) for name, value in fixed.items()})
    return factors


def draw(factors, **changes):
    """The faces of `factors` with `changes` applied to all, as float N x 3 x 32 x 32 in 0..255."""
    n = len(factors["head_turn"])
    return render({**factors, **{k: torch.full((n,), float(v)) for k, v in changes.items()}}).float()


def luminance(images):
    return images.mean(dim=1)  # N x H x W


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("faces") / "faces.h5"
    prepare(path, seed=3, n_train=400)
    return path


def test_file_layout_shapes_and_dtypes(small_file):
    info = read_info(small_file)
    assert info.dataset == "synthetic_cartoon_faces" and info.synthetic and info.source == "synthetic"
    assert "CelebA" in info.description and "not photographs" in info.description
    assert info.splits == {"train": (400, 3, 32, 32)}
    split = read_split(small_file)
    assert split.images.dtype == np.uint8 and split.labels is None
    assert split.factors.shape == (400, len(FACTOR_NAMES)) and split.factors.dtype == np.float32
    assert split.factor_names == FACTOR_NAMES
    assert FACTOR_NAMES[:4] == ["head_turn", "glasses", "hair_amount", "smile"]


def test_factors_lie_in_their_declared_ranges(small_file):
    split = read_split(small_file)
    for column, name in enumerate(split.factor_names):
        low, high = FACTOR_RANGES[name]
        values = split.factors[:, column]
        assert values.min() >= low and values.max() <= high, name
        if name.startswith("background"):
            assert values.max() - values.min() > 0.5, f"{name} should vary"
        elif name != "glasses":
            assert values.max() - values.min() > 0.9 * (high - low), f"{name} should cover its range"
    glasses = split.factors[:, FACTOR_NAMES.index("glasses")]
    assert set(np.unique(glasses)) == {0.0, 1.0}
    assert abs(glasses.mean() - GLASSES_SHARE) < 0.07


def test_same_seed_same_bytes_other_seed_other_images(tmp_path, small_file):
    prepare(tmp_path / "again.h5", seed=3, n_train=400)
    prepare(tmp_path / "other.h5", seed=4, n_train=400)
    first, again, other = (read_split(p) for p in (small_file, tmp_path / "again.h5", tmp_path / "other.h5"))
    assert np.array_equal(first.images, again.images) and np.array_equal(first.factors, again.factors)
    assert not np.array_equal(first.images, other.images)


def test_images_are_a_function_of_the_stored_factors(small_file):
    split = read_split(small_file)
    stored = {name: torch.from_numpy(split.factors[:50, i]) for i, name in enumerate(split.factor_names)}
    assert np.array_equal(render(stored).numpy(), split.images[:50])


def test_edges_are_antialiased():
    images = draw(faces(0))
    values = images.flatten()
    assert len(values.unique()) > 200
    # Half a pixel of shift moves every edge by a fraction of a pixel: many pixels change, none jump by much.
    shifted = draw(faces(0), shift_x=0.5) - draw(faces(0), shift_x=0.0)
    assert (shifted.abs() > 0).float().mean() > 0.1


def test_glasses_darken_the_eye_band_and_nothing_else():
    factors = faces(1, glasses=0)
    without, with_glasses = draw(factors), draw(factors, glasses=1)
    change = (luminance(with_glasses) - luminance(without))
    eye_band = slice(11, 23)  # eyes at row 16, +-1.5 px shift, +-8 % scale, lenses +-2 px
    assert (change[:, eye_band].mean(dim=(1, 2)) < -4).all()
    assert change[:, :9].abs().max() == 0 and change[:, 25:].abs().max() == 0


def mouth_curve(images):
    """How far (rows, N) the darkest line below the nose lies lower in the mouth's middle than
    near its corners: positive for a smile, negative for a frown (rows run downwards)."""
    def line_row(columns):
        return luminance(images)[:, 21:28, columns].argmin(dim=1).float().mean(dim=1)

    return line_row([15, 16]) - line_row([13, 18])


def test_smile_curves_the_mouth_and_changes_only_the_mouth_region():
    factors = faces(2, head_turn=0, scale=1, shift_x=0, shift_y=0, glasses=0, skin_tone=0.3)
    stern, neutral, happy = (draw(factors, smile=s) for s in (-1, 0, 1))
    change = (happy - stern).abs()
    assert change[:, :, :19].max() == 0, "eyes, hair and forehead must not change"
    assert (change[:, :, 21:29, 10:22].mean(dim=(1, 2, 3)) > 5).all()
    curve = [mouth_curve(images) for images in (stern, neutral, happy)]
    assert (curve[0] < 0).all(), "a stern mouth's corners hang below its middle"
    assert (curve[1] == 0).all(), "a neutral mouth is straight"
    assert (curve[2] > 0).all(), "a smile's corners rise above its middle"
    assert (luminance(happy)[:, 22:27, 13:19].amax(dim=(1, 2)) > luminance(stern)[:, 22:27, 13:19].amax(dim=(1, 2))).all(), \
        "a smile shows teeth"


def test_hair_amount_grows_hair_around_the_face_and_leaves_its_middle_alone():
    # Black hair on a light backdrop.
    factors = faces(3, head_turn=0, glasses=0, hair_colour=0, background_red=0.8, background_green=0.8, background_blue=0.8)
    amounts = torch.linspace(0, 1, 5)
    images = [draw(factors, hair_amount=float(a)) for a in amounts]
    bald = luminance(images[0])
    changed = torch.stack([((luminance(image) - bald).abs() > 10).float().sum(dim=(1, 2)) for image in images])
    assert (changed.diff(dim=0) > 0).all(), "more hair changes more pixels, for every face"
    assert (images[-1] - images[0])[:, :, 12:24, 12:20].abs().max() == 0, "the middle of the face is not hair"
    # Long black hair darkens the lower sides, where a bald head shows background.
    lower_sides = torch.cat([luminance(image)[:, 24:31, [3, 4, 5, 26, 27, 28]].flatten(1) for image in (images[0], images[-1])])
    bald_sides, long_sides = lower_sides[:N], lower_sides[N:]
    assert (long_sides.mean(dim=1) < bald_sides.mean(dim=1) - 80).all()
    # A bald crown shows skin; any hair covers the top of the head.
    crown = (slice(3, 6), slice(14, 18))
    skin_top, hair_top = (luminance(image)[:, crown[0], crown[1]].mean(dim=(1, 2)) for image in (images[0], images[2]))
    assert (hair_top < skin_top - 30).all()


def test_head_turn_moves_the_features_sideways_and_narrows_the_face():
    factors = faces(4, hair_amount=0, glasses=0, smile=0, skin_tone=0, scale=1, shift_x=0, shift_y=0,
                    background_red=0.2, background_green=0.3, background_blue=0.9)
    columns = torch.arange(32.0)
    centres, widths = [], []
    for turn in (-1, -0.5, 0, 0.5, 1):
        image = draw(factors, head_turn=turn)
        features = (200 - luminance(image)[:, 12:28, 8:24]).clamp(min=0) ** 2  # eyes, brows, nose and mouth
        centres.append((features.sum(dim=1) * columns[8:24]).sum(dim=1) / features.sum(dim=(1, 2)))
        background = image[:, :, 0, 0].view(-1, 3, 1)
        face_row = (image[:, :, 10, :] - background).abs().sum(dim=1) > 60  # row 10: forehead, above the ears
        widths.append(face_row.float().sum(dim=1))
    centres = torch.stack(centres)
    assert (centres.diff(dim=0) > 0.4).all(), "features move right as head_turn grows"
    assert (centres[-1] - centres[0] > 3).all()
    assert (widths[0] < widths[2]).all() and (widths[-1] < widths[2]).all(), "a turned face is narrower"
