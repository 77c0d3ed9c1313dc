"""Behavioural tests of the synthetic heads: layout, reproducibility, and that pose, light and
shape factors change the rendered head the way their names say."""

import numpy as np
import pytest
import torch

from infogan.data.hdf5 import read_info, read_split
from infogan.data.synthetic.synthetic_heads import FACTOR_NAMES, FACTOR_RANGES, prepare, render

# Frontal head lit from the camera: symmetric, so any asymmetry comes from the factor under test.
FRONTAL = dict(azimuth=0.0, elevation=0.0, light_azimuth=0.0, light_elevation=0.0, width=1.0, face_length=1.0, nose_size=1.0)


def draw(**changes):
    """Heads with FRONTAL's factors except `changes` (which may be sequences); (B, 32, 32)."""
    return render(**{**FRONTAL, **changes})


def silhouette(images):
    """The head's pixels (the background is black)."""
    return images > 0.03


def coverage(images):
    """Anti-aliased silhouette in [0, 1]: sub-pixel, so small changes show."""
    return (images / 0.1).clamp(0, 1)


def leftmost(mask, rows):
    """Leftmost silhouette column within `rows`, per image."""
    columns = torch.arange(mask.shape[2]).expand_as(mask[:, rows])
    return torch.where(mask[:, rows], columns, 99).amin(dim=(1, 2))


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("synthetic") / "heads.h5"
    prepare(path, seed=3, n_train=400, n_test=80)
    return path


def test_file_layout_shapes_and_dtypes(small_file):
    info = read_info(small_file)
    assert info.dataset == "synthetic_heads" and info.synthetic and info.source == "synthetic"
    assert "3D Faces" in info.description and "not Basel" in info.description
    for name, n in (("train", 400), ("test", 80)):
        split = read_split(small_file, name)
        assert split.images.shape == (n, 1, 32, 32) and split.images.dtype == np.uint8
        assert split.labels is None
        assert split.factors.shape == (n, len(FACTOR_NAMES)) and split.factors.dtype == np.float32
        assert split.factor_names == FACTOR_NAMES
        corners = split.images[:, 0, [0, 0, -1, -1], [0, -1, 0, -1]]
        assert (corners == 0).all(), "heads are drawn on black"
        assert (split.images.reshape(n, -1).max(axis=1) > 60).all(), "every image holds a lit head"


def test_factors_lie_in_and_cover_their_ranges(small_file):
    split = read_split(small_file, "train")
    for column, name in enumerate(split.factor_names):
        low, high = FACTOR_RANGES[name]
        values = split.factors[:, column]
        assert values.min() >= low and values.max() <= high
        assert values.max() - values.min() > 0.9 * (high - low), f"{name} should cover its range"
    assert abs(np.corrcoef(split.factors.T)[np.triu_indices(len(FACTOR_NAMES), 1)]).max() < 0.2, "factors are independent"


def test_same_seed_same_bytes_other_seed_other_images(tmp_path, small_file):
    prepare(tmp_path / "again.h5", seed=3, n_train=400, n_test=80)
    prepare(tmp_path / "other.h5", seed=4, n_train=400, n_test=80)
    for name in ("train", "test"):
        first, again = read_split(small_file, name), read_split(tmp_path / "again.h5", name)
        other = read_split(tmp_path / "other.h5", name)
        assert np.array_equal(first.images, again.images) and np.array_equal(first.factors, again.factors)
        assert not np.array_equal(first.images, other.images)


def test_test_split_does_not_depend_on_the_train_size(tmp_path, small_file):
    prepare(tmp_path / "bigger_train.h5", seed=3, n_train=500, n_test=80)
    assert np.array_equal(read_split(small_file, "test").images, read_split(tmp_path / "bigger_train.h5", "test").images)


def test_mirrored_azimuths_give_mirrored_heads():
    azimuths = torch.tensor([20.0, 45.0, 70.0, 90.0])
    turned, mirrored = draw(azimuth=azimuths), draw(azimuth=-azimuths).flip(dims=[2])
    assert ((turned - mirrored).abs().mean(dim=(1, 2)) < 0.02).all()
    assert ((turned - draw()).abs().mean(dim=(1, 2)) > 0.05).all(), "turning changes the image"
    frontal = draw()
    assert (frontal - frontal.flip(dims=[2])).abs().mean() < 0.01


