"""Training throughput: the real training step on random images, timed after a warm-up,
set against the machine's own limit measured in the same run.

The step's achieved rate (FLOPs per iteration counted as `infogan plan` counts them, over
the measured time) is divided by the rate of one large matrix product in the dtype the step
computes in (bfloat16 where autocast uses it, else float32) on the same device and threads:
how close the step comes to what this machine can do, whichever machine it is. Compare with
`python ../shared/bench/reference_loop.py --threads 2`, the way most public ports train
(Dataset + DataLoader with per-image PIL transforms, fp32).
"""

import platform
import resource
import time
from pathlib import Path

import torch

from infogan.config import ExperimentConfig
from infogan.errors import InfoganError
from infogan.planning import flops_per_iteration
from infogan.train import (
    EpochBatches,
    autocast_for,
    new_state,
    resolve_device,
    set_up_process,
    to_network_range,
    training_step,
)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


CPU_FEATURES = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
MATMUL_SIZE = 2048


def cpu_features() -> list[str]:
    """The matrix-relevant instruction sets this CPU reports (Linux /proc/cpuinfo), and the
    kernel level PyTorch picked for it."""
    cpuinfo = Path("/proc/cpuinfo")
    flags = set()
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    return [f for f in CPU_FEATURES if f in flags] + [f"torch kernels: {torch.backends.cpu.get_cpu_capability()}"]


def matmul_gflops(device, dtype, size=MATMUL_SIZE, repeats=5) -> float:
    """The machine's own rate: the best of `repeats` size x size matrix products, in GFLOP/s."""
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    torch.mm(a, b)  # warm-up: kernel choice, memory
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        torch.mm(a, b)
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def benchmark(config: ExperimentConfig, iterations=30, warmup=5, device="cpu", threads=2, n_images=10_000, seed=0,
              matmul_size=MATMUL_SIZE):
    """Time `iterations` training steps of `config`; returns the numbers as a dict."""
    if iterations < 1:
        raise InfoganError(f"--iterations must be at least 1, got {iterations}")
    if threads:
        torch.set_num_threads(threads)
    device = resolve_device(device)
    set_up_process(config, device)  # as training does
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n_images, *config.image_shape), dtype=torch.uint8, generator=generator).to(device)
    state = new_state(config, seed, device)
    batches = EpochBatches(n_images, config.batch_size, seed, device)
    autocast, use_bf16 = autocast_for(config, device)

    def step(i):
        real = to_network_range(images[batches.indices(i)], config.output_range, config.speed.channels_last)
        return training_step(state, config, real, autocast)

    for i in range(warmup):
        step(i)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for i in range(warmup, warmup + iterations):
        values = step(i)
    values.tolist()  # wait for the last step to finish
    seconds = time.perf_counter() - start
    step_gflops = flops_per_iteration(config) * iterations / seconds / 1e9
    dtype = torch.bfloat16 if use_bf16 else torch.float32
    limit = matmul_gflops(device, dtype, matmul_size)
    bf16_reason = ("on: native bfloat16 matrix products" if use_bf16 else
                   "off: switched off in the config" if not config.speed.bf16_autocast else
                   "off: no native bfloat16 matrix products on this device")
    return {
        "implementation": "infogan",
        "experiment": config.name,
        "iterations": iterations,
        "batch_size": config.batch_size,
        "seconds": round(seconds, 3),
        "iterations_per_second": round(iterations / seconds, 3),
        "images_per_second": round(iterations * config.batch_size / seconds, 1),
        "step_gflops_per_second": round(step_gflops, 1),
        "matmul_gflops_per_second": round(limit, 1),
        "matmul": f"{matmul_size}x{matmul_size} {str(dtype).removeprefix('torch.')}, best of 5",
        "efficiency": round(step_gflops / limit, 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "threads": torch.get_num_threads(),
        "device": device.type,
        "bf16_autocast_used": use_bf16,
        "bf16_autocast": bf16_reason,
        "cpu_features": cpu_features() if device.type == "cpu" else [],
        "speed": config.to_dict()["speed"],
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
    }
