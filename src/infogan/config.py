"""Experiment configs: load from YAML, resolve `extends`, check every key.

The experiments file (`src/infogan/configs/experiments.yaml`, shipped with the package) holds the paper's settings, the one
source of truth for training, evaluation and the pipeline. A config that names an
unknown key, misses a required one, or gives a value of the wrong type fails here,
with the file, the experiment and the key in the message, before any work starts.
"""

import dataclasses
import difflib
import hashlib
import importlib.resources
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from infogan.errors import ConfigError
from infogan.latent import LatentSpec
from infogan.nets import ARCHITECTURES

DEFAULT_CONFIG_ENV = "INFOGAN_CONFIG"
# How D sees real and generated images: "separate" batches (the authors' code: batch norm
# normalises each batch by its own statistics) or one "joint" batch of both (shared statistics).
DISCRIMINATOR_BATCHES = ("separate", "joint")
# Which latent sample G's step uses: the D step's ("shared", one generator pass per
# iteration) or a "fresh" one with its own fake batch, as the released code does (each of its
# two session runs per iteration samples z anew). The paper does not say.
GENERATOR_STEP_LATENTS = ("shared", "fresh")
# Which end of the training split `train_images` keeps: the "first" images, or the "last"
# (TensorFlow's MNIST reader, which the released code used, holds out the first 5,000 as
# validation and trains on the last 55,000).
TRAIN_IMAGES_FROM = ("first", "last")


@dataclass(frozen=True)
class SpeedOptions:
    """Speedups, each behind a switch so that its effect on results can be checked."""

    bf16_autocast: bool = True
    fused_adam: bool = True
    channels_last: bool = False
    stacked_batches: bool = False
    keep_freed_memory: bool = True


@dataclass(frozen=True)
class ExperimentConfig:
    name: str
    description: str
    image_shape: tuple[int, int, int]
    network: str
    latent: LatentSpec
    lambda_categorical: float
    lambda_continuous: float
    generator_mutual_information: bool
    batch_size: int
    iterations: int
    lr_discriminator: float
    lr_generator: float
    adam_betas: tuple[float, float]
    leaky_relu_slope: float
    init_std: float
    train_images: int | None = None
    train_images_from: str = "first"
    generator_step_latent: str = "shared"
    mutual_information_trains_body: bool = True
    discriminator_batch: str = "separate"
    lambda_ramp: tuple[int, int] | None = None
    speed: SpeedOptions = field(default_factory=SpeedOptions)

    def lambda_scale(self, iteration: int) -> float:
        """The share of both lambdas in force at `iteration` (0-based): 1 without a ramp; with
        `lambda_ramp: [start, end]`, 0 before `start`, rising linearly to 1 at `end`.

        A ramp is not in the paper. It lets D and G first learn the data as a plain GAN,
        for networks whose Q term, at full weight from the start, stops D from learning
        (the chairs on a small batch: see docs/results-synthetic.md)."""
        if self.lambda_ramp is None:
            return 1.0
        start, end = self.lambda_ramp
        if iteration >= end:
            return 1.0
        if iteration < start:
            return 0.0
        return (iteration - start) / (end - start)

    def to_dict(self) -> dict:
        """Plain data (lists, not tuples) for YAML, JSON and checkpoints."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def fingerprint(self) -> str:
        """Hash of every setting that changes what training computes.

        Name, description and the number of iterations are left out: a run may be
        continued for more iterations, or renamed, and stay the same computation; so is
        `speed.keep_freed_memory`, which changes where memory comes from, not what is computed."""
        settings = self.to_dict()
        for key in ("name", "description", "iterations"):
            settings.pop(key)
        settings["speed"].pop("keep_freed_memory")
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key written twice in one mapping is an error
    (plain YAML silently keeps the last value, so a pasted setting could override another)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigError(f"key {key!r} is written twice in one mapping (lines {seen[key] + 1} and "
                                  f"{key_node.start_mark.line + 1}); keep one")
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def read_yaml(path):
    """A config file's content; a missing or malformed file, or a duplicate key, raises
    ConfigError naming the file."""
    path = Path(path)
    try:
        return yaml.load(path.read_text(), Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})".replace("\n", " ")) from None


def packaged_config(name) -> Path:
    """A config file shipped inside the package (src/infogan/configs/), installed or not."""
    return Path(str(importlib.resources.files("infogan") / "configs" / name))


def default_config_path() -> Path:
    """$INFOGAN_CONFIG where set, else the experiments file shipped with the package."""
    if os.environ.get(DEFAULT_CONFIG_ENV):
        return Path(os.environ[DEFAULT_CONFIG_ENV])
    return packaged_config("experiments.yaml")


def read_experiments(path=None) -> dict:
    path = Path(path or default_config_path())
    if not path.is_file():
        raise ConfigError(f"{path}: experiments file not found (set --config or ${DEFAULT_CONFIG_ENV})")
    experiments = read_yaml(path)
    if not isinstance(experiments, dict):
        raise ConfigError(f"{path}: expected a mapping of experiment names to settings")
    return experiments


def experiment_names(path=None) -> list[str]:
    return sorted(read_experiments(path))


def load_experiment(name, path=None, overrides=None) -> ExperimentConfig:
    """Resolve experiment `name` from the experiments file and check it.

    `overrides` (a dict) is merged in after `extends` is resolved, so the
    command line can change, say, `iterations` and still be checked like the file.
    """
    path = Path(path or default_config_path())
    experiments = read_experiments(path)
    raw = _merge(_resolve_extends(name, experiments, path, seen=()), overrides or {})
    return _build(name, raw, f"{path}: experiment {name!r}")


def run_overrides(run: dict, default_iterations=None) -> dict:
    """The experiment keys a pipeline config's run entry changes (config `runs.<name>`): its
    `settings`, and its iterations (the run's own, else `default_iterations`, the pipeline's
    top-level `iterations`, else the experiment's own)."""
    overrides = dict(run.get("settings") or {})
    iterations = run.get("iterations") or default_iterations
    if iterations:
        overrides["iterations"] = iterations
    return overrides


def _resolve_extends(name, experiments, path, seen):
    if name not in experiments:
        raise ConfigError(f"{path}: no experiment {name!r}{_suggest(name, experiments)}; it has {sorted(experiments)}")
    if name in seen:
        raise ConfigError(f"{path}: experiment {name!r} extends itself through {' -> '.join(seen)}")
    entry = experiments[name] or {}
    if not isinstance(entry, dict):
        raise ConfigError(f"{path}: experiment {name!r} must be a mapping of settings, got {entry!r}")
    entry = dict(entry)
    parent = entry.pop("extends", None)
    if parent is None:
        return entry
    return _merge(_resolve_extends(parent, experiments, path, seen + (name,)), entry)


def _merge(base, changes):
    """`base` with `changes` applied; nested mappings (latent, speed) merge key by key."""
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            value = _merge(merged[key], value)
        merged[key] = value
    return merged


def _suggest(key, known):
    close = difflib.get_close_matches(str(key), list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_keys(raw, cls, where, skip=()):
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(raw).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in skip}
    for key in raw:
        if key not in fields:
            raise ConfigError(f"{where}: unknown key {key!r}{_suggest(key, fields)}")
    for name, f in fields.items():
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if required and name not in raw:
            raise ConfigError(f"{where}: missing key {name!r}")


def _typed(value, kind, where, key):
    """Check one scalar; YAML gives ints where floats are meant, which is fine, and
    strings for floats written without a dot (1e-3, a YAML 1.1 quirk), which we parse."""
    if kind is float and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
    }[kind]
    if not ok:
        raise ConfigError(f"{where}: key {key!r} must be {kind.__name__}, got {value!r}")
    return kind(value)