def test_positive_azimuth_points_the_nose_to_the_image_left():
    """In profile the nose sticks out beyond the forehead, on the side the face looks to."""
    masks = silhouette(draw(azimuth=torch.tensor([90.0, -90.0])))
    nose_rows, forehead_rows = slice(15, 20), slice(7, 11)
    assert leftmost(masks[:1], nose_rows) < leftmost(masks[:1], forehead_rows) - 1
    flipped = masks[1:].flip(dims=[2])
    assert leftmost(flipped, nose_rows) < leftmost(flipped, forehead_rows) - 1


def nose_centre(**changes):
    """Where the nose is in the image: the centroid (x, y) of what changes when only the nose's
    size changes, per image."""
    difference = (draw(**changes, nose_size=1.4) - draw(**changes, nose_size=0.6)).abs()
    axis = torch.arange(32.0)
    mass = difference.sum(dim=(1, 2))
    return (difference.sum(dim=1) * axis).sum(dim=1) / mass, (difference.sum(dim=2) * axis).sum(dim=1) / mass


def test_azimuth_moves_the_nose_from_right_to_left():
    x, y = nose_centre(azimuth=torch.linspace(-90, 90, 9))
    assert (x.diff() < 0).all() and x[0] - x[-1] > 20
    assert abs(x[4] - 15.5) < 1, "frontal: the nose is in the middle"
    assert (y - y[4]).abs().max() < 1.5, "turning about the vertical axis keeps the nose's height"


def test_light_azimuth_moves_the_bright_side():
    """Right half minus left half: grows as the light swings from left to right (from the
    exact side less of the face is lit, so only the sign is asked there)."""
    images = draw(light_azimuth=torch.tensor([-90.0, -60.0, -30.0, 0.0, 30.0, 60.0, 90.0]))
    balance = images[:, :, 16:].mean(dim=(1, 2)) - images[:, :, :16].mean(dim=(1, 2))
    assert (balance[1:-1].diff() > 0).all()
    assert balance[0] < -0.1 and balance[-1] > 0.1 and abs(balance[3]) < 0.01


def test_light_elevation_moves_the_bright_side_up():
    images = draw(light_elevation=torch.linspace(-30, 30, 5))
    balance = images[:, :14].mean(dim=(1, 2)) - images[:, 14:26].mean(dim=(1, 2))
    assert (balance.diff() > 0).all()


def test_width_widens_the_silhouette_and_keeps_its_height():
    """Mean width over the head's rows (its area above the neck over the rows) grows; the
    topmost row stays put."""
    masks = silhouette(draw(width=torch.linspace(0.8, 1.2, 5)))
    widths = masks[:, :24].sum(dim=(1, 2)) / masks[:, :24].any(dim=2).sum(dim=1)
    assert (widths.diff() > 0.5).all() and widths[-1] > 1.25 * widths[0]
    tops = masks.any(dim=2).float().argmax(dim=1)
    assert tops.max() - tops.min() <= 1


def test_face_length_makes_the_head_taller():
    top_half = coverage(draw(face_length=torch.linspace(0.9, 1.1, 5)))[:, :14].sum(dim=(1, 2))
    assert (top_half.diff() > 0).all()


def test_elevation_moves_the_nose_down_when_seen_from_above():
    x, y = nose_centre(elevation=torch.linspace(-30, 30, 7))
    assert (y.diff() > 0).all() and y[-1] - y[0] > 8
    assert (x - 15.5).abs().max() < 1


def test_nose_size_sticks_the_nose_out_further_in_profile():
    images = coverage(draw(azimuth=90.0, nose_size=torch.linspace(0.6, 1.4, 5)))
    left_of_face = images[:, 13:22, :8].sum(dim=(1, 2))
    assert (left_of_face.diff() > 0).all()


def test_extreme_heads_stay_inside_the_frame_at_the_sides():
    images = draw(azimuth=torch.tensor([-90.0, 90.0]), width=1.2, nose_size=1.4, elevation=torch.tensor([-30.0, 30.0]))
    assert (images[:, :, [0, -1]] < 0.03).all()
