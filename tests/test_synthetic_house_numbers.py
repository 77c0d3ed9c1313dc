"""Behavioural tests of the synthetic house numbers: layout, reproducibility, and that the
lighting, context and colour factors change the crops the way their names say."""

import numpy as np
import pytest
import torch

from infogan.data.hdf5 import read_info, read_split
from infogan.data.synthetic.synthetic_house_numbers import (
    DISCRETE_FACTORS,
    FACTOR_NAMES,
    FACTOR_RANGES,
    STYLE_FACTORS,
    prepare,
    render,
)

DIGITS = torch.arange(10)
NONE = torch.full((10,), -1)
EIGHTS = torch.full((10,), 8)
PLAIN = {
    "lighting": 0.8, "light_gradient": 0.0, "light_direction": 0.0, "background_hue": 0.1,
    "background_saturation": 0.2, "digit_hue": 0.6, "digit_saturation": 0.2, "contrast": 0.6,
    "contrast_inverted": 0.0, "digit_scale": 0.7, "shift_x": 0.0, "shift_y": 0.0, "rotation_degrees": 0.0,
    "width_scale": 1.0, "stroke_width_px": 3.5, "digit_spacing": 0.15, "blur_sigma": 0.5, "noise_std": 0.0,
}


def draw(left=NONE, right=NONE, **changes):
    """The ten digits as crops with PLAIN's factors except `changes`, the same stain every call;
    float N x 3 x 32 x 32 in [0, 255], and which neighbours show."""
    images, visible = render(DIGITS, left, right, generator=torch.Generator().manual_seed(0), **{**PLAIN, **changes})
    return images.float(), visible


def brightness(images):
    return images.mean(dim=(1, 2, 3))


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("synthetic") / "house_numbers.h5"
    prepare(path, seed=3, n_train=600, n_test=200)
    return path


def test_style_factors_are_the_stored_ones_the_render_takes():
    assert set(PLAIN) == set(STYLE_FACTORS) and set(STYLE_FACTORS) <= set(FACTOR_NAMES)
    assert set(FACTOR_NAMES) - set(STYLE_FACTORS) == {"neighbours", "left_digit", "right_digit"}


def test_file_layout_shapes_and_dtypes(small_file):
    info = read_info(small_file)
    assert info.dataset == "synthetic_house_numbers" and info.synthetic and info.source == "synthetic"
    assert "SVHN" in info.description and "Not SVHN" in info.description
    assert info.raw_checksums == {}
    for name, n in (("train", 600), ("test", 200)):
        split = read_split(small_file, name)
        assert split.images.shape == (n, 3, 32, 32) and split.images.dtype == np.uint8
        assert split.labels.dtype == np.int64 and set(split.labels) == set(range(10))
        assert split.factors.shape == (n, len(FACTOR_NAMES)) and split.factors.dtype == np.float32
        assert split.factor_names == FACTOR_NAMES
        colourful = np.abs(split.images.astype(int) - split.images.mean(axis=1, keepdims=True)).mean(axis=(1, 2, 3))
        assert (colourful > 5).mean() > 0.3, "many crops should be coloured, not grey"


def test_factors_lie_in_their_declared_ranges(small_file):
    split = read_split(small_file, "train")
    for column, name in enumerate(split.factor_names):
        low, high = FACTOR_RANGES[name]
        values = split.factors[:, column]
        assert values.min() >= low and values.max() <= high, name
        if name in DISCRETE_FACTORS:
            assert set(np.unique(values)) == set(range(int(low), int(high) + 1)), f"{name} should take every value"
        else:
            assert values.max() - values.min() > 0.8 * (high - low), f"{name} should cover its range"


def test_neighbour_factors_agree_and_every_context_occurs(small_file):
    split = read_split(small_file, "train")
    column = {name: split.factors[:, i] for i, name in enumerate(split.factor_names)}
    assert np.array_equal(column["neighbours"], (column["left_digit"] >= 0).astype(int) + (column["right_digit"] >= 0))
    counts = np.bincount(column["neighbours"].astype(int), minlength=3)
    assert (counts > 0.05 * len(split.labels)).all(), f"no, one and two neighbours should all be common: {counts}"
    assert 0.2 < column["contrast_inverted"].mean() < 0.5


def test_labels_are_balanced(small_file):
    counts = np.bincount(read_split(small_file, "train").labels, minlength=10)
    assert counts.max() - counts.min() <= 1


