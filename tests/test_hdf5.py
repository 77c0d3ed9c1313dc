"""The dataset file's own identity: each split's content digest is written with it and checked
whenever it is read, so labels or factors edited afterwards are refused, not scored."""

import h5py
import numpy as np
import pytest

from infogan.data.hdf5 import FORMAT_VERSION, Split, read_split, write_dataset
from infogan.errors import DatasetFileError


@pytest.fixture
def dataset(tmp_path):
    rng = np.random.default_rng(0)
    split = Split(images=rng.integers(0, 256, (20, 1, 8, 8), dtype=np.uint8), labels=np.arange(20) % 10,
                  factors=rng.random((20, 2), dtype=np.float32), factor_names=["a", "b"])
    path = tmp_path / "d.h5"
    write_dataset(path, dataset="tiny", source="synthetic", splits={"train": split, "test": split})
    return path


def edit(path, key, change):
    with h5py.File(path, "r+") as f:
        values = f[key][()]
        f[key][...] = change(values)


def test_an_untouched_file_reads_back_exactly(dataset):
    split = read_split(dataset, "test")
    assert split.labels.tolist() == [i % 10 for i in range(20)] and split.factor_names == ["a", "b"]
    with h5py.File(dataset) as f:
        assert f.attrs["format_version"] == FORMAT_VERSION and len(f["test"].attrs["sha256"]) == 64


@pytest.mark.parametrize("key, change", [
    ("test/labels", lambda v: np.where(np.arange(len(v)) < 4, (v + 1) % 10, v)),  # 4 labels overwritten
    ("test/labels", lambda v: np.full_like(v, -1)),
    ("test/factors", lambda v: v + 0.5),
    ("test/images", lambda v: 255 - v),
])
def test_an_edited_split_is_refused_by_name(dataset, key, change):
    edit(dataset, key, change)
    with pytest.raises(DatasetFileError, match=r"split 'test' does not match the sha256 recorded when it was written"):
        read_split(dataset, "test")
    read_split(dataset, "train")  # the other split is untouched and still reads


def test_negative_labels_are_refused_when_written(tmp_path):
    with pytest.raises(ValueError, match="labels must be 0 or more, found -1"):
        Split(images=np.zeros((2, 1, 4, 4), np.uint8), labels=np.array([0, -1]))


def test_a_file_of_the_previous_format_asks_for_prepare_again(dataset):
    with h5py.File(dataset, "r+") as f:
        f.attrs["format_version"] = FORMAT_VERSION - 1
    with pytest.raises(DatasetFileError, match=f"format version {FORMAT_VERSION - 1}, this code reads "
                                               f"{FORMAT_VERSION}; run `infogan prepare` again"):
        read_split(dataset, "train")
