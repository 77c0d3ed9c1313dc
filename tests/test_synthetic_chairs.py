"""Behavioural tests of the synthetic chairs: layout, reproducibility, and that pose and each
shape factor change the rendered chair the way their names say."""

import numpy as np
import pytest
import torch

from infogan.data.hdf5 import read_info, read_split
from infogan.data.synthetic.synthetic_chairs import (
    AZIMUTHS_DEG,
    CHAIR_TYPES,
    ELEVATIONS_DEG,
    FACTOR_NAMES,
    FACTOR_RANGES,
    prepare,
    render,
)

TYPES = range(len(CHAIR_TYPES))
MIDDLE = dict(width=1.15, back_height=0.95, leg_length=0.8, azimuth_deg=0.0, elevation_deg=20.0)


def draw(chair_type, **changes):
    """Chairs of one type with MIDDLE's factors except `changes` (which may be sequences)."""
    return render(chair_type, **{**MIDDLE, **changes})


def silhouette(images, threshold=0.9):
    """The chair's pixels (the background is white)."""
    return images < threshold


def extents(images):
    """Horizontal and vertical extent of each chair, in pixels, as summed column (row)
    maxima of its coverage: sub-pixel (anti-aliased edges count in part), so small changes show."""
    darkness = ((1 - images) / 0.15).clamp(0, 1)  # any chair pixel counts fully, edges in part
    return darkness.amax(dim=1).sum(dim=1), darkness.amax(dim=2).sum(dim=1)


def upper_width(images, share=0.6):
    """Horizontal extent of the top `share` of each chair's rows (back rest, arms and seat;
    not the office chair's base, which is wider than a narrow seat)."""
    coverage = ((1 - images) / 0.15).clamp(0, 1)
    widths = []
    for image in coverage:
        rows = torch.nonzero(image.amax(dim=1) > 0.5).squeeze(1)
        top = rows.min() + int(share * (rows.max() - rows.min()))
        widths.append(image[: top + 1].amax(dim=0).sum())
    return torch.stack(widths)


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("synthetic") / "chairs.h5"
    prepare(path, seed=3, n_train=400, n_test=80)
    return path


def test_file_layout_shapes_and_dtypes(small_file):
    info = read_info(small_file)
    assert info.dataset == "synthetic_chairs" and info.synthetic and info.source == "synthetic"
    assert "3D Chairs" in info.description and "not real" in info.description
    for name, n in (("train", 400), ("test", 80)):
        split = read_split(small_file, name)
        assert split.images.shape == (n, 1, 64, 64) and split.images.dtype == np.uint8
        assert split.labels.dtype == np.int64 and set(split.labels) == set(TYPES)
        assert split.factors.shape == (n, len(FACTOR_NAMES)) and split.factors.dtype == np.float32
        assert split.factor_names == FACTOR_NAMES
        corners = split.images[:, 0, [0, 0, -1, -1], [0, -1, 0, -1]]
        assert (corners == 255).all(), "chairs are drawn on white"
        assert (split.images.reshape(n, -1).min(axis=1) < 110).all(), "every image holds a dark chair"
        grey = (split.images > 0) & (split.images < 255)
        assert grey.sum() > 0.2 * (split.images < 255).sum(), "edges should be anti-aliased"


def test_factors_lie_in_their_ranges_and_pose_uses_the_real_views(small_file):
    split = read_split(small_file, "train")
    factors = dict(zip(split.factor_names, split.factors.T))
    for name, (low, high) in FACTOR_RANGES.items():
        assert factors[name].min() >= low and factors[name].max() <= high
    for name in ("width", "back_height", "leg_length"):
        low, high = FACTOR_RANGES[name]
        assert factors[name].max() - factors[name].min() > 0.9 * (high - low), f"{name} should cover its range"
    nearest_view = np.abs(factors["azimuth_deg"][:, None] - np.array(AZIMUTHS_DEG)[None]).argmin(axis=1)
    assert np.allclose(factors["azimuth_deg"], np.array(AZIMUTHS_DEG)[nearest_view], atol=1e-4)
    assert len(np.unique(nearest_view)) == 31
    assert set(np.unique(factors["elevation_deg"])) == set(ELEVATIONS_DEG)
    radians = np.deg2rad(factors["azimuth_deg"])
    assert np.allclose(factors["azimuth_sin"], np.sin(radians), atol=1e-5)
    assert np.allclose(factors["azimuth_cos"], np.cos(radians), atol=1e-5)


def test_labels_are_balanced(small_file):
    counts = np.bincount(read_split(small_file, "train").labels, minlength=len(CHAIR_TYPES))
    assert counts.max() - counts.min() <= 1


def test_same_seed_same_bytes_other_seed_other_images(tmp_path, small_file):
    prepare(tmp_path / "again.h5", seed=3, n_train=400, n_test=80)
    prepare(tmp_path / "other.h5", seed=4, n_train=400, n_test=80)
    for name in ("train", "test"):
        first, again = read_split(small_file, name), read_split(tmp_path / "again.h5", name)
        other = read_split(tmp_path / "other.h5", name)
        assert np.array_equal(first.images, again.images) and np.array_equal(first.factors, again.factors)
        assert np.array_equal(first.labels, again.labels)
        assert not np.array_equal(first.images, other.images)