def test_same_seed_same_bytes_other_seed_other_images(tmp_path, small_file):
    prepare(tmp_path / "again.h5", seed=3, n_train=600, n_test=200)
    prepare(tmp_path / "other.h5", seed=4, n_train=600, n_test=200)
    for name in ("train", "test"):
        first, again = read_split(small_file, name), read_split(tmp_path / "again.h5", name)
        other = read_split(tmp_path / "other.h5", name)
        assert np.array_equal(first.images, again.images) and np.array_equal(first.factors, again.factors)
        assert np.array_equal(first.labels, again.labels)
        assert not np.array_equal(first.images, other.images)


def test_test_split_does_not_depend_on_train_size(tmp_path, small_file):
    prepare(tmp_path / "bigger_train.h5", seed=3, n_train=700, n_test=200)
    assert np.array_equal(read_split(small_file, "test").images, read_split(tmp_path / "bigger_train.h5", "test").images)


def test_lighting_raises_mean_brightness_of_every_crop():
    means = torch.stack([brightness(draw(lighting=level)[0]) for level in (0.3, 0.5, 0.7, 0.9)])
    assert (means.diff(dim=0) > 10).all()


def test_lighting_factor_predicts_brightness_across_the_dataset(small_file):
    split = read_split(small_file, "train")
    lighting = split.factors[:, FACTOR_NAMES.index("lighting")]
    mean = split.images.mean(axis=(1, 2, 3))
    assert np.corrcoef(lighting, mean)[0, 1] > 0.6


def test_light_gradient_brightens_the_side_it_points_to():
    def right_minus_left(images):
        return images[..., 16:].mean(dim=(1, 2, 3)) - images[..., :16].mean(dim=(1, 2, 3))

    flat = right_minus_left(draw()[0])
    rightwards = right_minus_left(draw(light_gradient=0.4, light_direction=0.0)[0])
    leftwards = right_minus_left(draw(light_gradient=0.4, light_direction=np.pi)[0])
    assert (rightwards - flat > 15).all() and (flat - leftwards > 15).all()


def test_neighbours_show_at_the_edges_only_when_present():
    alone, alone_visible = draw(blur_sigma=0.3)
    both, both_visible = draw(left=EIGHTS, right=EIGHTS, blur_sigma=0.3)
    assert not alone_visible.any() and both_visible.all()
    grey_alone, grey_both = alone.mean(dim=1), both.mean(dim=1)
    plate = grey_alone.flatten(1).median(dim=1).values
    digit = grey_alone[:, 8:24, 12:20].amin(dim=(1, 2))
    halfway = ((plate + digit) / 2).view(10, 1, 1)
    for edge in (slice(0, 2), slice(30, 32)):
        assert (grey_alone[:, :, edge] > halfway).all(), "without neighbours the edge columns are plate"
        assert (grey_both[:, :, edge] < halfway).any(dim=(1, 2)).all(), "an 8 beside each digit puts ink at both edges"
    _, one_side = draw(left=EIGHTS, right=NONE, digit_scale=0.55, digit_spacing=0.05)
    assert one_side[:, 0].all() and not one_side[:, 1].any()


def test_far_neighbour_outside_the_crop_does_not_count():
    _, visible = draw(left=EIGHTS, right=EIGHTS, digit_scale=0.8, digit_spacing=2.0)
    assert not visible.any()


def test_inverted_contrast_gives_light_digits_on_a_dark_plate():
    for inverted in (0.0, 1.0):
        images, _ = draw(contrast_inverted=inverted, background_saturation=0.0, digit_saturation=0.0)
        plate = images[:, :, :, :3].mean(dim=(1, 2, 3))
        centre = images[:, :, 8:24, 12:20]
        if inverted:
            assert (plate < 100).all() and (centre.amax(dim=(1, 2, 3)) > plate + 60).all()
        else:
            assert (plate > 150).all() and (centre.amin(dim=(1, 2, 3)) < plate - 60).all()


def test_larger_digit_scale_covers_more_of_the_crop():
    def ink_pixels(images):
        plate = images[:, :, :, :2].mean(dim=(2, 3), keepdim=True)
        return ((images - plate).abs().amax(dim=1) > 40).sum(dim=(1, 2))

    small, large = (ink_pixels(draw(digit_scale=scale)[0]) for scale in (0.55, 0.8))
    assert (large > 1.3 * small).all()


def test_noise_and_blur_change_the_crop():
    plain = draw()[0]
    noisy = draw(noise_std=0.03)[0]
    blurred = draw(blur_sigma=1.2)[0]
    assert 4 < (noisy - plain).std() < 12
    steepest = [(images[..., 1:] - images[..., :-1]).abs().amax(dim=(1, 2, 3)) for images in (plain, blurred)]
    assert (steepest[1] < 0.8 * steepest[0]).all()
