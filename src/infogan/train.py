"""One training run: an experiment, a seed and a dataset file make a run directory
(its files: `infogan.rundir`).

Each iteration is one D/Q step then one G step, as in the paper and the authors' code:

- D/Q step: D learns real against fake; Q (a head on D's body) learns to predict the
  codes of generated images, maximising L_I, weighted by lambda per code type.
- G step: G makes D call its images real and, for InfoGAN, makes its codes predictable
  by Q (the L_I term), on the D step's generated batch or, with `generator_step_latent:
  fresh` (the released code), on a newly drawn one. The GAN baseline skips that term.
  D's weights are frozen during this step, so their gradients, which the step would throw
  away, are never computed.

Same command, same numbers: on the CPU a run is deterministic for a given seed, and a
run stopped at any point (even killed) and started again with the same command
continues from its last checkpoint to exactly the weights of an uninterrupted run.
Batches are drawn from a per-epoch permutation that depends only on (seed, epoch), so
resuming needs no data-loader state; all RNG states travel in the checkpoint.
"""

import contextlib
import hashlib
import json
import math
import platform
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml

from infogan import __version__, checkpoint, rundir
from infogan.allocator import keep_freed_memory
from infogan.atomic import atomic_path, write_json
from infogan.config import ExperimentConfig
from infogan.data.hdf5 import read_info, read_split
from infogan.errors import CheckpointError, DatasetFileError, InfoganError, Stopped, TrainingDiverged
from infogan.nets import build_networks
from infogan.progress import progress

# The defaults of `infogan train` (the pipeline's configs state their own, in `train`).
CHECKPOINT_EVERY = 500  # iterations between resumable checkpoints
LOG_EVERY = 10  # iterations between metrics lines: Figure 1's resolution
LOGGED = ("d_loss", "g_loss", "mi_categorical", "mi_continuous", "d_real", "d_fake")


