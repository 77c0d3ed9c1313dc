"""benchmarks/gpu_check.py, run as the tests can: on the CPU, tiny, within a small budget.

On a GPU machine the same script measures what the planning table assumes; here it shows
that every step runs and writes what `infogan plan` reads, and that the plan refuses a
CPU measurement as a GPU rate.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infogan.errors import InfoganError
from infogan.planning import gpu_check_rates

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gpu_check_runs_every_step_on_the_cpu_and_writes_its_json(tmp_path):
    out = tmp_path / "gpu_check.json"
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--device", "cpu", "--tiny",
                           "--minutes", "3", "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    measured = [row for row in result["throughput"] if "images_per_second" in row]
    assert {row["network"] for row in measured} == {"mnist", "svhn_celeba", "faces", "chairs"}
    assert all(row["images_per_second"] > 0 and 0 < row["efficiency"] for row in measured)
    resume = result["resume"]
    killed_at = resume["killed_after_checkpoint_at"]
    assert killed_at is None or killed_at % resume["checkpoint_every"] == 0
    # on the CPU training is deterministic: resumed and uninterrupted runs end bit-identical
    assert resume["largest_weight_difference"] == {"uninterrupted_twice": 0.0, "resumed_vs_uninterrupted": 0.0}
    assert resume["resumed_equals_uninterrupted"] is True
    curve = result["chairs"]["curve"]
    assert curve and curve[-1]["iteration"] == result["chairs"]["iterations"]
    with pytest.raises(InfoganError, match="not a GPU measurement"):
        gpu_check_rates(out)


def test_gpu_rates_replace_the_assumptions_per_network(tmp_path):
    out = tmp_path / "gpu_check.json"
    out.write_text(json.dumps({"device": "NVIDIA H200", "tiny": False, "throughput": [
        {"experiment": "mnist_infogan", "network": "mnist", "step_gflops_per_second": 900.0},
        {"experiment": "mnist_gan", "network": "mnist", "step_gflops_per_second": 1200.0},
        {"experiment": "chairs_rotation", "network": "chairs", "skipped": "out of time"}]}))
    rates = gpu_check_rates(out)
    assert set(rates) == {("mnist", "cuda")} and rates["mnist", "cuda"].flops_per_second == 1.2e12
