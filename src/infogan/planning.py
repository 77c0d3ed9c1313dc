"""Planning numbers: what the whole paper costs, before anyone books a GPU.

The paper is dozens of independent training jobs (experiments x seeds). Their cost is
estimated from two things we can know on any machine:

- the networks' work: floating-point operations of one training iteration (D/Q step and
  G step, forward and backward), counted by PyTorch's `FlopCounterMode` on a real step at
  a tiny batch and scaled to the job's batch (every layer is linear in the batch size);
- the speed this machine actually reached: each finished run of the pipeline at hand (the
  demo's, say) records its iterations, batch and training seconds, from which follows the
  operations per second it sustained for its network on its device.

CPU-hours of the paper use the measured rate for each network. GPU-hours use a measured
GPU rate where a run was trained on a GPU; otherwise they are an estimate from stated
assumptions (a sustained rate in TFLOP/s plus a fixed overhead per iteration for kernel
launches and the optimizer, which dominates small networks), and say so. How the jobs
spread over N GPUs is the longest-job-first schedule of their durations: jobs are
independent, so N GPUs finish in about the time of the busiest one.
"""

import contextlib
import dataclasses
import functools
import json
from pathlib import Path

import torch
import yaml
from torch.utils.flop_counter import FlopCounterMode

from infogan.config import ExperimentConfig, load_experiment, run_overrides
from infogan.errors import InfoganError
from infogan.train import new_state, training_step

FLOP_COUNT_BATCH = 2  # BatchNorm needs more than one value per channel in training mode


@dataclasses.dataclass(frozen=True)
class Job:
    """One training job of a pipeline config: an experiment's resolved settings and a seed."""

    config: ExperimentConfig
    seed: int


def read_pipeline(pipeline_config) -> dict:
    path = Path(pipeline_config)
    try:
        pipeline = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InfoganError(f"{path}: cannot read the pipeline config ({exc})") from None
    if not isinstance(pipeline, dict):
        raise InfoganError(f"{path}: expected a pipeline config (a mapping), got {type(pipeline).__name__}")
    return pipeline


def gpu_assumptions(pipeline_config, gpu_tflops=None, gpu_overhead_ms=None) -> tuple[float, float]:
    """The assumed GPU rate and overhead per iteration where no run trained on a GPU: the values
    given, else the pipeline config's `planning` section (their one home)."""
    stated = read_pipeline(pipeline_config).get("planning") or {}
    tflops = stated.get("gpu_tflops") if gpu_tflops is None else gpu_tflops
    overhead = stated.get("gpu_overhead_ms") if gpu_overhead_ms is None else gpu_overhead_ms
    if tflops is None or overhead is None:
        raise InfoganError(f"{pipeline_config}: no planning.gpu_tflops and planning.gpu_overhead_ms; add them "
                           "(as in config/pipeline.yaml) or pass --gpu-tflops and --gpu-overhead-ms")
    return float(tflops), float(overhead)


def pipeline_jobs(pipeline_config, experiments_file=None) -> list[Job]:
    """Every training job a pipeline config (e.g. config/pipeline.yaml, the paper's) asks for."""
    pipeline = read_pipeline(pipeline_config)
    experiments_file = experiments_file or pipeline.get("experiments_file")
    jobs = []
    for name, run in (pipeline.get("runs") or {}).items():
        config = load_experiment(name, experiments_file, run_overrides(run, pipeline.get("iterations")))
        jobs += [Job(config, seed) for seed in run["seeds"]]
    return jobs


@functools.cache
def _flops_per_image(config: ExperimentConfig) -> float:
    small = dataclasses.replace(config, batch_size=FLOP_COUNT_BATCH)
    state = new_state(small, seed=0, device=torch.device("cpu"))
    real = torch.rand(FLOP_COUNT_BATCH, *config.image_shape)
    with FlopCounterMode(display=False) as counter:
        training_step(state, small, real, contextlib.nullcontext)
    return counter.get_total_flops() / FLOP_COUNT_BATCH


