"""The dataset registry: the one list the CLI, the figures and the workflow read."""

import inspect

import pytest

from infogan.data import REGISTRY, dataset, preparer
from infogan.errors import InfoganError
from infogan.figures import describe_sources


def test_every_dataset_has_a_prepare_function_and_each_stand_in_replaces_a_real_one():
    real_titles = {entry.title for entry in REGISTRY.values() if entry.real}
    assert real_titles == {"MNIST", "SVHN", "CelebA", "3D Chairs", "3D Faces"}
    for entry in REGISTRY.values():
        assert callable(preparer(entry.name))
        assert entry.title in real_titles
        assert entry.real == (not entry.name.startswith("synthetic_"))
        # Real readers and stand-ins live apart: data/real reads published files, data/synthetic draws.
        assert entry.module.startswith("infogan.data.real." if entry.real else "infogan.data.synthetic.")


def test_every_stand_in_takes_the_sizes_of_the_splits_the_registry_names():
    """`infogan prepare NAME --train-images N --test-images N` and the workflow size the splits
    the registry names (without importing the stand-in); prepare() takes n_<split> for each."""
    for entry in REGISTRY.values():
        accepted = inspect.signature(preparer(entry.name)).parameters
        sized = {name.removeprefix("n_") for name in accepted if name in ("n_train", "n_test")}
        assert sized == set(entry.sized_splits), entry.name
        if not entry.real:
            assert {"raw_dir", "seed"} <= accepted.keys() and "train" in entry.sized_splits, entry.name
    assert REGISTRY["synthetic_cartoon_faces"].sized_splits == ("train",)  # like CelebA: no test split


def test_an_unknown_dataset_is_refused_with_the_known_ones():
    with pytest.raises(InfoganError, match=r"unknown dataset 'mnsit'; known: mnist, svhn"):
        dataset("mnsit")


def test_figures_name_real_data_and_stand_ins_from_the_registry():
    real = describe_sources([("mnist", "real")])
    assert real["label"] == "Data: real MNIST" and real["warning"] is None
    stand_in = describe_sources([("synthetic_heads", "synthetic")])
    assert stand_in["label"] == "Data: synthetic procedural 3D heads (stand-in for 3D Faces)"
    assert stand_in["warning"] == "SYNTHETIC DATA: procedural 3D heads, not 3D Faces"
