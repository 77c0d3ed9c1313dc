"""Experiment configs: the paper's values, `extends`, and errors that name the file and key."""

import copy
import dataclasses
import hashlib
import json
import math
from pathlib import Path

import pytest
import yaml

from infogan.config import (
    ExperimentConfig,
    SpeedOptions,
    config_from_dict,
    default_config_path,
    experiment_names,
    load_experiment,
    read_experiments,
)
from infogan.errors import ConfigError, InfoganError
from infogan.latent import LatentSpec

REPO = Path(__file__).resolve().parents[1]
EXPERIMENTS = REPO / "src" / "infogan" / "configs" / "experiments.yaml"
NAMES = ("mnist_infogan", "mnist_infogan_released", "mnist_gan", "svhn_infogan", "celeba_infogan", "faces_azimuth",
         "faces_elevation", "faces_lighting", "chairs_rotation", "chairs_width")


def paper_entry():
    """The mnist_infogan entry of the real experiments file, as a plain dict to edit."""
    return copy.deepcopy(yaml.safe_load(EXPERIMENTS.read_text())["mnist_infogan"])


def write_experiments(tmp_path, experiments, name="experiments.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(experiments, sort_keys=False))
    return path


def config_error(path, experiment="exp", **overrides):
    """Load `experiment` from `path`; return the ConfigError's message (fails if none is raised)."""
    with pytest.raises(ConfigError) as info:
        load_experiment(experiment, path, overrides or None)
    message = str(info.value)
    assert str(path) in message
    assert "\n" not in message
    return message


def entry_with(**changes):
    entry = paper_entry()
    for key, value in changes.items():
        if value is ...:
            entry.pop(key)
        else:
            entry[key] = value
    return entry


# --- the paper's values ------------------------------------------------------------------


def test_experiments_file_lists_the_paper_experiments():
    assert experiment_names(EXPERIMENTS) == sorted(NAMES)


# Appendix C and Tables 5 and 7 (../shared/PAPER.md): generator input size, network, lr D/Q, lr G,
# lambda categorical, lambda continuous.
APPENDIX = {
    "svhn_infogan": (168, "svhn_celeba", 2e-4, 1e-3, 1.0, 1.0),
    "celeba_infogan": (228, "svhn_celeba", 2e-4, 1e-3, 1.0, 0.1),
    "faces_azimuth": (133, "faces", 2e-4, 5e-4, 1.0, 0.2),
    "faces_elevation": (133, "faces", 4e-4, 3e-4, 1.0, 0.1),
    "faces_lighting": (133, "faces", 8e-4, 3e-4, 1.0, 0.1),
    "chairs_rotation": (189, "chairs", 2e-4, 1e-3, 1.0, 10.0),
    "chairs_width": (189, "chairs", 2e-4, 1e-3, 2.0, 0.05),
}


@pytest.mark.parametrize("name", sorted(APPENDIX))
def test_the_other_experiments_have_the_appendix_settings(name):
    config = load_experiment(name, EXPERIMENTS)
    size, network, lr_d, lr_g, lambda_cat, lambda_cont = APPENDIX[name]
    assert config.latent.generator_input_size == size and config.network == network
    assert (config.lr_discriminator, config.lr_generator) == (lr_d, lr_g)
    assert (config.lambda_categorical, config.lambda_continuous) == (lambda_cat, lambda_cont)
    assert config.train_images is None and config.batch_size == 128


def test_mnist_infogan_has_the_paper_settings():
    c = load_experiment("mnist_infogan", EXPERIMENTS)
    assert isinstance(c, ExperimentConfig)
    assert c.name == "mnist_infogan"
    assert c.image_shape == (1, 28, 28)
    assert c.network == "mnist"
    assert c.latent == LatentSpec(noise_size=62, categorical=(10,), continuous=2,
                                  noise_distribution="uniform", continuous_std="learned")
    assert c.latent.generator_input_size == 74
    assert c.lr_discriminator == 2e-4
    assert c.lr_generator == 1e-3
    assert c.batch_size == 128
    assert c.iterations == 5000
    assert c.adam_betas == (0.5, 0.999)
    assert c.leaky_relu_slope == 0.1
    assert c.init_std == 0.02
    assert c.lambda_categorical == 1.0
    assert c.lambda_continuous == 0.1
    assert c.lambda_continuous < c.lambda_categorical
    assert c.generator_mutual_information is True
    assert c.train_images == 55000
    assert c.speed == SpeedOptions(bf16_autocast=True, fused_adam=True, channels_last=False)
    assert c.description and c.description == c.description.strip()


def test_values_have_the_declared_types():
    c = load_experiment("mnist_infogan", EXPERIMENTS)
    for key in ("lambda_categorical", "lambda_continuous", "lr_discriminator", "lr_generator",
                "leaky_relu_slope", "init_std"):
        assert type(getattr(c, key)) is float, key
    assert all(type(b) is float for b in c.adam_betas)
    assert all(type(v) is int for v in c.image_shape)
    assert type(c.batch_size) is int and type(c.iterations) is int


def _differences(a: ExperimentConfig, b: ExperimentConfig):
    da, db = a.to_dict(), b.to_dict()
    flat_a = {**{k: v for k, v in da.items() if k != "latent"}, **{f"latent.{k}": v for k, v in da["latent"].items()}}
    flat_b = {**{k: v for k, v in db.items() if k != "latent"}, **{f"latent.{k}": v for k, v in db["latent"].items()}}
    return {k for k in flat_a if flat_a[k] != flat_b[k]} - {"name", "description"}


def test_mnist_gan_differs_only_in_how_mutual_information_trains():
    infogan = load_experiment("mnist_infogan", EXPERIMENTS)
    gan = load_experiment("mnist_gan", EXPERIMENTS)
    assert _differences(infogan, gan) == {"generator_mutual_information", "mutual_information_trains_body"}
    assert gan.generator_mutual_information is False and gan.mutual_information_trains_body is False
    assert gan.name == "mnist_gan" and gan.description != infogan.description


def test_released_variant_overrides_latent_key_by_key():
    infogan = load_experiment("mnist_infogan", EXPERIMENTS)
    released = load_experiment("mnist_infogan_released", EXPERIMENTS)
    assert _differences(infogan, released) == {"latent.continuous_std", "lambda_continuous", "leaky_relu_slope",
                                               "generator_step_latent", "train_images_from"}
    assert released.latent.continuous_std == "fixed"
    assert released.lambda_continuous == 1.0 and released.leaky_relu_slope == 0.01
    assert released.generator_step_latent == "fresh" and released.train_images_from == "last"
    # the rest of `latent` comes from the parent, not dropped by the partial override
    assert released.latent.noise_size == 62 and released.latent.categorical == (10,)
    assert released.latent.continuous == 2
    assert released.latent.q_output_size == 12


def test_extends_chain_and_nested_speed_merge(tmp_path):
    path = write_experiments(tmp_path, {
        "base": paper_entry(),
        "middle": {"extends": "base", "batch_size": 64, "speed": {"fused_adam": False}},
        "leaf": {"extends": "middle", "iterations": 7, "speed": {"channels_last": True}},
    })
    leaf = load_experiment("leaf", path)
    assert leaf.name == "leaf"
    assert leaf.batch_size == 64 and leaf.iterations == 7
    assert leaf.speed == SpeedOptions(bf16_autocast=True, fused_adam=False, channels_last=True)
    assert leaf.lr_generator == 1e-3


def test_overrides_merge_key_by_key_and_are_checked():
    c = load_experiment("mnist_infogan", EXPERIMENTS, {"iterations": 3, "speed": {"bf16_autocast": False},
                                                       "latent": {"continuous": 3}})
    assert c.iterations == 3
    assert c.speed == SpeedOptions(bf16_autocast=False, fused_adam=True, channels_last=False)
    assert c.latent.continuous == 3 and c.latent.noise_size == 62
    with pytest.raises(ConfigError, match=r"unknown key 'iteration'.*did you mean 'iterations'"):
        load_experiment("mnist_infogan", EXPERIMENTS, {"iteration": 3})


def test_environment_variable_chooses_the_file(tmp_path, monkeypatch):
    entry = entry_with(batch_size=32)
    path = write_experiments(tmp_path, {"only_here": entry}, name="elsewhere.yaml")
    monkeypatch.setenv("INFOGAN_CONFIG", str(path))
    assert default_config_path() == path
    assert load_experiment("only_here").batch_size == 32
    monkeypatch.setenv("INFOGAN_CONFIG", str(tmp_path / "absent.yaml"))
    with pytest.raises(ConfigError, match="absent.yaml: experiments file not found"):
        load_experiment("only_here")


# --- round trip and fingerprint -------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_to_dict_round_trips(name):
    c = load_experiment(name, EXPERIMENTS)
    assert config_from_dict(c.to_dict()) == c
    # and through YAML, as the run directory's config.yaml stores it
    assert config_from_dict(yaml.safe_load(yaml.safe_dump(c.to_dict()))) == c


def test_round_trip_without_train_images_or_categorical(tmp_path):
    entry = entry_with(train_images=...)
    entry["latent"] = {"noise_size": 5, "categorical": [], "continuous": 1}
    c = load_experiment("exp", write_experiments(tmp_path, {"exp": entry}))
    assert c.train_images is None and c.latent.categorical == ()
    assert config_from_dict(c.to_dict()) == c


def test_fingerprint_ignores_iterations_and_description_only():
    base = load_experiment("mnist_infogan", EXPERIMENTS)
    fingerprint = base.fingerprint()
    assert len(fingerprint) == 16 and fingerprint == load_experiment("mnist_infogan", EXPERIMENTS).fingerprint()
    assert dataclasses.replace(base, iterations=1).fingerprint() == fingerprint
    assert dataclasses.replace(base, description="something else").fingerprint() == fingerprint
    assert dataclasses.replace(base, name="renamed").fingerprint() == fingerprint
    changed = [
        dataclasses.replace(base, lr_generator=2e-3),
        dataclasses.replace(base, lr_discriminator=1e-4),
        dataclasses.replace(base, batch_size=64),
        dataclasses.replace(base, lambda_continuous=1.0),
        dataclasses.replace(base, adam_betas=(0.9, 0.999)),
        dataclasses.replace(base, train_images=None),
        dataclasses.replace(base, generator_mutual_information=False),
        dataclasses.replace(base, latent=dataclasses.replace(base.latent, continuous_std="fixed")),
        dataclasses.replace(base, speed=SpeedOptions(bf16_autocast=False)),
        dataclasses.replace(base, speed=SpeedOptions(fused_adam=False)),
        dataclasses.replace(base, speed=SpeedOptions(channels_last=True)),
        dataclasses.replace(base, speed=SpeedOptions(stacked_batches=True)),
    ]
    prints = [c.fingerprint() for c in changed]
    assert fingerprint not in prints
    assert len(set(prints)) == len(prints)
    # where memory comes from is not part of what is computed
    assert dataclasses.replace(base, speed=SpeedOptions(keep_freed_memory=False)).fingerprint() == fingerprint
    assert load_experiment("mnist_gan", EXPERIMENTS).fingerprint() != fingerprint


# --- errors name the file, the experiment and the key --------------------------------------


def test_unknown_top_level_key_suggests_the_right_one(tmp_path):
    entry = paper_entry()
    entry["lr_discriminatr"] = entry.pop("lr_discriminator")
    message = config_error(write_experiments(tmp_path, {"exp": entry}))
    assert "'exp'" in message
    assert "unknown key 'lr_discriminatr'" in message
    assert "did you mean 'lr_discriminator'" in message


def test_unknown_key_under_latent(tmp_path):
    entry = paper_entry()
    entry["latent"]["noise_sise"] = 62
    message = config_error(write_experiments(tmp_path, {"exp": entry}))
    assert "unknown key 'latent.noise_sise'" in message
    assert "did you mean 'noise_size'" in message


def test_unknown_key_under_speed(tmp_path):
    entry = paper_entry()
    entry["speed"]["bf16"] = True
    message = config_error(write_experiments(tmp_path, {"exp": entry}))
    assert "unknown key 'speed.bf16'" in message


@pytest.mark.parametrize("key", ["batch_size", "lr_generator", "latent", "network", "description"])
def test_missing_required_key(tmp_path, key):
    message = config_error(write_experiments(tmp_path, {"exp": entry_with(**{key: ...})}))
    assert f"missing key {key!r}" in message


def test_missing_key_under_latent(tmp_path):
    entry = paper_entry()
    del entry["latent"]["noise_size"]
    message = config_error(write_experiments(tmp_path, {"exp": entry}))
    assert "missing key 'latent.noise_size'" in message


@pytest.mark.parametrize("key, value, expected", [
    ("batch_size", "big", "key 'batch_size' must be a positive integer, got 'big'"),
    ("batch_size", True, "key 'batch_size' must be a positive integer, got True"),
    ("iterations", 2.5, "key 'iterations' must be a positive integer, got 2.5"),
    ("lr_generator", "fast", "key 'lr_generator' must be a positive number, got 'fast'"),
    ("generator_mutual_information", "yes please", "'generator_mutual_information' must be true or false"),
    ("adam_betas", 0.5, "key 'adam_betas' must be [beta1, beta2], two numbers in [0, 1), got 0.5"),
    ("image_shape", [28, 28], "key 'image_shape' must be [channels, height, width]"),
    ("batch_size", 0, "'batch_size' must be a positive integer, got 0"),
    ("iterations", -1, "'iterations' must be a positive integer, got -1"),
    ("lr_discriminator", -1, "'lr_discriminator' must be a positive number, got -1"),
    ("adam_betas", [0.5, 2], "'adam_betas' must be [beta1, beta2], two numbers in [0, 1), got [0.5, 2]"),
    ("lambda_continuous", -0.1, "'lambda_continuous' must be 0 or more, got -0.1"),
    ("init_std", 0, "'init_std' must be a positive number, got 0"),
    ("train_images", 0, "'train_images' must be a positive integer or null (all images), got 0"),
    ("lambda_ramp", [10, 5], "'lambda_ramp' needs start <= end, got [10, 5]"),
    ("lambda_ramp", [0, 5, 9], "'lambda_ramp' must be [start, end] iterations (0 <= start <= end) or null"),
    ("discriminator_batch", "both", "key 'discriminator_batch' is 'both'; choose one of ['separate', 'joint']"),
])
def test_wrong_type_or_value(tmp_path, key, value, expected):
    message = config_error(write_experiments(tmp_path, {"exp": entry_with(**{key: value})}))
    assert expected in message


@pytest.mark.parametrize("latent, expected", [
    ({"categorical": [0]}, "key 'latent.categorical' must be a list of category counts, each at least 2, e.g. [10], "
                           "got [0]"),
    ({"continuous": -1}, "key 'latent.continuous' must be an integer, 0 or more"),
    ({"noise_size": 0}, "key 'latent.noise_size' must be an integer of at least 1, got 0"),
])
def test_latent_values_out_of_range(tmp_path, latent, expected):
    entry = paper_entry()
    entry["latent"].update(latent)
    assert expected in config_error(write_experiments(tmp_path, {"exp": entry}))


def test_a_key_written_twice_is_refused_with_both_lines(tmp_path):
    path = tmp_path / "experiments.yaml"
    text = yaml.safe_dump({"exp": paper_entry()}, sort_keys=False)
    path.write_text(text.replace("  batch_size: 128\n", "  batch_size: 128\n  batch_size: 64\n"))
    message = config_error(path)
    assert f"{path}: key 'batch_size' is written twice in one mapping (lines" in message and "keep one" in message


def test_wrong_type_in_speed_and_latent(tmp_path):
    entry = paper_entry()
    entry["speed"]["fused_adam"] = "sometimes"
    assert "key 'speed.fused_adam' must be true or false, got 'sometimes'" in config_error(write_experiments(tmp_path, {"exp": entry}))
    entry = paper_entry()
    entry["latent"]["continuous_std"] = "guessed"
    message = config_error(write_experiments(tmp_path, {"exp": entry}))
    assert "latent" in message and "continuous_std" in message
    entry = paper_entry()
    entry["latent"]["categorical"] = [10, "ten"]
    assert "key 'latent.categorical' must be a list of category counts, each at least 2, e.g. [10], got [10, 'ten']" in config_error(write_experiments(tmp_path, {"exp": entry}))


def test_categorical_given_as_a_number_is_a_config_error(tmp_path):
    entry = paper_entry()
    entry["latent"]["categorical"] = 10
    message = config_error(write_experiments(tmp_path, {"exp": entry}))
    assert "categorical" in message


def test_unknown_network(tmp_path):
    message = config_error(write_experiments(tmp_path, {"exp": entry_with(network="resnet")}))
    assert "'network' is 'resnet'" in message and "mnist" in message


def test_unknown_experiment_name_suggests_the_closest(tmp_path):
    path = write_experiments(tmp_path, {"mnist_infogan": paper_entry()})
    message = config_error(path, experiment="mnist_infogn")
    assert "no experiment 'mnist_infogn'" in message
    assert "did you mean 'mnist_infogan'" in message


def test_extends_of_an_unknown_parent(tmp_path):
    path = write_experiments(tmp_path, {"exp": {"extends": "nowhere", "iterations": 3}})
    assert "no experiment 'nowhere'" in config_error(path)


def test_extends_cycle(tmp_path):
    path = write_experiments(tmp_path, {
        "exp": {"extends": "other"},
        "other": {"extends": "third"},
        "third": {"extends": "exp"},
    })
    message = config_error(path)
    assert "'exp' extends itself" in message
    assert "exp -> other -> third" in message
    path = write_experiments(tmp_path, {"exp": {"extends": "exp"}}, name="self.yaml")
    assert "'exp' extends itself" in config_error(path)


def test_invalid_yaml(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("exp:\n  latent: [1, 2\n  batch_size: 3\n")
    message = config_error(path)
    assert "not valid YAML" in message


def test_yaml_that_is_not_a_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")
    assert "expected a mapping of experiment names" in config_error(path)


def test_missing_file(tmp_path):
    path = tmp_path / "nothing" / "experiments.yaml"
    message = config_error(path)
    assert "experiments file not found" in message
    with pytest.raises(ConfigError, match="experiments file not found"):
        read_experiments(path)


def test_config_errors_are_infogan_errors():
    assert issubclass(ConfigError, InfoganError)


def test_saved_config_with_unknown_key_is_rejected():
    data = load_experiment("mnist_infogan", EXPERIMENTS).to_dict()
    data["surprise"] = 1
    with pytest.raises(ConfigError, match="saved config of 'mnist_infogan'.*unknown key 'surprise'"):
        config_from_dict(data)


def test_ln10_is_the_categorical_ceiling_of_the_paper_config():
    assert math.isclose(load_experiment("mnist_infogan", EXPERIMENTS).latent.categorical_entropy, math.log(10))


def test_a_float_written_without_a_dot_is_a_number(tmp_path):
    path = tmp_path / "experiments.yaml"
    text = yaml.safe_dump({"exp": paper_entry()}, sort_keys=False)
    path.write_text(text.replace("lr_generator: 0.001", "lr_generator: 1e-3"))
    assert "lr_generator: 1e-3" in path.read_text()
    assert load_experiment("exp", path).lr_generator == 1e-3


def test_the_schema_requires_exactly_the_settings_without_a_default():
    from infogan.config import experiment_schema

    required = {f.name for f in dataclasses.fields(ExperimentConfig)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING} - {"name"}
    schema = experiment_schema()
    assert set(schema["required"]) == required
    assert set(schema["properties"]) == {f.name for f in dataclasses.fields(ExperimentConfig)} - {"name"}
    assert set(schema["properties"]["speed"]["properties"]) == {f.name for f in dataclasses.fields(SpeedOptions)}


def test_generator_output_sets_the_image_range_and_changes_the_fingerprint_only_when_set():
    paper = load_experiment("mnist_infogan")
    tanh = load_experiment("mnist_infogan", overrides={"generator_output": "tanh"})
    assert paper.generator_output is None and paper.output_range == (0.0, 1.0)
    assert tanh.output_range == (-1.0, 1.0)
    assert tanh.fingerprint() != paper.fingerprint()
    assert load_experiment("mnist_infogan", overrides={"generator_output": "sigmoid"}).output_range == (0.0, 1.0)
    # the default leaves the fingerprint as it was before the option existed
    settings = paper.to_dict()
    for key in ("name", "description", "iterations", "generator_output"):
        settings.pop(key)
    settings["speed"].pop("keep_freed_memory")
    assert paper.fingerprint() == hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