def flops_per_iteration(config: ExperimentConfig) -> float:
    """Floating-point operations of one training iteration of `config` at its batch size."""
    # The count depends on the networks and the batch, not on learning rates or seeds.
    key = dataclasses.replace(config, name="", description="", iterations=1, batch_size=1,
                              lr_discriminator=0.0, lr_generator=0.0)
    return _flops_per_image(key) * config.batch_size


@dataclasses.dataclass(frozen=True)
class Rate:
    """Operations per second one network sustained on one kind of device, from which runs, and
    at which batch sizes: a CPU sustains fewer operations per second on a small batch (the
    demo's 32) than on the paper's 128, so a rate says what it was measured at."""

    network: str
    device: str
    flops_per_second: float
    runs: tuple[str, ...]
    batch_sizes: tuple[int, ...] = ()


def measured_rates(runs) -> dict[tuple[str, str], Rate]:
    """{(network, device): Rate} from finished runs (`infogan.rundir.Run`: run.json and config)."""
    totals = {}
    for run in runs:
        info, config = run.info, run.config
        # train_seconds travels in the checkpoint, so a resumed run's covers all its iterations
        if not info.get("finished") or info.get("train_seconds", 0) <= 0 or info["iterations"] <= 0:
            continue  # nothing timed to learn from
        flops = flops_per_iteration(config) * info["iterations"]
        key = (config.network, "cuda" if str(info["device"]).startswith("cuda") else "cpu")
        seen_flops, seen_seconds, names, batches = totals.get(key, (0.0, 0.0, (), ()))
        totals[key] = (seen_flops + flops, seen_seconds + info["train_seconds"], (*names, str(run.path)),
                       tuple(sorted({*batches, config.batch_size})))
    return {key: Rate(key[0], key[1], flops / seconds, names, batches)
            for key, (flops, seconds, names, batches) in totals.items()}


def gpu_check_rates(path) -> dict[tuple[str, str], Rate]:
    """{(network, "cuda"): Rate} from `benchmarks/gpu_check.py`'s JSON: per network, the best
    measured step rate (default switches or channels-last), in place of the GPU assumptions."""
    try:
        measured = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InfoganError(f"{path}: cannot read the GPU check ({exc}); run benchmarks/gpu_check.py again") from None
    if measured.get("device") == "cpu" or measured.get("tiny"):
        raise InfoganError(f"{path}: made on {measured.get('device')}{' with --tiny' if measured.get('tiny') else ''}, "
                           "not a GPU measurement; run benchmarks/gpu_check.py on a GPU")
    best = {}
    for row in measured.get("throughput", []):
        if "step_gflops_per_second" in row:
            best[row["network"]] = max(best.get(row["network"], 0.0), row["step_gflops_per_second"] * 1e9)
    return {(network, "cuda"): Rate(network, "cuda", rate, (str(path),)) for network, rate in best.items()}


def makespan(durations, workers: int) -> float:
    """Wall time of independent jobs on `workers` equal devices, longest job first."""
    loads = [0.0] * workers
    for duration in sorted(durations, reverse=True):
        loads[loads.index(min(loads))] += duration
    return max(loads)


