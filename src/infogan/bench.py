"""Training throughput: the real training step on random images, timed after a warm-up.

Compare with `python ../shared/bench/reference_loop.py --threads 2`, the way most
public ports train (Dataset + DataLoader with per-image PIL transforms, fp32).
"""

import platform
import resource
import time

import torch

from infogan.config import ExperimentConfig
from infogan.errors import InfoganError
from infogan.train import EpochBatches, autocast_for, new_state, resolve_device, to_network_range, training_step


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def benchmark(config: ExperimentConfig, iterations=30, warmup=5, device="cpu", threads=2, n_images=10_000, seed=0):
    """Time `iterations` training steps of `config`; returns the numbers as a dict."""
    if iterations < 1:
        raise InfoganError(f"--iterations must be at least 1, got {iterations}")
    if threads:
        torch.set_num_threads(threads)
    device = resolve_device(device)
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n_images, *config.image_shape), dtype=torch.uint8, generator=generator).to(device)
    state = new_state(config, seed, device)
    batches = EpochBatches(n_images, config.batch_size, seed, device)
    autocast, use_bf16 = autocast_for(config, device)

    def step(i):
        real = to_network_range(images[batches.indices(i)], config.network, config.speed.channels_last)
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
    return {
        "implementation": "infogan",
        "experiment": config.name,
        "iterations": iterations,
        "batch_size": config.batch_size,
        "seconds": round(seconds, 3),
        "iterations_per_second": round(iterations / seconds, 3),
        "images_per_second": round(iterations * config.batch_size / seconds, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "threads": torch.get_num_threads(),
        "device": device.type,
        "bf16_autocast_used": use_bf16,
        "speed": config.to_dict()["speed"],
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
    }
