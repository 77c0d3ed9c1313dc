"""speed.keep_freed_memory: glibc keeps freed pages, so a training step stops faulting in
fresh ones, and nothing computed changes. Each case runs in a process of its own, since
the setting lasts for the process once made."""

import os
import subprocess
import sys

import pytest
import torch

from infogan import checkpoint

# Training steps of the MNIST networks (batch 32, one thread), counting the page faults
# of five steps after five of warm-up (the kept heap reaches its size within them).
STEPS = """
import resource, sys, torch
from infogan.allocator import keep_freed_memory
from infogan.config import load_experiment
from infogan.train import autocast_for, new_state, training_step
applied = keep_freed_memory() if sys.argv[1] == "keep" else None
config = load_experiment("mnist_infogan", overrides={"batch_size": 32, "speed": {"bf16_autocast": False}})
state = new_state(config, 1, torch.device("cpu"))
autocast, _ = autocast_for(config, torch.device("cpu"))
real = torch.rand(32, 1, 28, 28)
for _ in range(5):
    training_step(state, config, real, autocast)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    training_step(state, config, real, autocast)
print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(*modes):
    """Run the steps in one process per mode, all at once; (applied, page faults) for each."""
    processes = [subprocess.Popen([sys.executable, "-c", STEPS, mode], stdout=subprocess.PIPE, text=True)
                 for mode in modes]
    results = []
    for process in processes:
        output, _ = process.communicate()
        assert process.returncode == 0
        applied, faults = output.split()
        results.append((applied, int(faults)))
    return results


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc is Linux's")
def test_kept_memory_ends_the_page_faults_of_each_step():
    (_, default_faults), (applied, kept_faults) = page_faults("default", "keep")
    assert applied == "True"
    # by default each step's weight gradients (25 MB for each large layer) come as fresh 4 KiB pages
    assert default_faults > 10_000
    assert kept_faults < default_faults / 5


def test_training_gives_the_same_weights_with_or_without_kept_memory(write_tiny_dataset, tmp_path):
    data = write_tiny_dataset(tmp_path / "tiny.h5")
    finals = []
    for keep in ("true", "false"):
        out = tmp_path / f"keep_{keep}"
        subprocess.run([sys.executable, "-m", "infogan.cli", "train", "mnist_infogan", "--data", str(data),
                        "--out", str(out), "--seed", "1", "--device", "cpu", "--iterations", "3",
                        "--set", "batch_size=8", "--set", f"speed.keep_freed_memory={keep}"],
                       check=True, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        finals.append(checkpoint.load(out / "final.pt"))
    assert finals[0]["fingerprint"] == finals[1]["fingerprint"]
    for network in ("generator", "discriminator"):
        for key, value in finals[0][network].items():
            assert torch.equal(value, finals[1][network][key]), f"{network}.{key}"