def test_test_split_does_not_depend_on_the_train_size(tmp_path, small_file):
    prepare(tmp_path / "bigger_train.h5", seed=3, n_train=500, n_test=80)
    assert np.array_equal(read_split(small_file, "test").images, read_split(tmp_path / "bigger_train.h5", "test").images)


def test_continuous_azimuth_option(tmp_path):
    prepare(tmp_path / "uniform.h5", seed=0, n_train=100, n_test=10, azimuth_grid=False)
    azimuth = read_split(tmp_path / "uniform.h5").factors[:, FACTOR_NAMES.index("azimuth_deg")]
    assert len(np.unique(azimuth)) == 100 and azimuth.min() >= 0 and azimuth.max() < 360


@pytest.mark.parametrize("chair_type", TYPES)
def test_wider_seat_gives_a_wider_silhouette_from_the_front(chair_type):
    images = draw(chair_type, width=torch.linspace(0.8, 1.5, 6))
    widths, heights = upper_width(images), extents(images)[1]
    assert (widths.diff() > 0.5).all()
    assert widths[-1] > 1.4 * widths[0]
    assert (heights.max() - heights.min()) < 2.5, "width should not change the height"


@pytest.mark.parametrize("chair_type", TYPES)
def test_back_height_and_leg_length_make_the_chair_taller(chair_type):
    _, by_back = extents(draw(chair_type, back_height=torch.linspace(0.6, 1.3, 5)))
    _, by_legs = extents(draw(chair_type, leg_length=torch.linspace(0.5, 1.1, 5)))
    assert (by_back.diff() > 0.5).all() and (by_legs.diff() > 0.5).all()


@pytest.mark.parametrize("chair_type", TYPES)
def test_mirrored_azimuths_give_mirrored_silhouettes(chair_type):
    """Chairs are left-right symmetric: the view from azimuth a is the mirror image of the view
    from -a (the studio light is not mirrored, so compare silhouettes)."""
    azimuths = torch.tensor(AZIMUTHS_DEG[1:8])
    turned = silhouette(draw(chair_type, azimuth_deg=azimuths))
    mirrored = silhouette(draw(chair_type, azimuth_deg=360 - azimuths)).flip(dims=[2])
    mismatch = (turned != mirrored).sum(dim=(1, 2)).float() / turned.sum(dim=(1, 2))
    assert (mismatch < 0.03).all()
    frontal = silhouette(draw(chair_type))
    assert (frontal != frontal.flip(dims=[2])).sum() < 0.03 * frontal.sum(), "the frontal view is symmetric"
    assert ((turned != frontal).sum(dim=(1, 2)) > 0.1 * frontal.sum()).all(), "turning changes the silhouette"


def test_azimuth_turns_the_chair_to_show_its_left_side():
    """The office chair's back rest sits at -z: from azimuth +90 (camera at the chair's left,
    +x) the back is on the image's right, from -90 on its left."""
    side = draw(3, azimuth_deg=torch.tensor([90.0, 270.0]), elevation_deg=20.0, back_height=1.3)
    upper = silhouette(side[:, :24]).float()
    columns = torch.arange(64.0)
    centre = (upper.sum(dim=1) * columns).sum(dim=1) / upper.sum(dim=(1, 2))
    assert centre[0] > 34 and centre[1] < 29


def test_a_wide_chair_is_wider_from_the_front_than_from_the_side():
    widths = upper_width(draw(0, width=1.5, azimuth_deg=torch.tensor([0.0, 90.0])))
    assert widths[0] > 1.15 * widths[1]  # the side view adds the back rest's lean to the depth


def test_elevation_shows_more_of_the_seat_from_higher_up():
    """Seen from higher, the seat's top covers more rows between the back rest and the front."""
    images = draw(0, elevation_deg=torch.tensor([20.0, 30.0]), azimuth_deg=0.0)
    assert not torch.equal(images[0], images[1])
    seat_rows = ((images > 0.3) & (images < 0.9)).float().sum(dim=(1, 2))
    assert seat_rows[1] > seat_rows[0]


def test_chair_types_look_different():
    images = torch.cat([draw(t) for t in TYPES])
    for a in TYPES:
        for b in TYPES:
            if a < b:
                assert (silhouette(images[a]) != silhouette(images[b])).sum() > 100


def test_extreme_chairs_stay_inside_the_frame():
    for chair_type in TYPES:
        images = render(chair_type, width=1.5, back_height=1.3, leg_length=1.1, azimuth_deg=torch.tensor(AZIMUTHS_DEG), elevation_deg=30.0)
        border = torch.cat([images[:, 0], images[:, -1], images[:, :, 0], images[:, :, -1]], dim=1)
        assert (border > 0.97).all()
