"""Datasets: sources (download, checksums, manual placement), the HDF5 format, and the
synthetic stand-ins. `infogan prepare NAME` calls `preparer(NAME)(out_path, raw_dir)`.

`REGISTRY` is the one list of datasets: each one's module, the paper's name for it, and
for a synthetic stand-in what it draws and which real dataset it stands in for. The CLI,
the figures, the report and the workflow all read it. What factors a dataset labels is
recorded in each dataset file (`infogan.data.hdf5`), because it depends on the source
(3D Faces rendered from the Basel model label more than DC-IGN's renders).
"""

import importlib
from dataclasses import dataclass

from infogan.errors import InfoganError


@dataclass(frozen=True)
class Dataset:
    name: str  # the name on the command line and in data/processed/<name>.h5
    title: str  # the paper's name for it, or for a stand-in the paper's dataset it replaces
    module: str  # holds `prepare(out_path, raw_dir, ...)`
    drawing: str = ""  # a stand-in: what it draws; "" for real data
    # The splits a stand-in generates to the size asked for (`prepare(..., n_train=, n_test=)`,
    # `infogan prepare --train-images/--test-images`); none for real data. Kept here, not read
    # from the signature, so that the workflow can size them without importing torch.
    sized_splits: tuple[str, ...] = ()

    @property
    def real(self) -> bool:
        return not self.drawing

    @property
    def display_name(self) -> str:
        """How figures and the report name it: the paper's name, or what a stand-in is and replaces."""
        return self.title if self.real else f"{self.drawing} (stand-in for {self.title})"


REGISTRY = {dataset.name: dataset for dataset in (
    Dataset("mnist", "MNIST", "infogan.data.real.mnist"),
    Dataset("svhn", "SVHN", "infogan.data.real.svhn"),
    Dataset("celeba", "CelebA", "infogan.data.real.celeba"),
    Dataset("chairs", "3D Chairs", "infogan.data.real.chairs"),
    Dataset("faces", "3D Faces", "infogan.data.real.faces"),
    Dataset("synthetic_digits", "MNIST", "infogan.data.synthetic.synthetic_digits", "digits rendered from a font",
            ("train", "test")),
    Dataset("synthetic_house_numbers", "SVHN", "infogan.data.synthetic.synthetic_house_numbers", "rendered house numbers",
            ("train", "test")),
    Dataset("synthetic_cartoon_faces", "CelebA", "infogan.data.synthetic.synthetic_cartoon_faces", "cartoon faces",
            ("train",)),  # like CelebA, which has no test split
    Dataset("synthetic_chairs", "3D Chairs", "infogan.data.synthetic.synthetic_chairs", "procedural 3D chairs",
            ("train", "test")),
    Dataset("synthetic_heads", "3D Faces", "infogan.data.synthetic.synthetic_heads", "procedural 3D heads",
            ("train", "test")),
)}


def dataset(name) -> Dataset:
    """The registry entry of `name`; an unknown name is refused with the known ones."""
    if name not in REGISTRY:
        raise InfoganError(f"unknown dataset {name!r}; known: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def preparer(name):
    """The `prepare` function of dataset `name` (modules load on demand: some need scipy or PIL)."""
    return importlib.import_module(dataset(name).module).prepare
