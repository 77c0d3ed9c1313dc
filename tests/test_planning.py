"""Planning numbers: FLOP counts, measured rates, the schedule over N GPUs, and `infogan plan`."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from infogan.config import load_experiment
from infogan.errors import InfoganError
from infogan.rundir import load_run
from infogan.planning import Rate, flops_per_iteration, gpu_assumptions, makespan, measured_rates, pipeline_jobs, plan
from infogan.train import train

REPO_CONFIG = "config/pipeline.yaml"


def test_the_paper_config_lists_every_training_job_with_its_settings():
    jobs = pipeline_jobs(REPO_CONFIG)
    pipeline = yaml.safe_load(open(REPO_CONFIG))
    assert len(jobs) == sum(len(run["seeds"]) for run in pipeline["runs"].values())
    by_name = {job.config.name: job.config for job in jobs}
    assert by_name["mnist_infogan"].iterations == 5000
    assert by_name["chairs_rotation"].iterations == 20000
    assert {job.config.batch_size for job in jobs} == {128}


def test_a_pipeline_configs_iterations_and_settings_reach_the_jobs(tmp_path):
    config = tmp_path / "pipeline.yaml"
    config.write_text(yaml.safe_dump({
        "experiments_file": "src/infogan/configs/experiments.yaml", "iterations": 7,
        "runs": {"mnist_infogan": {"data": "mnist", "seeds": [1, 2], "settings": {"batch_size": 16}},
                 "svhn_infogan": {"data": "svhn", "seeds": [3], "iterations": 9}},
    }))
    jobs = pipeline_jobs(config)
    assert [(j.config.name, j.seed, j.config.iterations, j.config.batch_size) for j in jobs] == [
        ("mnist_infogan", 1, 7, 16), ("mnist_infogan", 2, 7, 16), ("svhn_infogan", 3, 9, 128)]


def test_flops_grow_with_the_batch_and_the_network_not_with_learning_rates():
    mnist = load_experiment("mnist_infogan")
    half = dataclasses.replace(mnist, batch_size=64)
    assert flops_per_iteration(mnist) == pytest.approx(2 * flops_per_iteration(half))
    assert flops_per_iteration(dataclasses.replace(mnist, lr_generator=0.5)) == flops_per_iteration(mnist)
    chairs = load_experiment("chairs_rotation")
    assert flops_per_iteration(chairs) > 10 * flops_per_iteration(mnist)


def test_mnist_flops_are_at_least_the_forward_passes_counted_by_hand():
    """One iteration runs G once and D three times (real, fake, fake again for G), plus the
    backward passes: the count must exceed those forward passes, and stay below 4x them."""
    config = load_experiment("mnist_infogan")
    b = config.batch_size
    g_forward = 2 * b * (74 * 1024 + 1024 * 7 * 7 * 128 + 7 * 7 * 128 * 64 * 16 + 14 * 14 * 64 * 16)
    d_forward = 2 * b * (14 * 14 * 64 * 16 + 7 * 7 * 128 * 64 * 16 + 6272 * 1024 + 1024 + 1024 * 128 + 128 * 14)
    forward = g_forward + 3 * d_forward
    assert forward < flops_per_iteration(config) < 4 * forward


def test_makespan_puts_the_longest_jobs_first():
    assert makespan([3, 3, 2, 2, 2], 1) == 12
    assert makespan([3, 3, 2, 2, 2], 2) == 7
    assert makespan([3, 3, 2, 2, 2], 8) == 3
    assert makespan([], 4) == 0


def _tiny_run(tmp_path, write_tiny_dataset):
    config = dataclasses.replace(load_experiment("mnist_infogan"), batch_size=8, iterations=3, train_images=None)
    run_dir = tmp_path / "run"
    train(config, write_tiny_dataset(tmp_path / "tiny.h5"), run_dir, seed=1, log_every=1)
    return load_run(run_dir)


def test_a_finished_run_gives_its_networks_measured_rate(tmp_path, write_tiny_dataset):
    run = _tiny_run(tmp_path, write_tiny_dataset)
    rates = measured_rates([run])
    rate = rates[("mnist", "cpu")]
    expected = flops_per_iteration(run.config) * 3 / run.info["train_seconds"]
    assert rate.flops_per_second == pytest.approx(expected)
    assert rate.runs == (str(run.path),)
    assert rate.batch_sizes == (8,)  # a CPU's rate depends on the batch: it says which


def test_a_resumed_run_is_timed_over_all_its_iterations(tmp_path, write_tiny_dataset):
    """run.json's train_seconds of a resumed run include the time before the resume (it
    travels in the checkpoint), so its rate is that of all its iterations, as if uninterrupted."""
    run = _tiny_run(tmp_path, write_tiny_dataset)
    resumed = dataclasses.replace(run, info={**run.info, "resumed_from_iteration": 2})
    assert measured_rates([resumed])[("mnist", "cpu")].flops_per_second == pytest.approx(
        measured_rates([run])[("mnist", "cpu")].flops_per_second)


def test_plan_uses_a_measured_gpu_rate_where_there_is_one_and_says_when_it_assumes():
    jobs = [job for job in pipeline_jobs(REPO_CONFIG) if job.config.network in ("mnist", "faces")]
    rates = {("mnist", "cpu"): Rate("mnist", "cpu", 1e11, ("a",)),
             ("mnist", "cuda"): Rate("mnist", "cuda", 1e13, ("b",))}
    result = plan(jobs, rates, gpu_tflops=10, gpu_overhead_ms=2, gpu_counts=(1, 4))
    rows = {row["experiment"]: row for row in result["experiments"]}
    mnist = rows["mnist_infogan"]
    per_iteration = flops_per_iteration(load_experiment("mnist_infogan"))
    assert mnist["gpu_hours_measured"] is True
    assert mnist["gpu_hours"] == pytest.approx(5 * 5000 * per_iteration / 1e13 / 3600)
    assert mnist["cpu_hours"] == pytest.approx(5 * 5000 * per_iteration / 1e11 / 3600)
    faces = rows["faces_azimuth"]
    faces_per_iteration = flops_per_iteration(load_experiment("faces_azimuth"))
    assert faces["gpu_hours_measured"] is False
    assert faces["gpu_hours"] == pytest.approx(5 * 20000 * (faces_per_iteration / 10e12 + 2e-3) / 3600)
    assert faces["cpu_rate_measured_on"] == "other networks"  # only MNIST was measured on the CPU
    assert result["gpu_wall_hours"]["1"] == pytest.approx(result["gpu_hours"])
    assert result["gpu_wall_hours"]["4"] < result["gpu_hours"] / 3


def test_the_plan_command_prints_a_table_and_writes_json(tmp_path, write_tiny_dataset):
    run = _tiny_run(tmp_path, write_tiny_dataset)
    out = tmp_path / "plan.json"
    result = subprocess.run([str(Path(sys.executable).parent / "infogan"), "plan", "--runs", str(run.path / "final.pt"),
                             "--out", str(out)], capture_output=True, text=True, check=True)
    assert "chairs_rotation" in result.stdout and "wall time on N GPUs" in result.stdout
    assert "at batch 8;" in result.stdout
    written = json.loads(out.read_text())
    assert written["jobs"] == len(pipeline_jobs(REPO_CONFIG))
    stated = yaml.safe_load(open(REPO_CONFIG))["planning"]
    assert written["assumptions"] == {"gpu_tflops": stated["gpu_tflops"], "gpu_overhead_ms": stated["gpu_overhead_ms"]}
    assert written["rates"][0]["network"] == "mnist"


def test_gpu_assumptions_come_from_the_flags_else_the_pipeline_config(tmp_path):
    assert gpu_assumptions(REPO_CONFIG, 12.5, None) == (12.5, yaml.safe_load(open(REPO_CONFIG))["planning"]["gpu_overhead_ms"])
    bare = tmp_path / "pipeline.yaml"
    bare.write_text(yaml.safe_dump({"runs": {}}))
    assert gpu_assumptions(bare, 20, 1) == (20.0, 1.0)
    with pytest.raises(InfoganError, match=f"{bare}: no planning.gpu_tflops"):
        gpu_assumptions(bare)