def _choice(raw, key, choices, where) -> str:
    """raw[key], one of `choices`; absent means the first choice (the default)."""
    value = _typed(raw.get(key, choices[0]), str, where, key)
    if value not in choices:
        raise ConfigError(f"{where}: key {key!r} is {value!r}; choose one of {list(choices)}")
    return value


def _build(name, raw, where) -> ExperimentConfig:
    _check_keys(raw, ExperimentConfig, where, skip=("name",))
    latent_raw = raw["latent"]
    _check_keys(latent_raw, LatentSpec, f"{where}, latent")
    if not isinstance(latent_raw["categorical"], list):
        raise ConfigError(f"{where}: key 'latent.categorical' must be a list of category counts, e.g. [10], "
                          f"got {latent_raw['categorical']!r}")
    speed_raw = raw.get("speed", {}) or {}
    _check_keys(speed_raw, SpeedOptions, f"{where}, speed")
    try:
        latent = LatentSpec(
            noise_size=_typed(latent_raw["noise_size"], int, where, "latent.noise_size"),
            categorical=tuple(_typed(k, int, where, "latent.categorical") for k in latent_raw["categorical"]),
            continuous=_typed(latent_raw["continuous"], int, where, "latent.continuous"),
            noise_distribution=_typed(latent_raw.get("noise_distribution", "uniform"), str, where, "latent.noise_distribution"),
            continuous_std=_typed(latent_raw.get("continuous_std", "learned"), str, where, "latent.continuous_std"),
        )
    except ValueError as exc:
        raise ConfigError(f"{where}, latent: {exc}") from None
    speed = SpeedOptions(**{k: _typed(v, bool, where, f"speed.{k}") for k, v in speed_raw.items()})
    image_shape = raw["image_shape"]
    if not (isinstance(image_shape, list) and len(image_shape) == 3):
        raise ConfigError(f"{where}: key 'image_shape' must be [channels, height, width], got {image_shape!r}")
    betas = raw["adam_betas"]
    if not (isinstance(betas, list) and len(betas) == 2):
        raise ConfigError(f"{where}: key 'adam_betas' must be [beta1, beta2], got {betas!r}")
    if raw["network"] not in ARCHITECTURES:
        raise ConfigError(f"{where}: key 'network' is {raw['network']!r}; known networks: {sorted(ARCHITECTURES)}")
    train_images = raw.get("train_images")
    discriminator_batch = _choice(raw, "discriminator_batch", DISCRIMINATOR_BATCHES, where)
    lambda_ramp = raw.get("lambda_ramp")
    if lambda_ramp is not None:
        if not (isinstance(lambda_ramp, list) and len(lambda_ramp) == 2):
            raise ConfigError(f"{where}: key 'lambda_ramp' must be [start, end] iterations or null, got {lambda_ramp!r}")
        lambda_ramp = tuple(_typed(v, int, where, "lambda_ramp") for v in lambda_ramp)
        if not 0 <= lambda_ramp[0] <= lambda_ramp[1]:
            raise ConfigError(f"{where}: key 'lambda_ramp' needs 0 <= start <= end, got {list(lambda_ramp)}")
    config = ExperimentConfig(
        name=name,
        description=_typed(raw["description"], str, where, "description").strip(),
        image_shape=tuple(_typed(v, int, where, "image_shape") for v in image_shape),
        network=raw["network"],
        latent=latent,
        lambda_categorical=_typed(raw["lambda_categorical"], float, where, "lambda_categorical"),
        lambda_continuous=_typed(raw["lambda_continuous"], float, where, "lambda_continuous"),
        generator_mutual_information=_typed(raw["generator_mutual_information"], bool, where, "generator_mutual_information"),
        mutual_information_trains_body=_typed(raw.get("mutual_information_trains_body", True), bool, where,
                                              "mutual_information_trains_body"),
        discriminator_batch=discriminator_batch,
        generator_step_latent=_choice(raw, "generator_step_latent", GENERATOR_STEP_LATENTS, where),
        lambda_ramp=lambda_ramp,
        batch_size=_typed(raw["batch_size"], int, where, "batch_size"),
        iterations=_typed(raw["iterations"], int, where, "iterations"),
        lr_discriminator=_typed(raw["lr_discriminator"], float, where, "lr_discriminator"),
        lr_generator=_typed(raw["lr_generator"], float, where, "lr_generator"),
        adam_betas=tuple(_typed(b, float, where, "adam_betas") for b in betas),
        leaky_relu_slope=_typed(raw["leaky_relu_slope"], float, where, "leaky_relu_slope"),
        init_std=_typed(raw["init_std"], float, where, "init_std"),
        train_images=None if train_images is None else _typed(train_images, int, where, "train_images"),
        train_images_from=_choice(raw, "train_images_from", TRAIN_IMAGES_FROM, where),
        speed=speed,
    )
    _check_ranges(config, where)
    return config


