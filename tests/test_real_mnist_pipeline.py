"""The paper's MNIST path on the real MNIST bytes, end to end, with short training.

The four archives of ../shared/data/mnist are served from a local HTTP server on 127.0.0.1
as the INFOGAN_MNIST_MIRRORS mirror (they are recompressed, so only their content digests
identify them), and the pipeline's `mnist` target runs in a git copy of the project:
download -> identity checks -> HDF5 -> train -> evaluate -> Figures 1-2 -> report. Every
output must say it came from real MNIST, and none may carry a synthetic warning.
"""

import json

import h5py
import pytest
import yaml
from pipeline_helpers import BIN, copy_project, env_for, snakemake

from infogan.data.real import mnist

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (BIN / "snakemake").exists(), reason="snakemake not installed: pip install -e '.[pipeline]'"),
]

# The paper's pipeline config with a few iterations at batch 32: real MNIST, one seed of each
# model, a short evaluation and a digit probe of a few steps (its 3,000 would be most of the
# test's time; the provenance checked here does not depend on any of it).
SHORT = {
    "runs": {"mnist_infogan": {"seeds": [1], "settings": {"batch_size": 32}},
             "mnist_gan": {"seeds": [1], "settings": {"batch_size": 32}}},
    "iterations": 20,
    "train": {"device": "cpu", "threads": 1, "checkpoint_every": 10},
    "evaluate": {"samples": 100, "draws": 20, "device": "cpu", "threads": 1},
    "probes": {"steps": 20, "device": "cpu", "threads": 1},
}


def test_mnist_target_on_real_mnist_from_a_local_mirror(real_mnist, tmp_path, http_server):
    project = copy_project(tmp_path / "repo")
    (project / "short.yaml").write_text(yaml.safe_dump(SHORT))
    server = http_server(real_mnist)
    env = {**env_for(project), mnist.MIRRORS_ENV: server.url}

    snakemake(project, "mnist", "--cores", "2", "--configfile", "config/pipeline.yaml", "short.yaml", env=env)

    # Download: each archive fetched once from the mirror, accepted by its content digest.
    assert sorted(server.requests) == sorted("/" + remote.name for remote in mnist.FILES.values())
    with h5py.File(project / "data/processed/mnist.h5") as f:
        assert (f.attrs["dataset"], f.attrs["source"]) == ("mnist", "real")
        digests = json.loads(f.attrs["raw_checksums"])
        assert f["train/images"].shape == (60_000, 1, 28, 28) and f["test/images"].shape == (10_000, 1, 28, 28)
    for remote in mnist.FILES.values():
        assert digests[remote.name.removesuffix(".gz")] == remote.content_sha256

    # Training and evaluation say real MNIST.
    for run in ("mnist_infogan/seed1", "mnist_gan/seed1"):
        info = json.loads((project / "results/runs" / run / "run.json").read_text())
        assert (info["data"]["dataset"], info["data"]["source"], info["iterations"]) == ("mnist", "real", 20)
        assert info["data"]["raw_checksums"] == digests
        evaluation = json.loads((project / f"results/metrics/{run}.json").read_text())
        assert (evaluation["data"]["dataset"], evaluation["data"]["source"]) == ("mnist", "real")

    # Figures 1-2 and their report: real MNIST named, no synthetic warning anywhere.
    for figure in (1, 2):
        sidecar = json.loads((project / f"paper_figures/figure{figure}.json").read_text())
        assert sidecar["data"]["synthetic"] is False and sidecar["data"]["label"] == "Data: real MNIST"
        assert (project / f"paper_figures/figure{figure}.png").stat().st_size > 10_000
    report = (project / "results/report/mnist/index.html").read_text()
    assert "SYNTHETIC" not in report and 'class="banner"' not in report
    assert "real MNIST" in report
    assert mnist.FILES["train", "images"].content_sha256 in report
    # Only the MNIST part ran: no other dataset was fetched, no code figure drawn.
    assert sorted(p.name for p in (project / "data/processed").iterdir()) == ["mnist.h5"]
    assert not list((project / "paper_figures").glob("figure[3-6]*"))
