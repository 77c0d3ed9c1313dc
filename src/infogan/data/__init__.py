"""Datasets: sources (download, checksums, manual placement), the HDF5 format, and the
synthetic stand-ins. `infogan prepare NAME` calls `preparer(NAME)(out_path, raw_dir)`."""

import importlib

# Dataset name -> module with a `prepare(out_path, raw_dir)` function.
DATASETS = {
    "mnist": "infogan.data.mnist",
    "synthetic_digits": "infogan.data.synthetic_digits",
    "svhn": "infogan.data.svhn",
    "synthetic_house_numbers": "infogan.data.synthetic_house_numbers",
    "chairs": "infogan.data.chairs",
    "faces": "infogan.data.faces",
    "celeba": "infogan.data.celeba",
    "synthetic_cartoon_faces": "infogan.data.synthetic_cartoon_faces",
    "synthetic_chairs": "infogan.data.synthetic_chairs",
    "synthetic_heads": "infogan.data.synthetic_heads",
}


def preparer(name):
    """The `prepare` function of dataset `name` (modules load on demand: some need scipy or PIL)."""
    return importlib.import_module(DATASETS[name]).prepare
