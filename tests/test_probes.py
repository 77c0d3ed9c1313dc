"""Factor probes: trained on labelled images, measured on held-out ones, and scoring sweeps
whose answer is known (real images arranged by a factor, or shuffled)."""

import json

import numpy as np
import pytest
import torch

from infogan.cli import main
from infogan.data import preparer
from infogan.data.hdf5 import read_split
from infogan.errors import InfoganError
from infogan.probes import LABEL, correlation_ratio, load_probe, matched_label_share, sweep_scores, train_probe

ROWS = 20


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """Synthetic digits with their true rotation and width, and a probe trained on them."""
    root = tmp_path_factory.mktemp("probe")
    data = preparer("synthetic_digits")(root / "digits.h5", n_train=2000, n_test=400)
    record = train_probe(data, root / "probe.pt", steps=250, device="cpu")
    return {"data": data, "record": record, "probe": load_probe(root / "probe.pt"), "test": read_split(data, "test")}


def as_unit(images):
    return torch.from_numpy(images).float() / 255


def arranged(test, order, columns=10):
    """Held-out images in the given order, cut into `columns` columns of ROWS rows each."""
    chosen = test.images[order[: columns * ROWS]]
    return as_unit(chosen).reshape(columns, ROWS, *chosen.shape[1:])


def test_the_probe_reads_held_out_digits(digits):
    record = digits["record"]
    assert record["classes"] == 10 and record["held_out_images"] == 400
    assert record["quality"][LABEL] > 0.9
    assert record["quality"]["rotation_degrees"] > 0.7
    assert json.loads((digits["data"].parent / "probe.json").read_text())["quality"] == record["quality"]
    assert digits["probe"].quality == record["quality"]


def test_a_factor_that_follows_the_columns_scores_high_and_shuffled_scores_low(digits):
    test = digits["test"]
    rotation = test.factors[:, test.factor_names.index("rotation_degrees")]
    # Column k holds the k-th band of rotations, so every row steps through rising rotations
    # as a code sweep would: the factor follows the "code".
    by_rotation = np.argsort(rotation)
    picked = by_rotation[np.linspace(0, len(by_rotation) - 1, 10 * ROWS).astype(int)]
    columns = as_unit(test.images[picked]).reshape(10, ROWS, *test.images.shape[1:])
    values = np.linspace(-1, 1, 10)
    follows = sweep_scores(digits["probe"], columns, "continuous", "rotation_degrees", values)
    assert follows["follows"] > 0.6, follows
    shuffled = arranged(test, np.random.default_rng(0).permutation(len(test.images)))
    noise = sweep_scores(digits["probe"], shuffled, "continuous", "rotation_degrees", values)
    assert noise["follows"] < 0.3, noise
    assert noise["probe_quality"] == digits["record"]["quality"]["rotation_degrees"]


def test_a_categorical_sweep_over_digits_moves_the_label(digits):
    test = digits["test"]
    per_digit = [np.flatnonzero(test.labels == d)[:ROWS] for d in range(10)]
    columns = as_unit(np.stack([test.images[i] for i in per_digit]))
    scores = sweep_scores(digits["probe"], columns, "categorical", LABEL)
    assert scores["follows"] > 0.8 and scores["others"]["rotation_degrees"] < 0.3
    assert matched_label_share(digits["probe"], columns, list(range(10))) > 0.9
    assert matched_label_share(digits["probe"], columns, [(d + 1) % 10 for d in range(10)]) < 0.1
    assert matched_label_share(digits["probe"], columns, [None] * 10) == 0.0


def test_correlation_ratio():
    groups = np.array([0, 0, 1, 1])
    assert correlation_ratio(groups, [1.0, 1.0, 3.0, 3.0]) == pytest.approx(1.0)
    assert correlation_ratio(groups, [1.0, 3.0, 1.0, 3.0]) == pytest.approx(0.0)
    assert correlation_ratio(groups, [1.0, 2.0, 3.0, 4.0]) == pytest.approx(0.8)
    assert correlation_ratio(groups, [5.0] * 4) == 0.0


def test_a_probe_of_unlearnable_labels_says_so(tmp_path, write_tiny_dataset):
    """Random images with random labels: nothing to learn, and the held-out accuracy shows it."""
    data = write_tiny_dataset(tmp_path / "noise.h5", n_train=300, n_test=200)
    record = train_probe(data, tmp_path / "probe.pt", steps=60, device="cpu")
    assert record["quality"][LABEL] < 0.3


def test_probe_errors_are_one_line(tmp_path, write_tiny_dataset, capsys):
    bare = write_tiny_dataset(tmp_path / "bare.h5", n_train=50, n_test=10, labels=False)
    assert main(["probe", str(bare), "--out", str(tmp_path / "p.pt"), "--steps", "2", "--device", "cpu"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(bare) in err[0] and "nothing a probe could learn" in err[0]
    assert not (tmp_path / "p.pt").exists()
    (tmp_path / "other.pt").write_bytes(b"not a probe")
    with pytest.raises(InfoganError, match="other.pt: not a probe"):
        load_probe(tmp_path / "other.pt")
    with pytest.raises(InfoganError, match="absent.pt: no such probe"):
        load_probe(tmp_path / "absent.pt")


def test_an_untrained_generator_is_judged_not_to_track_its_factors(digits, tmp_path):
    """The case that misled before: a few iterations of training, every panel near-uniform grey.
    Q's reading may still correlate with the factors; the probe, reading the generated images,
    says the codes move nothing, and the report's verdict is "not met"."""
    from infogan.report.panels import verdict
    from infogan.report.render import load_paper_claims

    data, out = digits["data"], tmp_path
    for experiment in ("mnist_infogan", "mnist_gan"):
        assert main(["train", experiment, "--data", str(data), "--out", str(out / experiment), "--iterations", "4",
                     "--set", "batch_size=16", "--device", "cpu"]) == 0
        assert main(["evaluate", str(out / experiment), "--data", str(data), "--out", str(out / f"{experiment}.json"),
                     "--samples", "200", "--draws", "20", "--device", "cpu"]) == 0
    assert main(["figure", "2", "--infogan-runs", str(out / "mnist_infogan"), "--gan-runs", str(out / "mnist_gan"),
                 "--infogan-evaluations", str(out / "mnist_infogan.json"), "--gan-evaluations",
                 str(out / "mnist_gan.json"), "--probe", str(data.parent / "probe.pt"), "--out-dir", str(out)]) == 0
    sidecar = json.loads((out / "figure2.json").read_text())
    scores = sidecar["probe_scores"]
    assert scores["c"]["factor"] == "rotation_degrees" and scores["c"]["rows"] == 100
    for key in "abcd":  # each panel's headline numbers, beside the runs chosen per input
        assert sidecar["selected"][key]["generated_score"] == scores[key]["score"]
        assert sidecar["selected"][key]["probe_accuracy"] == scores[key]["probe_quality"]
    assert sidecar["selected"]["infogan"]["experiment"] == "mnist_infogan"
    thresholds = load_paper_claims()["panel_verdicts"]
    assert scores["c"]["probe_quality"] >= thresholds["probe_min_quality"]  # a probe good enough to judge
    judged = {key: verdict(panel, sidecar["probe"], thresholds) for key, panel in scores.items()}
    assert judged["a"]["score"] < 0.3 and judged["a"]["status"] == "not-met", judged["a"]
    assert judged["c"]["score"] < 0.3 and judged["c"]["status"] == "not-met", judged["c"]
    assert judged["b"]["status"] == "met"  # the GAN's c1 means nothing, as the paper says
