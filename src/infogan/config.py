"""Experiment configs: load from YAML, resolve `extends`, check every key.

The experiments file (`src/infogan/configs/experiments.yaml`, shipped with the package)
holds the paper's settings, the one source of truth for training, evaluation and the
pipeline. A resolved experiment is checked against `configs/schemas/experiment.schema.yaml`
(`infogan.schemas`): an unknown key, a missing one, or a value of the wrong type or range
fails here, with the file, the experiment and the key in the message, before any work starts.
"""

import copy
import dataclasses
import hashlib
import importlib.resources
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from infogan import schemas
from infogan.errors import ConfigError
from infogan.latent import LatentSpec
from infogan.architectures import NAMES as ARCHITECTURE_NAMES
from infogan.architectures import output_range

DEFAULT_CONFIG_ENV = "INFOGAN_CONFIG"


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
    generator_output: str | None = None  # None: the architecture's own output layer (infogan.nets)
    speed: SpeedOptions = field(default_factory=SpeedOptions)

    def __post_init__(self):
        """What the schema cannot say: a ramp's start no later than its end."""
        if self.lambda_ramp is not None and self.lambda_ramp[0] > self.lambda_ramp[1]:
            raise ValueError(f"key 'lambda_ramp' needs start <= end, got {list(self.lambda_ramp)}")

    @property
    def output_range(self) -> tuple[float, float]:
        """The range of the images G draws, and the range real images are scaled to for D."""
        return output_range(self.network, self.generator_output)

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
        `speed.keep_freed_memory`, which changes where memory comes from, not what is computed;
        and `generator_output` at its default (None, the paper's layer), so that runs made
        before that option existed keep their fingerprint."""
        settings = self.to_dict()
        for key in ("name", "description", "iterations"):
            settings.pop(key)
        settings["speed"].pop("keep_freed_memory")
        if settings["generator_output"] is None:  # the paper's layer: fingerprints made before the option stay valid
            settings.pop("generator_output")
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


# The settings YAML writes as whole numbers but the networks take as floats (lambdas, rates...).
FLOAT_KEYS = tuple(f.name for f in dataclasses.fields(ExperimentConfig) if f.type is float)


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """YAML's safe loader, except that a key written twice in one mapping is an error
    (plain YAML silently keeps the last value, so a pasted setting could override another).
    Parsed by libyaml where PyYAML was built with it (its wheels are): ten times faster than
    the pure-Python parser, which took a third of a second of every Snakemake call."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigError(f"key {key!r} is written twice in one mapping (lines {seen[key] + 1} and "
                                  f"{key_node.start_mark.line + 1}); keep one")
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


# YAML 1.1 reads a float written without a dot (1e-3) as text; YAML 1.2 and people read a number.
_UniqueKeyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"), list("-+0123456789"))


def parse_yaml(text):
    """YAML text (a file's, or a `--set` value) read as config files are read."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)


def read_yaml(path):
    """A config file's content; a missing or malformed file, or a duplicate key, raises
    ConfigError naming the file."""
    path = Path(path)
    try:
        return parse_yaml(path.read_text())
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
        raise ConfigError(f"{path}: no experiment {name!r}{schemas.suggest(name, experiments)}; it has {sorted(experiments)}")
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


def experiment_schema() -> dict:
    """configs/schemas/experiment.schema.yaml, with the known networks filled in from
    infogan.architectures (which owns their names)."""
    schema = copy.deepcopy(schemas.load_schema("experiment"))
    schema["properties"]["network"]["enum"] = sorted(ARCHITECTURE_NAMES)
    return schema


def _build(name, raw, where) -> ExperimentConfig:
    """A checked ExperimentConfig from one resolved experiment: the schema first, then the
    values as the dataclasses hold them (tuples, floats where YAML wrote integers)."""
    schemas.check(raw, experiment_schema(), where)
    values = dict(raw)
    latent = dict(raw["latent"], categorical=tuple(raw["latent"]["categorical"]))
    values.update(
        description=raw["description"].strip(),
        latent=LatentSpec(**latent),
        speed=SpeedOptions(**(raw.get("speed") or {})),
        image_shape=tuple(raw["image_shape"]),
        adam_betas=tuple(float(beta) for beta in raw["adam_betas"]),
        **{key: float(raw[key]) for key in FLOAT_KEYS if key in raw},
    )
    if raw.get("lambda_ramp") is not None:
        values["lambda_ramp"] = tuple(raw["lambda_ramp"])
    try:
        return ExperimentConfig(name=name, **values)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def config_from_dict(data: dict) -> ExperimentConfig:
    """Rebuild a config saved by `to_dict` (in a checkpoint or a run directory)."""
    raw = dict(data)
    name = raw.pop("name")
    latent = dict(raw.pop("latent"))
    latent["categorical"] = list(latent["categorical"])
    raw["latent"] = latent
    return _build(name, raw, f"saved config of {name!r}")
