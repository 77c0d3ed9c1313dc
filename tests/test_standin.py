"""The skeleton the five synthetic stand-ins share (`infogan.data.synthetic.standin`)."""

import numpy as np
import torch

from infogan.data.hdf5 import read_info, read_split
from infogan.data.synthetic import standin


def test_batches_of_each_keep_one_key_per_batch_and_cover_every_image_once():
    key = torch.tensor([2, 0, 2, 1, 0, 2, 2, 0])
    parts = standin.batches_of_each(key, batch_size=2)
    assert [key[part].unique().tolist() for part in parts] == [[0], [0], [1], [2], [2]]
    assert sorted(torch.cat(parts).tolist()) == list(range(len(key)))


def test_render_in_batches_fills_each_part_with_what_draw_returns():
    drawn = []

    def draw(part):
        drawn.append(part)
        indices = torch.arange(10)[part]
        return indices.to(torch.uint8).view(-1, 1, 1, 1).expand(-1, 1, 2, 2)

    images = standin.render_in_batches(10, (1, 2, 2), draw, batch_size=4, desc="test")
    assert drawn == [slice(0, 4), slice(4, 8), slice(8, 12)]  # in order: renderers may draw noise
    assert images[:, 0, 0, 0].tolist() == list(range(10))


def test_prepare_writes_each_split_from_its_own_stream(tmp_path):
    def generate_split(n, generator, desc):
        values = standin.uniform((0.0, 1.0), n, generator)
        images = standin.to_uint8(values).view(n, 1, 1, 1)
        return standin.as_split(images, {"value": values}, ["value"], labels=standin.balanced_labels(n, 2, generator))

    path = standin.prepare(tmp_path / "a.h5", "synthetic_test", "a test", generate_split, seed=3,
                           sizes={"train": 6, "test": 4})
    info = read_info(path)
    assert (info.source, info.dataset, info.description) == ("synthetic", "synthetic_test", "a test")
    test = read_split(path, "test")
    assert test.factor_names == ["value"] and test.factors.dtype == np.float32 and test.labels.dtype == np.int64
    assert sorted(test.labels.tolist()) == [0, 0, 1, 1]
    bigger = standin.prepare(tmp_path / "b.h5", "synthetic_test", "a test", generate_split, seed=3,
                             sizes={"train": 60, "test": 4})
    np.testing.assert_array_equal(read_split(bigger, "test").factors, test.factors)  # the train size does not matter