def plan(jobs, rates, gpu_tflops, gpu_overhead_ms, gpu_counts=(1, 2, 4, 8)) -> dict:
    """Per experiment and in total: work, CPU-hours at the measured rate, GPU-hours, and the
    wall time on N GPUs. Plain data for the report and for `infogan plan`."""
    cpu_fallback = _pooled(rates, "cpu")
    rows, gpu_job_hours = [], []
    for name in dict.fromkeys(job.config.name for job in jobs):
        group = [job for job in jobs if job.config.name == name]
        config = group[0].config
        per_iteration = flops_per_iteration(config)
        total = per_iteration * sum(job.config.iterations for job in group)
        cpu = rates.get((config.network, "cpu"))
        cpu_rate = cpu.flops_per_second if cpu else cpu_fallback
        gpu = rates.get((config.network, "cuda"))
        if gpu:
            hours_each = [per_iteration * job.config.iterations / gpu.flops_per_second / 3600 for job in group]
        else:
            hours_each = [job.config.iterations * (per_iteration / (gpu_tflops * 1e12) + gpu_overhead_ms / 1e3) / 3600
                          for job in group]
        gpu_job_hours += hours_each
        rows.append({
            "experiment": name, "network": config.network, "jobs": len(group),
            "iterations": sorted({job.config.iterations for job in group}), "batch_size": config.batch_size,
            "gflop_per_iteration": per_iteration / 1e9, "pflop_total": total / 1e15,
            "cpu_rate_gflops": cpu_rate / 1e9 if cpu_rate else None,
            "cpu_rate_measured_on": "this network" if cpu else ("other networks" if cpu_rate else None),
            "cpu_hours": total / cpu_rate / 3600 if cpu_rate else None,
            "gpu_hours": sum(hours_each), "gpu_hours_measured": gpu is not None,
        })
    cpu_hours = [row["cpu_hours"] for row in rows]
    return {
        "experiments": rows,
        "jobs": len(jobs),
        "pflop_total": sum(row["pflop_total"] for row in rows),
        "cpu_hours": None if None in cpu_hours else sum(cpu_hours),
        "gpu_hours": sum(gpu_job_hours),
        "gpu_wall_hours": {str(n): makespan(gpu_job_hours, n) for n in gpu_counts},
        "assumptions": {"gpu_tflops": gpu_tflops, "gpu_overhead_ms": gpu_overhead_ms},
        "rates": [dataclasses.asdict(rate) for rate in rates.values()],
    }


def _pooled(rates, device):
    """One rate over all networks measured on `device`, for networks not measured themselves."""
    measured = [rate.flops_per_second for rate in rates.values() if rate.device == device]
    return sum(measured) / len(measured) if measured else None


def _batches(rates, device) -> str:
    """The batch sizes the `device` rates were measured at, e.g. '32' or '16/32' ('' if none)."""
    return "/".join(str(b) for b in sorted({b for rate in rates if rate["device"] == device
                                             for b in rate["batch_sizes"]}))


def _hours(value) -> str:
    if value is None:
        return "n/a"
    if value >= 1:
        return f"{value:,.1f} h"
    return f"{value * 60:.0f} min" if value >= 1 / 6 else f"{value * 60:.1f} min"


def format_plan(result: dict) -> str:
    """The plan as a plain-text table, for the terminal and the README."""
    lines = [f"{'experiment':<16} {'jobs':>4} {'its':>7} {'GFLOP/it':>9} {'PFLOP':>7} "
             f"{'CPU rate':>13} {'CPU-hours':>11} {'GPU-hours':>10}"]
    for row in result["experiments"]:
        rate = f"{row['cpu_rate_gflops']:.0f} GFLOP/s" if row["cpu_rate_gflops"] else "unmeasured"
        if row["cpu_rate_measured_on"] == "other networks":
            rate += "*"
        iterations = ",".join(str(n) for n in row["iterations"])
        lines.append(f"{row['experiment']:<16} {row['jobs']:>4} {iterations:>7} {row['gflop_per_iteration']:>9.1f} "
                     f"{row['pflop_total']:>7.2f} {rate:>13} {_hours(row['cpu_hours']):>11} "
                     f"{_hours(row['gpu_hours']) + ('' if row['gpu_hours_measured'] else ' est'):>10}")
    lines.append(f"{'total':<16} {result['jobs']:>4} {'':>7} {'':>9} {result['pflop_total']:>7.2f} {'':>13} "
                 f"{_hours(result['cpu_hours']):>11} {_hours(result['gpu_hours']):>10}")
    spread = ", ".join(f"{n} GPU{'s' if n != '1' else ''}: {_hours(h)}" for n, h in result["gpu_wall_hours"].items())
    assumptions = result["assumptions"]
    lines += ["", f"wall time on N GPUs (longest job first): {spread}",
              f"'est': no run of that network trained on a GPU here; assumed {assumptions['gpu_tflops']:g} TFLOP/s "
              f"sustained + {assumptions['gpu_overhead_ms']:g} ms per iteration.",
              "CPU rate: measured by this pipeline's runs of the same network (*: of other networks, pooled)"
              + (f", at batch {batches}; a smaller batch than a job's makes its CPU-hours an overestimate."
                 if (batches := _batches(result["rates"], "cpu")) else ".")]
    return "\n".join(lines)
