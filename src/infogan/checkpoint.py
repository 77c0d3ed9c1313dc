"""Checkpoint files: what a run saves, and the checks made when one is loaded.

Two kinds, one format (a dict of tensors and plain data, loadable with
`torch.load(weights_only=True)`, so no pickled code runs on load):

- `checkpoint.pt`: everything needed to continue training exactly where it stopped
  (networks, optimizers, iteration, every RNG state), rewritten atomically every N
  iterations;
- `final.pt`: the trained networks, the resolved config and the run's provenance,
  written once at the end. Evaluation, figures and DVC use only this one.
"""

import pickle
from pathlib import Path

import torch

from infogan import rundir
from infogan.atomic import atomic_path
from infogan.config import config_from_dict
from infogan.errors import CheckpointError, ConfigError
from infogan.nets import build_networks

CHECKPOINT_FORMAT = 1


def save(payload: dict, destination):
    """Write `payload` atomically, stamped with the format version."""
    with atomic_path(destination) as tmp:
        torch.save({"format": CHECKPOINT_FORMAT, **payload}, tmp)


def load(path, map_location="cpu") -> dict:
    """Read a checkpoint; a missing, truncated or foreign file raises CheckpointError naming it."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:  # torch's own message would advise loading it unsafely
        message = str(exc)
        if "Unsupported global: GLOBAL " in message:
            found = message.split("Unsupported global: GLOBAL ", 1)[1].split()[0]
            raise CheckpointError(f"{path}: holds pickled Python objects ({found}), which no infogan checkpoint "
                                  "contains, so it is refused unread (unpickling runs code); use a checkpoint "
                                  "written by `infogan train`") from None
        detail = next((line.strip() for line in message.splitlines()[1:] if line.strip() and "error" not in line), "")
        raise CheckpointError(f"{path}: unreadable checkpoint (not a valid checkpoint pickle: {detail})") from None
    except Exception as exc:  # torch raises many types for a damaged zip or pickle
        raise CheckpointError(f"{path}: unreadable checkpoint ({type(exc).__name__}: {exc})".splitlines()[0]) from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not an infogan checkpoint of format {CHECKPOINT_FORMAT}")
    return payload


def check_matches(payload, path, config, seed):
    """Refuse a checkpoint made by another experiment, other settings or another seed."""
    if payload["experiment"] != config.name:
        raise CheckpointError(
            f"{path}: checkpoint of experiment {payload['experiment']!r}, not {config.name!r}; "
            "use another --out directory or delete the checkpoint"
        )
    if payload["fingerprint"] != config.fingerprint():
        raise CheckpointError(
            f"{path}: checkpoint made with other settings of {config.name!r} (config changed since); "
            "use another --out directory or delete the checkpoint"
        )
    if payload["seed"] != seed:
        raise CheckpointError(f"{path}: checkpoint of seed {payload['seed']}, not {seed}; use another --out directory")


def load_trained(run_dir, device="cpu"):
    """Load a finished run's `final.pt`: (config, generator, discriminator, payload), in eval mode."""
    path = rundir.files(run_dir).final
    payload = load(path, map_location=device)
    try:
        config = config_from_dict(payload["config"])
    except (KeyError, ConfigError) as exc:
        raise CheckpointError(f"{path}: its saved config is unusable ({exc})") from None
    # Built on the meta device, uninitialised, and then handed the file's tensors (`assign`,
    # already on `device`): a random initialisation (half a second for the chairs networks,
    # paid by each figure panel and each evaluation) would only be thrown away, and so would
    # empty memory to copy into (`to_empty` on meta tensors also imports sympy, 0.3 s).
    with torch.device("meta"):
        generator, discriminator = build_networks(
            config.network, config.latent, config.image_shape, config.leaky_relu_slope, config.init_std,
            config.generator_output, initialise=False,
        )
    try:
        generator.load_state_dict(payload["generator"], assign=True)
        discriminator.load_state_dict(payload["discriminator"], assign=True)
    except (KeyError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: weights do not fit the {config.network!r} networks ({exc})".splitlines()[0]) from None
    return config, generator.eval(), discriminator.eval(), payload