def resolve_device(requested="auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise InfoganError("--device cuda: no CUDA device is visible here; use --device cpu or auto")
    return torch.device(requested)


def bf16_available(device: torch.device) -> bool:
    """Whether bfloat16 matrix products run natively (else autocast would only slow things down)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def set_up_process(config: ExperimentConfig, device: torch.device):
    """What training sets for the whole process (and the benchmark, to time the same thing):
    deterministic algorithms on the CPU, and glibc keeping freed memory where the config says so."""
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True)
        if config.speed.keep_freed_memory:
            keep_freed_memory()


def autocast_for(config: ExperimentConfig, device: torch.device):
    """(a function giving a fresh autocast context for one step, whether it uses bfloat16)."""
    use_bf16 = config.speed.bf16_autocast and bf16_available(device)
    return (lambda: torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16)), use_bf16


# --- data -------------------------------------------------------------------------------


def load_training_images(data_path, config: ExperimentConfig, device):
    """The training split as one uint8 tensor on `device`, checked against the experiment,
    and a description of the data, with a hash of exactly the images trained on."""
    info = read_info(data_path)
    if info.image_shape != config.image_shape:
        raise DatasetFileError(
            f"{data_path}: images are {list(info.image_shape)}, experiment {config.name!r} needs "
            f"{list(config.image_shape)}; pick the dataset file made for it"
        )
    images = torch.from_numpy(read_split(data_path, "train").images)
    if config.train_images is not None:
        images = images[: config.train_images] if config.train_images_from == "first" else images[-config.train_images:]
    if len(images) < config.batch_size:
        raise DatasetFileError(f"{data_path}: {len(images)} training images, fewer than one batch of {config.batch_size}")
    description = {"path": str(info.path), "dataset": info.dataset, "source": info.source,
                   "images_sha256": hashlib.sha256(images.numpy().tobytes()).hexdigest()}
    return images.to(device), info, description


class EpochBatches:
    """Batch indices for iteration i: shuffled epochs (dropping the last partial batch),
    each permutation a function of (seed, epoch) alone, so any iteration can be resumed."""

    def __init__(self, n_images, batch_size, seed, device):
        self.n_images, self.batch_size, self.seed, self.device = n_images, batch_size, seed, device
        self.batches_per_epoch = n_images // batch_size
        self._epoch, self._order = None, None

    def indices(self, iteration):
        epoch, position = divmod(iteration, self.batches_per_epoch)
        if epoch != self._epoch:
            rng = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._order = torch.randperm(self.n_images, generator=rng).to(self.device)
            self._epoch = epoch
        return self._order[position * self.batch_size:(position + 1) * self.batch_size]


def to_network_range(images_uint8, output_range, channels_last):
    """uint8 pixels to the generator's output range (`config.output_range`: [0, 1] for sigmoid,
    [-1, 1] for tanh)."""
    low, high = output_range
    images = images_uint8.float().mul_((high - low) / 255.0).add_(low)
    return images.contiguous(memory_format=torch.channels_last) if channels_last else images


# --- state --------------------------------------------------------------------------------


@dataclass
class TrainingState:
    generator: torch.nn.Module
    discriminator: torch.nn.Module
    opt_generator: torch.optim.Optimizer
    opt_discriminator: torch.optim.Optimizer
    latent_rng: torch.Generator
    iteration: int = 0
    train_seconds: float = 0.0


def new_state(config: ExperimentConfig, seed: int, device) -> TrainingState:
    """Networks initialised from `seed`, fresh Adam optimizers, a latent RNG seeded from `seed`."""
    torch.manual_seed(seed)
    generator, discriminator = build_networks(
        config.network, config.latent, config.image_shape, config.leaky_relu_slope, config.init_std,
        config.generator_output,
    )
    memory_format = torch.channels_last if config.speed.channels_last else torch.contiguous_format
    generator = generator.to(device, memory_format=memory_format)
    discriminator = discriminator.to(device, memory_format=memory_format)
    fused = config.speed.fused_adam
    opt_d = torch.optim.Adam(discriminator.parameters(), config.lr_discriminator, betas=config.adam_betas, fused=fused)
    opt_g = torch.optim.Adam(generator.parameters(), config.lr_generator, betas=config.adam_betas, fused=fused)
    latent_rng = torch.Generator(device).manual_seed(seed)
    return TrainingState(generator, discriminator, opt_g, opt_d, latent_rng)


def resumable_payload(state: TrainingState, config, seed, data) -> dict:
    rng = {"latent": state.latent_rng.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return {
        **final_payload(state, config, seed, data),
        "opt_generator": state.opt_generator.state_dict(),
        "opt_discriminator": state.opt_discriminator.state_dict(),
        "rng": rng,
    }


def final_payload(state: TrainingState, config, seed, data) -> dict:
    return {
        "experiment": config.name,
        "config": config.to_dict(),
        "fingerprint": config.fingerprint(),
        "seed": seed,
        "iteration": state.iteration,
        "train_seconds": state.train_seconds,
        "data": data,
        "generator": state.generator.state_dict(),
        "discriminator": state.discriminator.state_dict(),
    }


def non_finite_tensors(state: TrainingState) -> list[str]:
    """The names of the networks' weights and buffers and the optimizers' state tensors that
    hold a NaN or an infinity: a finite loss does not prove finite weights (the loss is computed
    before the update that may break them), so this is checked before anything is saved."""
    named = [(f"generator.{n}", t) for n, t in (*state.generator.named_parameters(), *state.generator.named_buffers())]
    named += [(f"discriminator.{n}", t) for n, t in
              (*state.discriminator.named_parameters(), *state.discriminator.named_buffers())]
    for label, optimizer in (("generator optimizer", state.opt_generator),
                             ("discriminator optimizer", state.opt_discriminator)):
        named += [(f"{label} state {i}.{key}", value) for i, param_state in enumerate(optimizer.state.values())
                  for key, value in param_state.items() if torch.is_tensor(value)]
    named = [(name, t) for name, t in named if t.is_floating_point()]
    # A NaN or an infinity anywhere in a tensor makes its sum non-finite, so one sum per tensor
    # screens them all: a read of each tensor, where `isfinite(t).all()` also writes a mask as
    # large (20x faster: 8 against 135 ms for mnist_infogan, 24 against 775 ms for the chairs).
    # Finite values can add up to an overflow too, so a suspect is then checked element-wise.
    sums_finite = torch.isfinite(torch.stack([t.sum() for _, t in named])).tolist()
    return [name for (name, t), ok in zip(named, sums_finite) if not ok and not bool(torch.isfinite(t).all())]


def restore(state: TrainingState, payload: dict):
    state.generator.load_state_dict(payload["generator"])
    state.discriminator.load_state_dict(payload["discriminator"])
    state.opt_generator.load_state_dict(payload["opt_generator"])
    state.opt_discriminator.load_state_dict(payload["opt_discriminator"])
    state.latent_rng.set_state(payload["rng"]["latent"])
    torch.set_rng_state(payload["rng"]["torch"])
    if "cuda" in payload["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(payload["rng"]["cuda"])
    state.iteration = payload["iteration"]
    state.train_seconds = payload["train_seconds"]


# --- one iteration ------------------------------------------------------------------------


@contextlib.contextmanager
def frozen(module):
    """Stop gradients into `module`'s parameters for the duration (they still pass through it)."""
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def discriminate(d, real, fake, config: ExperimentConfig, q_trains_body=True, judge_real=True):
    """D's logits on real and fake images and Q's output on the fake ones.

    With "separate" batches (the authors' code) D's batch norm normalises the real batch
    and the fake batch each by its own statistics, so whatever shifts a whole batch (a
    generator still drawing grey where every real image is white) is invisible to D's
    deeper layers. A "joint" batch shares the statistics, so D sees such differences at
    once; the generator's step must then use the same joint batch, or D would judge its
    images by other statistics than it was trained with. `q_trains_body=False` stops Q's
    gradient at D's body (the GAN baseline's D step). With `judge_real=False` (the
    generator's step) separate batches skip the real images; D's logit on them is None.
    """
    if config.discriminator_batch == "separate":
        if not judge_real:
            d_fake, q_fake = d(fake, q_trains_body=q_trains_body)
            return None, d_fake, q_fake
        if config.speed.stacked_batches:
            logits, q = d(torch.cat([real, fake]), q_trains_body=q_trains_body, stacked=2)
            return logits[:real.shape[0]], logits[real.shape[0]:], q[real.shape[0]:]
        d_real = d(real)[0]
        d_fake, q_fake = d(fake, q_trains_body=q_trains_body)
        return d_real, d_fake, q_fake
    batch = real.shape[0]
    logits, q = d(torch.cat([real, fake]), q_trains_body=q_trains_body)
    return logits[:batch], logits[batch:], q[batch:]