# Each key's allowed values beyond its type: (test, what the test asks for).
RANGES = {
    "batch_size": (lambda v: v > 0, "positive"),
    "iterations": (lambda v: v > 0, "positive"),
    "lr_discriminator": (lambda v: v > 0, "positive"),
    "lr_generator": (lambda v: v > 0, "positive"),
    "adam_betas": (lambda v: all(0 <= b < 1 for b in v), "two numbers in [0, 1)"),
    "lambda_categorical": (lambda v: v >= 0, "0 or more"),
    "lambda_continuous": (lambda v: v >= 0, "0 or more"),
    "leaky_relu_slope": (lambda v: v >= 0, "0 or more"),
    "init_std": (lambda v: v > 0, "positive"),
    "train_images": (lambda v: v is None or v > 0, "positive or null"),
}


def _check_ranges(config, where):
    """Values of the right type that still make no sense (a negative learning rate, beta 2) are
    refused here, before any run directory is written."""
    for key, (allowed, wanted) in RANGES.items():
        value = getattr(config, key)
        if not allowed(value):
            shown = list(value) if isinstance(value, tuple) else value
            raise ConfigError(f"{where}: key {key!r} must be {wanted}, got {shown}")


def config_from_dict(data: dict) -> ExperimentConfig:
    """Rebuild a config saved by `to_dict` (in a checkpoint or a run directory)."""
    raw = dict(data)
    name = raw.pop("name")
    latent = dict(raw.pop("latent"))
    latent["categorical"] = list(latent["categorical"])
    raw["latent"] = latent
    return _build(name, raw, f"saved config of {name!r}")
