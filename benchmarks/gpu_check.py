#!/usr/bin/env python3
"""What a few minutes on a GPU should tell us, in one command and one JSON file.

    python benchmarks/gpu_check.py --minutes 8 --out gpu_check.json            # on a GPU machine
    python benchmarks/gpu_check.py --device cpu --tiny --minutes 1 --out x.json  # what the tests run

Within the time budget, in this order (the JSON is rewritten after each step, so a run cut
short by its slot still leaves what it measured):

1. `throughput`: a few training steps of every experiment of the experiments file, with the
   default speed switches and again with channels-last: images/s, the step's GFLOP/s against
   a matrix product in the same dtype (`infogan bench`), and peak GPU memory.
2. `resume`: MNIST's network on synthetic digits, trained uninterrupted twice (their
   difference is the device's own run-to-run nondeterminism) and once killed with SIGKILL
   after its first checkpoint and started again; the largest weight difference of each
   pair, so "resumed = uninterrupted" is judged against what the device allows.
3. `chairs`: `chairs_rotation` at the paper's batch 128 on the synthetic chairs stand-in
   (the real renders need a download), for the rest of the budget: its learning curve.

`infogan plan --gpu-check gpu_check.json` uses the measured GPU rates in place of its
assumptions.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from infogan import checkpoint, rundir
from infogan.atomic import write_json
from infogan.bench import benchmark
from infogan.config import experiment_names, load_experiment
from infogan.data import preparer
from infogan.train import train

# The resume check's (iterations, checkpoint every): on a GPU; with --tiny, fewer, so that its
# four CPU processes spend their time on what is checked rather than on steps.
RESUME_SCHEDULE = {False: (40, 20), True: (12, 4)}


def peak_memory_mb(device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


def throughput(device, tiny, deadline) -> list[dict]:
    """A few timed steps of every experiment, default switches and channels-last (tiny: one
    experiment per network, default switches, small batches and a small matrix product)."""
    rows, networks = [], set()
    for name in experiment_names():
        network = load_experiment(name).network
        if tiny and network in networks:
            continue
        networks.add(network)
        for channels_last in (False,) if tiny else (False, True):
            if time.monotonic() > deadline:
                rows.append({"experiment": name, "channels_last": channels_last, "skipped": "out of time"})
                continue
            overrides = {"speed": {"channels_last": channels_last}, **({"batch_size": 8} if tiny else {})}
            config = load_experiment(name, overrides=overrides)
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            result = benchmark(config, iterations=1 if tiny else 20, warmup=1 if tiny else 5, device=device.type,
                               threads=0, matmul_size=256 if tiny else 2048)
            rows.append({"experiment": name, "network": config.network, "channels_last": channels_last,
                         "peak_gpu_memory_mb": peak_memory_mb(device),
                         **{k: result[k] for k in ("batch_size", "images_per_second", "step_gflops_per_second",
                                                   "matmul_gflops_per_second", "efficiency", "bf16_autocast")}})
    return rows


def largest_difference(a_path, b_path) -> float:
    a, b = checkpoint.load(a_path), checkpoint.load(b_path)
    return max(float((a[net][k].float() - b[net][k].float()).abs().max())
               for net in ("generator", "discriminator") for k in a[net] if a[net][k].is_floating_point())


def resume(device, data, work, tiny) -> dict:
    """Uninterrupted twice, and killed after the first checkpoint then resumed: weight differences."""
    iterations, checkpoint_every = RESUME_SCHEDULE[tiny]
    command = [sys.executable, "-m", "infogan.cli", "train", "mnist_infogan", "--data", str(data), "--device",
               device.type, "--iterations", str(iterations), "--checkpoint-every", str(checkpoint_every),
               "--set", f"batch_size={8 if tiny else 32}"]
    for name in ("first", "second"):
        subprocess.run([*command, "--out", str(work / name)], check=True, capture_output=True)
    killed = work / "killed"
    process = subprocess.Popen([*command, "--out", str(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while process.poll() is None and not rundir.files(killed).resumable.exists():
        time.sleep(0.05)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait()
    resumed_from = checkpoint.load(rundir.files(killed).resumable)["iteration"] if rundir.files(killed).resumable.exists() else None
    subprocess.run([*command, "--out", str(killed)], check=True, capture_output=True)
    run_to_run = largest_difference(rundir.files(work / "first").final, rundir.files(work / "second").final)
    resumed = largest_difference(rundir.files(work / "first").final, rundir.files(killed).final)
    return {"iterations": iterations, "checkpoint_every": checkpoint_every, "killed_after_checkpoint_at": resumed_from,
            "largest_weight_difference": {"uninterrupted_twice": run_to_run, "resumed_vs_uninterrupted": resumed},
            "resumed_equals_uninterrupted": resumed == 0.0,
            "within_run_to_run_nondeterminism": resumed <= run_to_run}


def chairs(device, data, work, deadline, tiny) -> dict:
    """chairs_rotation at batch 128 (8 when tiny) for what is left of the budget."""
    batch = 8 if tiny else 128
    probe = benchmark(load_experiment("chairs_rotation", overrides={"batch_size": batch}), iterations=2,
                      warmup=1, device=device.type, threads=0, matmul_size=256 if tiny else 2048)
    seconds = max(0.0, deadline - time.monotonic())
    iterations = max(1, int(0.8 * seconds * probe["iterations_per_second"]))
    if tiny:
        iterations = min(iterations, 4)
    config = load_experiment("chairs_rotation", overrides={"batch_size": batch, "iterations": iterations})
    start = time.monotonic()
    train(config, data, work / "chairs", seed=1, checkpoint_every=max(iterations, 1), log_every=max(1, iterations // 50),
          device=device.type, show_progress=False)
    run = rundir.load_run(work / "chairs")
    return {"data": "synthetic_chairs (stand-in for 3D Chairs)", "batch_size": batch, "iterations": iterations,
            "seconds": round(time.monotonic() - start, 1), "peak_gpu_memory_mb": peak_memory_mb(device),
            "curve": [{k: m[k] for k in ("iteration", "mi_categorical", "mi_continuous", "d_loss", "g_loss",
                                         "d_real", "d_fake", "images_per_second")} for m in run.metrics]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=8.0, help="time budget for everything")
    parser.add_argument("--out", type=Path, default=Path("gpu_check.json"))
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--tiny", action="store_true", help="tiny batches and data: what the tests run on a CPU")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("gpu_check: error: no CUDA device is visible; run it on a GPU machine, or --device cpu --tiny",
              file=sys.stderr)
        return 1
    device = torch.device(args.device)
    deadline = time.monotonic() + 60 * args.minutes
    result = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "torch": torch.__version__, "cuda": torch.version.cuda, "budget_minutes": args.minutes,
              "tiny": args.tiny, "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        images = {"n_train": 256, "n_test": 64} if args.tiny else {"n_train": 5000, "n_test": 500}
        preparer("synthetic_digits")(work / "digits.h5", **images)
        preparer("synthetic_chairs")(work / "chairs.h5", **images)
        steps = (("throughput", lambda: throughput(device, args.tiny, deadline)),
                 ("resume", lambda: resume(device, work / "digits.h5", work, args.tiny)),
                 ("chairs", lambda: chairs(device, work / "chairs.h5", work, deadline, args.tiny)))
        for name, step in steps:
            started = time.monotonic()
            result[name] = step()
            result.setdefault("step_seconds", {})[name] = round(time.monotonic() - started, 1)
            write_json(args.out, result)
    print(f"gpu_check: wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
