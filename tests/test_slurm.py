"""The pipeline through a real SLURM scheduler: workflow/profiles/slurm with real `sbatch`.

A single-node SLURM (tests/slurm_cluster.py: munged, slurmctld and slurmd on 127.0.0.1, a
`cpu` and a `gpu` partition, one GPU declared as a GRES) runs the smallest slice of the
pipeline that trains: synthetic digits are prepared, `mnist_infogan` seed 1 trained (20
iterations, the test settings) and evaluated, each step one SLURM job submitted by the
slurm executor plugin with the profile's placeholders filled in for this cluster. Training
keeps `train.device: auto`, so the training job asks for a GPU as on a real cluster; with
no GPU here it trains on the CPU. The same slice run locally, in a second copy, must give
the same weights and the same evaluation.
"""

import importlib.util
import json
import os
import re
import time
from pathlib import Path

import pytest
import yaml
from conftest import skip_or_fail
from pipeline_helpers import BIN, copy_project, env_for, snakemake
from slurm_cluster import ClusterUnavailable, SlurmCluster, missing_requirements

TARGET = "results/metrics/mnist_infogan/seed1.json"
RUN = "results/runs/mnist_infogan/seed1"
# The test settings, with training left on `auto`: the demo's `train.device: cpu` would
# take the GPU request off the training jobs.
CONFIG_FILES = ["config/pipeline_demo.yaml", "config/pipeline_test.yaml", "gpu_training.yaml"]
# What the profile leaves to the user, as this test cluster fills it in.
PLACEHOLDERS = {"<cpu-partition>": "cpu", "<gpu-partition>": "gpu"}

MISSING = ([] if (BIN / "snakemake").exists() else ["snakemake: pip install -e '.[pipeline]'"]) + (
    [] if importlib.util.find_spec("snakemake_executor_plugin_slurm") else
    ["snakemake-executor-plugin-slurm: pip install -e '.[slurm]'"])
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900),
              pytest.mark.skipif(bool(MISSING), reason=f"not installed: {'; '.join(MISSING)}")]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A running single-node SLURM, stopped after the module's tests (also when they fail)."""
    reason = missing_requirements()
    if reason:
        skip_or_fail(f"no SLURM cluster can be started here: {reason}")
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    try:
        try:
            cluster.start()
        except ClusterUnavailable as error:
            skip_or_fail(f"the SLURM daemons did not come up: {error}")
        yield cluster
    finally:
        cluster.stop()


def project_copy(tmp_path_factory, name):
    root = copy_project(tmp_path_factory.mktemp(name) / "repo")
    (root / "gpu_training.yaml").write_text("train: {device: auto}\n")
    return root


def filled_profile(root, cluster):
    """workflow/profiles/slurm as a user of this cluster would fill it in: its partitions, no
    account (there is no accounting database), memory no larger than the node has."""
    profile = yaml.safe_load((root / "workflow/profiles/slurm/config.yaml").read_text())
    for resources in [profile["default-resources"], *profile["set-resources"].values()]:
        if resources.get("slurm_account") == "<account>":
            del resources["slurm_account"]
        if "slurm_partition" in resources:
            resources["slurm_partition"] = PLACEHOLDERS[resources["slurm_partition"]]
        if "mem_mb" in resources:
            resources["mem_mb"] = min(resources["mem_mb"], cluster.memory_mb)
    text = yaml.safe_dump(profile)
    assert "<" not in text, f"a placeholder this test does not know: {text}"
    folder = root / "workflow/profiles/slurm-test-cluster"
    folder.mkdir()
    (folder / "config.yaml").write_text(text)
    return folder


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory, cluster):
    root = project_copy(tmp_path_factory, "slurm-run")
    profile = filled_profile(root, cluster)
    env = {key: value for key, value in env_for(root).items() if not key.startswith(("SLURM_", "SBATCH_"))}
    env.update(SLURM_CONF=cluster.env["SLURM_CONF"], PATH=f"{BIN}{os.pathsep}{cluster.env['PATH']}")
    started = time.monotonic()
    # sacct needs an accounting database, which this cluster has not: job states come from
    # squeue (finished jobs stay listed for MinJobAge). --verbose logs each sbatch call.
    result = snakemake(root, TARGET, "--profile", profile, "--verbose", "--slurm-status-command", "squeue",
                       "--slurm-init-seconds-before-status-checks", "2", "--configfile", *CONFIG_FILES,
                       env=env, timeout=600)
    return root, result, time.monotonic() - started


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    root = project_copy(tmp_path_factory, "local-run")
    snakemake(root, TARGET, "--cores", "2", "--configfile", *CONFIG_FILES)
    return root