def training_step(state: TrainingState, config: ExperimentConfig, real, autocast):
    """One D/Q step and one G step; returns the logged quantities as one detached tensor."""
    spec, g, d = config.latent, state.generator, state.discriminator
    scale = config.lambda_scale(state.iteration)
    lambda_categorical, lambda_continuous = scale * config.lambda_categorical, scale * config.lambda_continuous
    batch = real.shape[0]
    sample = spec.sample(batch, state.latent_rng, real.device)
    ones, zeros = real.new_ones(batch), real.new_zeros(batch)

    with autocast():
        fake = g(spec.generator_input(sample))
        d_real, d_fake, q_fake = discriminate(d, real, fake.detach(), config, config.mutual_information_trains_body)
    mi_categorical, mi_continuous = spec.mutual_information(q_fake, sample)
    mi_weighted = lambda_categorical * mi_categorical + lambda_continuous * mi_continuous
    d_loss = (F.binary_cross_entropy_with_logits(d_real.float(), ones)
              + F.binary_cross_entropy_with_logits(d_fake.float(), zeros))
    state.opt_discriminator.zero_grad(set_to_none=True)
    (d_loss - mi_weighted).backward()
    state.opt_discriminator.step()

    if config.generator_step_latent == "fresh":
        sample = spec.sample(batch, state.latent_rng, real.device)
        with autocast():
            fake = g(spec.generator_input(sample))
    with frozen(d), autocast():
        _, d_fake_for_g, q_fake_for_g = discriminate(d, real, fake, config, judge_real=False)
    g_loss = F.binary_cross_entropy_with_logits(d_fake_for_g.float(), ones)
    g_objective = g_loss
    if config.generator_mutual_information:
        mi_cat_g, mi_cont_g = spec.mutual_information(q_fake_for_g, sample)
        g_objective = g_loss - (lambda_categorical * mi_cat_g + lambda_continuous * mi_cont_g)
    state.opt_generator.zero_grad(set_to_none=True)
    g_objective.backward()
    state.opt_generator.step()

    return torch.stack([
        d_loss, g_loss, mi_categorical, mi_continuous,
        torch.sigmoid(d_real.float()).mean(), torch.sigmoid(d_fake.float()).mean(),
    ]).detach()


