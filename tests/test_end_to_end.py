"""The README's three steps, as a user runs them: prepare -> train -> evaluate, through the CLI.

Sized for the suite: a stand-in of 2,000 + 500 images rather than the 60,000 + 10,000 a user
gets by default, and an evaluation of 500 samples and 20 draws (its defaults, 10,000 and 500,
take longer than the rest of the test together). The steps and their files are the user's.
"""

import json
import os
import subprocess
import sys

import pytest

from infogan.data.hdf5 import read_info

pytestmark = pytest.mark.slow


def infogan(*args, cwd):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "infogan.cli", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_prepare_train_evaluate_on_synthetic_digits(tmp_path):
    data = tmp_path / "data" / "synthetic_digits.h5"
    run_dir = tmp_path / "runs" / "mnist_infogan" / "seed1"
    metrics = tmp_path / "metrics" / "seed1.json"

    prepared = infogan("prepare", "synthetic_digits", "--out", data, "--train-images", 2000, "--test-images", 500,
                       cwd=tmp_path)
    assert prepared.returncode == 0, prepared.stderr
    info = read_info(data)
    assert info.source == "synthetic"
    assert info.splits == {"train": (2000, 1, 28, 28), "test": (500, 1, 28, 28)}

    trained = infogan("train", "mnist_infogan", "--data", data, "--out", run_dir, "--seed", 1,
                      "--iterations", 20, "--checkpoint-every", 10, "--log-every", 5, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert (run_dir / "final.pt").is_file() and not (run_dir / "checkpoint.pt").exists()
    logged = [json.loads(line)["iteration"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert logged == [5, 10, 15, 20]
    assert json.loads((run_dir / "run.json").read_text())["data"]["source"] == "synthetic"

    evaluated = infogan("evaluate", run_dir, "--data", data, "--out", metrics, "--samples", 500, "--draws", 20,
                        cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    result = json.loads(metrics.read_text())
    assert result["data"]["source"] == "synthetic"
    assert 0.0 <= result["categorical_accuracy"] <= 1.0
    assert sorted(result["categorical_matching"].values()) == list(range(10))
    assert set(result["roles"]) == {"rotation", "width"}
    assert set(result["factor_correlations"]["continuous_0"]) == {
        "rotation_degrees", "width_scale", "stroke_width_px", "elastic_strength", "label"}
