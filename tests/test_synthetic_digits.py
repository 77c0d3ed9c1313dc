"""Behavioural tests of the synthetic digits: layout, reproducibility, and that each style
factor changes the drawing the way its name says, while the digit stays MNIST-like."""

import inspect

import numpy as np
import pytest
import torch

from infogan.data.hdf5 import read_info, read_split
from infogan.data.real import mnist
from infogan.data.synthetic.synthetic_digits import FACTOR_NAMES, FACTOR_RANGES, prepare, render

DIGITS = torch.arange(10)
UPRIGHT = dict(rotation_degrees=0.0, width_scale=1.0, stroke_width_px=3.0, elastic_strength=0.0)


def draw(**changes):
    """All ten digits, undistorted, with UPRIGHT's factors except `changes`; float N x 28 x 28."""
    return render(DIGITS, **{**UPRIGHT, **changes})[:, 0].float()


def moments(images):
    """Centre of mass (x, y) and central second moments xx, yy, xy of each image, in pixels."""
    ys, xs = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    mass = images.sum(dim=(1, 2))
    cx, cy = (images * xs).sum(dim=(1, 2)) / mass, (images * ys).sum(dim=(1, 2)) / mass
    dx, dy = xs - cx.view(-1, 1, 1), ys - cy.view(-1, 1, 1)
    second = [(images * a * b).sum(dim=(1, 2)) / mass for a, b in ((dx, dx), (dy, dy), (dx, dy))]
    return cx, cy, *second


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("synthetic") / "digits.h5"
    prepare(path, seed=3, n_train=300, n_test=100)
    return path


def test_file_layout_shapes_and_dtypes(small_file):
    info = read_info(small_file)
    assert info.dataset == "synthetic_digits" and info.synthetic
    assert "MNIST" in info.description
    for name, n in (("train", 300), ("test", 100)):
        split = read_split(small_file, name)
        assert split.images.shape == (n, 1, 28, 28) and split.images.dtype == np.uint8
        assert split.labels.dtype == np.int64 and set(split.labels) <= set(range(10))
        assert split.factors.shape == (n, len(FACTOR_NAMES)) and split.factors.dtype == np.float32
        assert split.factor_names == FACTOR_NAMES
        assert split.images.max() == 255 and split.images.min() == 0
        grey = (split.images > 0) & (split.images < 255)
        assert grey.sum() > 0.3 * (split.images > 0).sum(), "edges should be anti-aliased"


def test_by_default_the_splits_are_as_large_as_mnists():
    """The stand-in replaces MNIST: by default it has MNIST's 60,000 + 10,000 images (the
    suite's files are smaller; this is what a user's `infogan prepare synthetic_digits` makes)."""
    defaults = {name: p.default for name, p in inspect.signature(prepare).parameters.items()}
    assert {"train": defaults["n_train"], "test": defaults["n_test"]} == mnist.SPLIT_SIZES


def test_factors_lie_in_their_declared_ranges(small_file):
    split = read_split(small_file, "train")
    for column, name in enumerate(split.factor_names):
        low, high = FACTOR_RANGES[name]
        values = split.factors[:, column]
        assert values.min() >= low and values.max() <= high
        assert values.max() - values.min() > 0.8 * (high - low), f"{name} should cover its range"


def test_labels_are_balanced(small_file):
    counts = np.bincount(read_split(small_file, "train").labels, minlength=10)
    assert counts.max() - counts.min() <= 1


def test_same_seed_same_bytes_other_seed_other_images(tmp_path, small_file):
    prepare(tmp_path / "again.h5", seed=3, n_train=300, n_test=100)
    prepare(tmp_path / "other.h5", seed=4, n_train=300, n_test=100)
    for name in ("train", "test"):
        first, again = read_split(small_file, name), read_split(tmp_path / "again.h5", name)
        other = read_split(tmp_path / "other.h5", name)
        assert np.array_equal(first.images, again.images) and np.array_equal(first.factors, again.factors)
        assert np.array_equal(first.labels, again.labels)
        assert not np.array_equal(first.images, other.images)


def test_splits_use_independent_streams(tmp_path, small_file):
    prepare(tmp_path / "bigger_train.h5", seed=3, n_train=500, n_test=100)
    assert np.array_equal(read_split(small_file, "test").images, read_split(tmp_path / "bigger_train.h5", "test").images)
    prepare(tmp_path / "equal_sizes.h5", seed=3, n_train=100, n_test=100)
    train, test = (read_split(tmp_path / "equal_sizes.h5", name) for name in ("train", "test"))
    assert not np.array_equal(train.factors, test.factors)


def test_thicker_stroke_means_more_ink_for_every_digit():
    ink = torch.stack([draw(stroke_width_px=w).sum(dim=(1, 2)) for w in np.linspace(2.0, 4.5, 6)])
    assert (ink.diff(dim=0) > 0).all()


def test_wider_glyph_has_larger_horizontal_spread_and_same_height():
    spreads, heights = [], []
    for width in (0.65, 0.9, 1.1, 1.3):
        images = draw(width_scale=width)
        spreads.append(moments(images)[2])
        heights.append((images > 127).any(dim=2).sum(dim=1))
    assert (torch.stack(spreads).diff(dim=0) > 0).all()
    assert all(((h >= 18) & (h <= 21)).all() for h in heights), "the box fit keeps the height near 20 px"


def test_wider_glyph_keeps_its_vertical_stroke_width():
    """The pen is round: narrowing a "1" must not thin its stem (ink per row stays put)."""
    stem_ink = [draw(width_scale=w)[1, 10:18].sum(dim=1).mean() / 255 for w in (0.65, 1.3)]
    assert abs(stem_ink[0] - stem_ink[1]) < 0.25 * stem_ink[1]


def test_rotation_turns_the_slant_from_left_to_right():
    """Rows run downwards, so a top leaning right gives a negative x-y moment."""
    slant = torch.stack([moments(draw(rotation_degrees=angle))[4] for angle in (-20.0, 0.0, 20.0)])
    assert (slant[0] > 0).all() and (slant[2] < 0).all()
    assert (slant[0] > slant[1]).all() and (slant[1] > slant[2]).all()


def test_elastic_distortion_is_random_and_grows_with_strength():
    plain = draw()
    assert torch.equal(render(DIGITS, **UPRIGHT, generator=torch.Generator().manual_seed(1)).float()[:, 0], plain)
    change = []
    for strength in (0.02, 0.05):
        first, second = (
            render(DIGITS, **{**UPRIGHT, "elastic_strength": strength}, generator=torch.Generator().manual_seed(s))
            for s in (1, 2)
        )
        assert not torch.equal(first, second)
        change.append((first[:, 0].float() - plain).abs().mean())
    assert 0 < change[0] < change[1]


def test_digits_are_centred_by_mass_and_not_clipped():
    generator = torch.Generator().manual_seed(0)
    n = 500
    factors = {name: low + (high - low) * torch.rand(n, generator=generator) for name, (low, high) in FACTOR_RANGES.items()}
    images = render(torch.arange(n) % 10, **factors, generator=generator)[:, 0].float()
    cx, cy, *_ = moments(images)
    assert ((cx - 13.5).abs() < 1.5).all() and ((cy - 13.5).abs() < 1.5).all()
    extreme = dict(width_scale=1.3, stroke_width_px=4.5, elastic_strength=0.0)
    for angle in (-22.0, 22.0):
        drawn = draw(rotation_degrees=angle, **extreme)
        border = torch.cat([drawn[:, 0], drawn[:, -1], drawn[:, :, 0], drawn[:, :, -1]], dim=1)
        assert border.max() < 32