def sbatch_calls(output):
    """{rule: [sbatch command line, ...]} from the plugin's --verbose log."""
    calls = {}
    for line in output.splitlines():
        if "sbatch call:" in line:
            rule = re.search(r"--comment '?rule_(\w+?)(?:_wildcards_\S*?)?'? ", line)
            calls.setdefault(rule.group(1) if rule else "?", []).append(line.split("sbatch call:", 1)[1])
    return calls


def test_each_step_is_an_sbatch_job_training_and_evaluation_with_a_gpu(cluster, slurm_run):
    root, result, seconds = slurm_run
    output = result.stdout + result.stderr
    calls = sbatch_calls(output)
    assert sorted(calls) == ["evaluate", "prepare", "train"], output[-5000:]
    for rule in ("train", "evaluate"):
        assert len(calls[rule]) == 1 and " --gpus=1" in calls[rule][0] and " -p gpu" in calls[rule][0], calls[rule]
    assert " -p cpu" in calls["prepare"][0] and "--gpus" not in calls["prepare"][0], calls["prepare"]

    # What SLURM itself recorded: the partition, the GPU asked for and the GPU allocated.
    jobs = {job["Comment"].split("_wildcards_")[0].removeprefix("rule_"): job for job in cluster.jobs()
            if job.get("Comment", "").startswith("rule_")}
    assert sorted(jobs) == ["evaluate", "prepare", "train"], jobs
    assert all(job["JobState"] == "COMPLETED" for job in jobs.values()), jobs
    for rule in ("train", "evaluate"):
        assert jobs[rule]["Partition"] == "gpu"
        assert jobs[rule]["TresPerJob"] == "gres:gpu:1"
        assert jobs[rule]["JOB_GRES"] == "gpu:1"
    assert jobs["prepare"]["Partition"] == "cpu" and jobs["prepare"].get("JOB_GRES", "(null)") == "(null)"

    # Logs where the README says: sbatch's output per job, and each rule's own log.
    for rule, wildcards in (("prepare", "synthetic_digits"), ("train", "mnist_infogan_1"),
                            ("evaluate", "mnist_infogan_1")):
        job_id = jobs[rule]["JobId"]
        assert (root / f"results/logs/slurm/rule_{rule}/{wildcards}/{job_id}.log").is_file(), (rule, job_id)
    assert (root / "results/logs/train/mnist_infogan/seed1.log").is_file()
    # No GPU here: `--device auto` fell back to the CPU inside the GPU job.
    assert json.loads((root / RUN / "run.json").read_text())["device"] == "cpu"
    summary = [f"SLURM run of {TARGET}: {seconds:.0f} s"]
    for rule in ("prepare", "train", "evaluate"):
        job = jobs[rule]
        granted = (f"{rule}: SLURM job {job['JobId']} {job['JobState']} partition={job['Partition']} "
                   f"TresPerJob={job.get('TresPerJob', '(null)')} JOB_GRES={job.get('JOB_GRES', '(null)')}")
        summary += [f"{rule}:{calls[rule][0]}", granted]
    print("\n".join(summary))
    # CI prints this file after the tests, so its log shows what was submitted and granted.
    artifacts = os.environ.get("INFOGAN_TEST_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        (Path(artifacts) / "slurm_submissions.txt").write_text("\n".join(summary) + "\n")


TIMINGS = {"train_seconds", "images_per_second"}


def differences(a, b, path=""):
    """Where two outputs differ (tensors bit for bit), leaving out wall times and speeds,
    the only things that may differ between two runs of the same job."""
    import torch

    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return [] if a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b) else [path]
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{path} keys {sorted(a.keys() ^ b.keys())}"]
        return [d for key in a if key not in TIMINGS for d in differences(a[key], b[key], f"{path}.{key}")]
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [f"{path} length"]
        return [d for index, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}.{index}")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def test_outputs_match_a_local_run(slurm_run, local_run):
    import torch

    slurm_root = slurm_run[0]
    # CPU training with one thread and the same seed is deterministic: the same weights, bit
    # for bit, the same training curve and the same evaluation, number for number.
    on_slurm = torch.load(slurm_root / RUN / "final.pt", weights_only=True)
    assert sum(1 for _ in on_slurm["generator"].values()) > 5
    assert differences(on_slurm, torch.load(local_run / RUN / "final.pt", weights_only=True)) == []
    curves = [[json.loads(line) for line in (root / RUN / "metrics.jsonl").read_text().splitlines()]
              for root in (slurm_root, local_run)]
    assert len(curves[0]) == 2 and differences(*curves) == []
    # Trained under the same conditions: device (the CPU), threads, versions, data.
    runs = [json.loads((root / RUN / "run.json").read_text()) for root in (slurm_root, local_run)]
    assert runs[0]["threads"] == 1 and differences(*runs) == []
    evaluations = [json.loads((root / TARGET).read_text()) for root in (slurm_root, local_run)]
    assert differences(*evaluations) == []
    assert 0 <= evaluations[0]["categorical_accuracy"] <= 1