# --- the run ------------------------------------------------------------------------------


class StopRequested:
    """Turns SIGINT/SIGTERM into a flag checked between iterations, so a stop writes a
    checkpoint at an iteration boundary instead of losing the work since the last one."""

    def __init__(self):
        self.signal = None

    def __enter__(self):
        self._previous = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def _handle(self, signum, frame):
        if self.signal is not None:  # a second signal: stop at once
            raise KeyboardInterrupt
        self.signal = signum

    def __exit__(self, *exc):
        for s, handler in self._previous.items():
            signal.signal(s, handler)


def _logged_iteration(line):
    """The iteration of a metrics line, or None for a line cut short by a crash."""
    try:
        return json.loads(line)["iteration"]
    except (json.JSONDecodeError, KeyError, TypeError):
        return None


def _trim_metrics(path: Path, up_to_iteration: int):
    """Keep only the complete log lines a resumed run will not write again."""
    if not path.exists():
        return
    kept = [line for line in path.read_text().splitlines()
            if (_logged_iteration(line) or math.inf) <= up_to_iteration]
    with atomic_path(path) as tmp:
        tmp.write_text("".join(line + "\n" for line in kept))


def train(config: ExperimentConfig, data_path, run_dir, seed=1, checkpoint_every=CHECKPOINT_EVERY, log_every=LOG_EVERY,
          device="auto", show_progress=True) -> Path:
    """Train `config` on `data_path` into `run_dir`, resuming from `run_dir/checkpoint.pt` if present.

    Returns the path of `final.pt`. If it already exists for this config and seed, does nothing.
    One process at a time trains a run: a second one is refused (`rundir.sole_writer`). Bad
    data is refused before anything is written, the run folder included.
    """
    run_dir = Path(run_dir)
    if _finished(config, run_dir, seed):
        return rundir.files(run_dir).final
    device = resolve_device(device)
    loaded = load_training_images(data_path, config, device)
    with rundir.sole_writer(run_dir):
        if _finished(config, run_dir, seed):  # another process finished it meanwhile
            return rundir.files(run_dir).final
        return _train_as_sole_writer(config, data_path, run_dir, seed, checkpoint_every, log_every, device,
                                     show_progress, *loaded)


def _finished(config, run_dir, seed) -> bool:
    """Whether the run already has its final.pt for this config and seed (one of other settings,
    or of fewer iterations, is refused by name)."""
    final_path = rundir.files(run_dir).final
    if not final_path.exists():
        return False
    payload = checkpoint.load(final_path)
    checkpoint.check_matches(payload, final_path, config, seed)
    if payload["iteration"] < config.iterations:
        raise InfoganError(f"{final_path}: run finished at iteration {payload['iteration']}, fewer than "
                           f"{config.iterations}; delete it to train again")
    info_path = rundir.files(run_dir).info
    if info_path.exists():  # a process killed between final.pt and run.json left it unfinished
        info = json.loads(info_path.read_text())
        if not info.get("finished"):
            write_json(info_path, {**info, "finished": True, "train_seconds": payload["train_seconds"]})
    return True


def _train_as_sole_writer(config, data_path, run_dir, seed, checkpoint_every, log_every, device, show_progress,
                          images, data_info, data):
    run_files = rundir.files(run_dir)
    final_path, resumable_path = run_files.final, run_files.resumable
    autocast, use_bf16 = autocast_for(config, device)
    set_up_process(config, device)
    state = new_state(config, seed, device)
    if resumable_path.exists():
        payload = checkpoint.load(resumable_path, map_location=device)
        checkpoint.check_matches(payload, resumable_path, config, seed)
        if payload["data"].get("images_sha256") != data["images_sha256"]:
            raise CheckpointError(f"{resumable_path}: trained on other images ({payload['data']['source']} "
                                  f"{payload['data']['path']}) than those in {data_path}; use another --out")
        if payload["iteration"] > config.iterations:
            raise CheckpointError(f"{resumable_path}: already at iteration {payload['iteration']}, past the "
                                  f"{config.iterations} asked for; ask for {payload['iteration']} or more, or "
                                  "delete it to train again from the start")
        restore(state, payload)
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in run_dir.glob(".*.part"):  # left by a process killed while writing a checkpoint
        stale.unlink()
    metrics_path = run_files.metrics
    _trim_metrics(metrics_path, state.iteration)
    with atomic_path(run_files.config) as tmp:
        tmp.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    provenance = {
        "experiment": config.name, "seed": seed, "iterations": config.iterations,
        "data": {**data, "description": data_info.description, "raw_checksums": data_info.raw_checksums},
        "device": device.type if device.type == "cpu" else torch.cuda.get_device_name(device),
        "bf16_autocast_used": use_bf16, "threads": torch.get_num_threads(),
        "versions": {"infogan": __version__, "torch": torch.__version__, "python": platform.python_version()},
        "resumed_from_iteration": state.iteration,
    }
    write_json(run_files.info, {**provenance, "finished": False})

    batches = EpochBatches(len(images), config.batch_size, seed, device)
    sums, since_log, interval_start = None, 0, time.perf_counter()
    bar = progress(total=config.iterations, initial=state.iteration, unit="it", disable=not show_progress,
                   desc=f"{config.name} seed {seed} [{data_info.source}]")

    def last_good():
        if not resumable_path.exists():
            return "no checkpoint was saved before it"
        return f"the last good checkpoint, {resumable_path} (iteration {checkpoint.load(resumable_path)['iteration']}), is untouched"

    def check_finite(values, iteration):
        if not all(math.isfinite(v) for v in values):
            named = ", ".join(f"{k}={v}" for k, v in zip(LOGGED, values))
            raise TrainingDiverged(f"{run_dir}: loss is not finite at iteration {iteration} ({named}); {last_good()}")
        broken = non_finite_tensors(state)
        if broken:
            shown = ", ".join(broken[:4]) + (f" and {len(broken) - 4} more" if len(broken) > 4 else "")
            raise TrainingDiverged(f"{run_dir}: weights are not finite at iteration {iteration} ({shown}); "
                                   f"{last_good()}")

    with StopRequested() as stop, bar:
        state.generator.train()
        state.discriminator.train()
        while state.iteration < config.iterations:
            real = to_network_range(images[batches.indices(state.iteration)], config.output_range,
                                    config.speed.channels_last)
            step_values = training_step(state, config, real, autocast)
            sums = step_values if sums is None else sums + step_values
            since_log += 1
            state.iteration += 1
            bar.update(1)
            due_log = state.iteration % log_every == 0 or state.iteration == config.iterations
            due_checkpoint = state.iteration % checkpoint_every == 0 or stop.signal is not None
            if due_log or due_checkpoint:
                elapsed = time.perf_counter() - interval_start
                state.train_seconds += elapsed
                means = (sums / since_log).tolist()
                check_finite(means, state.iteration)
                record = {"iteration": state.iteration, **dict(zip(LOGGED, means)),
                          "images_per_second": since_log * config.batch_size / elapsed}
                with open(metrics_path, "a") as log:
                    log.write(json.dumps(record) + "\n")
                shown = {f"L_I_{kind}": f"{record[f'mi_{kind}']:.3f}" for kind, present in
                         (("categorical", config.latent.categorical), ("continuous", config.latent.continuous)) if present}
                bar.set_postfix(**shown, img_s=f"{record['images_per_second']:.0f}", refresh=False)
                sums, since_log, interval_start = None, 0, time.perf_counter()
            if due_checkpoint and state.iteration < config.iterations:
                checkpoint.save(resumable_payload(state, config, seed, data), resumable_path)
            if stop.signal is not None and state.iteration < config.iterations:
                raise Stopped(f"stopped by signal {stop.signal} at iteration {state.iteration}; "
                              f"{resumable_path} saved, run the same command to continue", stop.signal)

    checkpoint.save(final_payload(state, config, seed, data), final_path)
    resumable_path.unlink(missing_ok=True)
    write_json(run_files.info, {**provenance, "finished": True, "train_seconds": state.train_seconds})
    return final_path
