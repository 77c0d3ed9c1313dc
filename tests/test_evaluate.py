"""Evaluation: category matching, image moments, role assignment, and the JSON of a tiny run."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import infogan.evaluate as evaluation
from infogan import checkpoint
from infogan.config import load_experiment
from infogan.errors import CheckpointError, DatasetFileError
from infogan.disentanglement import code_readings, score
from infogan.evaluate import (
    SWEEP_VALUES,
    assign_roles,
    estimate_mutual_information,
    image_moments,
    match_categories,
)
from infogan.latent import LatentSpec
from infogan.sweep import sweep_code
from infogan.train import train


EXPERIMENTS = Path(__file__).resolve().parents[1] / "src" / "infogan" / "configs" / "experiments.yaml"

# evaluate() uses 10,000 generated images for L_I and 500 draws per sweep value, about
# 30 s on one CPU thread; the end-to-end tests below ask the same functions for fewer.
MI_SAMPLES, SWEEP_DRAWS = 1000, 20


# --- match_categories -------------------------------------------------------------------------


def test_permuted_labelling_is_matched_exactly():
    rng = np.random.default_rng(0)
    labels = rng.permutation(np.arange(500) % 10)
    permutation = rng.permutation(10)  # label l is called category permutation[l]
    predicted = permutation[labels]
    accuracy, matching, confusion = match_categories(predicted, labels, 10)
    assert accuracy == 1.0
    assert matching == {int(permutation[label]): label for label in range(10)}  # the inverse permutation
    assert np.array(confusion).sum() == 500
    assert np.count_nonzero(confusion) == 10


def test_accuracy_with_some_errors_is_exact():
    labels = np.repeat(np.arange(10), 100)  # 1,000 labels, 100 of each
    predicted = (labels + 3) % 10
    wrong = np.arange(0, 1000, 20)  # 50 predictions moved to another category
    predicted[wrong] = (predicted[wrong] + 1) % 10
    accuracy, matching, confusion = match_categories(predicted, labels, 10)
    assert accuracy == 0.95
    assert matching == {(label + 3) % 10: label for label in range(10)}
    assert confusion[3][0] == 95 and confusion[4][0] == 5


def test_more_categories_than_labels():
    labels = np.array([0, 0, 1, 1, 1])
    predicted = np.array([4, 4, 2, 2, 0])
    accuracy, matching, confusion = match_categories(predicted, labels, 5)
    assert accuracy == 4 / 5
    assert matching[4] == 0 and matching[2] == 1
    assert np.array(confusion).shape == (5, 5)


# --- image moments ----------------------------------------------------------------------------


def sheared_bar(shear, half_width=1, size=28):
    """A vertical bar whose centre moves `shear` pixels right per pixel down."""
    image = torch.zeros(size, size)
    for y in range(4, 24):
        centre = round(13.5 + shear * (y - 13.5))
        image[y, centre - half_width:centre + half_width + 1] = 1.0
    return image


def test_slant_sign_follows_the_shear():
    images = torch.stack([sheared_bar(0.3), sheared_bar(-0.3), sheared_bar(0.0)]).unsqueeze(1)
    slant, _ = image_moments(images)
    assert slant.shape == (3,)
    assert slant[0] == pytest.approx(0.3, abs=0.03)
    assert slant[1] == pytest.approx(-0.3, abs=0.03)
    assert slant[2] == pytest.approx(0.0, abs=1e-12)


def test_width_of_a_rectangle_is_the_std_of_its_columns():
    images = torch.zeros(3, 1, 28, 28)
    for i, width in enumerate((2, 6, 12)):
        images[i, 0, 5:20, 8:8 + width] = 1.0
    slant, width = image_moments(images)
    # the standard deviation of `w` equally weighted consecutive columns is sqrt((w^2 - 1) / 12)
    assert width == pytest.approx([math.sqrt((w * w - 1) / 12) for w in (2, 6, 12)], abs=1e-9)
    assert width[0] < width[1] < width[2]
    assert slant == pytest.approx([0, 0, 0], abs=1e-12)


def test_moments_accept_extra_leading_dimensions_and_ink_strength():
    bar = sheared_bar(0.5)
    stacked = torch.stack([bar, bar * 0.25]).view(2, 1, 1, 28, 28)  # values x draws x C x H x W
    slant, width = image_moments(stacked)
    assert slant.shape == (2,) and slant[0] == pytest.approx(slant[1])
    assert width[0] == pytest.approx(width[1])
    slant, width = image_moments(torch.zeros(1, 1, 28, 28))  # an empty image gives numbers, not NaN
    assert np.isfinite(slant).all() and np.isfinite(width).all()


# --- roles ------------------------------------------------------------------------------------


def code(slant, width):
    return {"slant": {"spearman": slant}, "width": {"spearman": width}}


def test_roles_go_to_the_codes_that_carry_them():
    assert assign_roles([code(0.1, 0.9), code(-0.8, 0.2)]) == {"rotation": 1, "width": 0}
    assert assign_roles([code(0.9, 0.1), code(0.2, -0.7)]) == {"rotation": 0, "width": 1}
    assert assign_roles([code(0.1, 0.1), code(0.3, 0.2), code(-0.9, -0.8)]) in (
        {"rotation": 2, "width": 1}, {"rotation": 1, "width": 2})
    assert assign_roles([code(0.0, 0.1), code(0.2, 0.1), code(-0.9, -0.3)]) == {"rotation": 2, "width": 0}


def test_roles_are_distinct_even_when_one_code_wins_both():
    roles = assign_roles([code(0.9, 0.9), code(0.1, 0.2)])
    assert roles["rotation"] != roles["width"]
    assert roles == {"rotation": 0, "width": 1}  # 0.9 + 0.2 beats 0.1 + 0.9


def test_no_roles_with_fewer_than_two_codes():
    assert assign_roles([code(0.9, 0.9)]) == {}
    assert assign_roles([]) == {}


def test_factor_correlations_are_spearman_of_q_means():
    spec = LatentSpec(noise_size=2, categorical=(10,), continuous=2)
    rng = np.random.default_rng(1)
    factors = rng.uniform(-1, 1, size=(200, 2)).astype(np.float32)
    q = torch.zeros(200, spec.q_output_size)
    q[:, 10] = torch.from_numpy(factors[:, 1]) ** 3  # monotone in factor 1
    q[:, 11] = -torch.from_numpy(factors[:, 0])  # decreasing in factor 0
    result = score(code_readings(q, spec), factors, ["slant", "width"])["spearman"]
    assert set(result) == {"continuous_0", "continuous_1"}
    assert result["continuous_0"]["width"] == pytest.approx(1.0)
    assert result["continuous_1"]["slant"] == pytest.approx(-1.0)
    assert abs(result["continuous_0"]["slant"]) < 0.2


# --- a tiny trained run -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def data_files(tmp_path_factory, write_tiny_dataset):
    folder = tmp_path_factory.mktemp("eval_data")
    return {
        "factors": write_tiny_dataset(folder / "factors.h5", n_test=200, factors=True, seed=1),
        "plain": write_tiny_dataset(folder / "plain.h5", n_test=50, labels=False, source="real", seed=2),
    }


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, data_files):
    run_dir = tmp_path_factory.mktemp("eval_run")
    config = load_experiment("mnist_infogan", EXPERIMENTS, {"iterations": 6, "batch_size": 8})
    train(config, data_files["factors"], run_dir, seed=4, checkpoint_every=100, log_every=3,
          device="cpu", show_progress=False)
    return run_dir


@pytest.fixture(scope="module")
def evaluations(trained_run, data_files, tmp_path_factory):
    """evaluate() on both data files, with fewer generated images than its defaults."""
    out = tmp_path_factory.mktemp("eval_out")
    results = {}
    for name, path in data_files.items():
        returned = evaluation.evaluate(trained_run, path, out / f"{name}.json", device="cpu",
                                       samples=MI_SAMPLES, draws=SWEEP_DRAWS)
        results[name] = (returned, json.loads((out / f"{name}.json").read_text()))
    return results


def test_evaluation_on_other_data_than_the_run_trained_on_says_so(evaluations, trained_run, data_files):
    assert evaluations["factors"][1]["data"]["other_than_trained_on"] is None
    said = evaluations["plain"][1]["data"]["other_than_trained_on"]
    assert said == (f"{trained_run} was trained on synthetic tiny ({data_files['factors']}), evaluated here on "
                    f"real tiny ({data_files['plain']})")


def test_evaluation_json_fields(evaluations, trained_run, data_files):
    returned, result = evaluations["factors"]
    assert json.loads(json.dumps(returned)) == result  # the file holds what was returned
    assert result["experiment"] == "mnist_infogan"
    assert result["seed"] == 4 and result["iteration"] == 6
    assert result["run_dir"] == str(trained_run)
    assert result["data"]["path"] == str(data_files["factors"])
    assert result["data"]["source"] == "synthetic" and result["data"]["dataset"] == "tiny"
    assert result["data"]["trained_on"]["path"] == str(data_files["factors"])

    assert 0.0 <= result["categorical_accuracy"] <= 1.0
    matching = result["categorical_matching"]
    assert sorted(int(k) for k in matching) == list(range(10))
    assert sorted(matching.values()) == list(range(10))
    confusion = np.array(result["categorical_confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == 200
    matched = sum(confusion[int(k), v] for k, v in matching.items())
    assert result["categorical_accuracy"] == pytest.approx(matched / 200)

    mi = result["mutual_information"]
    assert mi["categorical_max"] == pytest.approx(math.log(10), abs=1e-12)
    assert mi["samples"] == MI_SAMPLES
    assert math.isfinite(mi["categorical"]) and mi["categorical"] <= math.log(10) + 1e-6
    assert math.isfinite(mi["continuous"])

    codes = result["continuous_codes"]
    assert [c["index"] for c in codes] == [0, 1]
    for entry in codes:
        for measure in ("slant", "width"):
            assert set(entry[measure]) == {"slope", "spearman", "mean_at_values"}
            assert len(entry[measure]["mean_at_values"]) == len(SWEEP_VALUES) == 10
            assert -1.0 <= entry[measure]["spearman"] <= 1.0
    roles = result["roles"]
    assert set(roles) == {"rotation", "width"}
    assert roles["rotation"] != roles["width"] and {roles["rotation"], roles["width"]} == {0, 1}

    correlations = result["factor_correlations"]
    assert set(correlations) == {"continuous_0", "continuous_1"}
    for per_factor in correlations.values():
        assert set(per_factor) == {"slant", "width", "label"}  # the class label is scored as a factor too
        assert all(-1.0 <= rho <= 1.0 for rho in per_factor.values())
    information = result["disentanglement"]["mutual_information"]
    assert set(information) == {"categorical_0", "continuous_0", "continuous_1"}
    assert set(result["disentanglement"]["mig_per_factor"]) == {"slant", "width", "label"}

    assert result["training"]["last_logged"]["iteration"] == 6
    assert result["training"]["train_seconds"] > 0


def test_no_factor_correlations_or_accuracy_without_factors_or_labels(evaluations, data_files):
    _, result = evaluations["plain"]
    assert "factor_correlations" not in result
    assert "categorical_accuracy" not in result and "categorical_matching" not in result
    assert result["data"]["source"] == "real"
    assert result["mutual_information"]["categorical_max"] == pytest.approx(math.log(10))
    assert set(result["roles"]) == {"rotation", "width"}
    # generated-image measures do not depend on the evaluation data
    assert result["mutual_information"] == evaluations["factors"][1]["mutual_information"]
    assert result["continuous_codes"] == evaluations["factors"][1]["continuous_codes"]


def test_sweep_changes_only_the_swept_code(trained_run):
    config, generator, _, _ = checkpoint.load_trained(trained_run)
    images = sweep_code(generator, config.latent, "continuous", 1, [-2.0, 0.0, 2.0], draws=3, seed=0,
                                   device=torch.device("cpu"))
    assert images.shape == (3, 3, 1, 28, 28)
    again = sweep_code(generator, config.latent, "continuous", 1, [-2.0, 0.0, 2.0], draws=3, seed=0,
                                  device=torch.device("cpu"))
    assert torch.equal(images, again)
    assert not torch.equal(images[0], images[2])  # the code changes the images
    assert not torch.equal(images[1, 0], images[1, 1])  # draws differ in noise and category


def test_evaluate_reports_an_accuracy_known_in_advance(trained_run, data_files, tmp_path):
    """A test split whose labels are made from Q's own categories, renamed by a permutation,
    with every fourth image of each category given another label: the best one-to-one
    matching is the permutation, so evaluate() must report exactly the share left intact."""
    from infogan.data.hdf5 import Split, read_split, write_dataset

    config, _, discriminator, _ = checkpoint.load_trained(trained_run)
    images = read_split(data_files["factors"], "test").images
    q = evaluation.predict_codes(discriminator, config, images, torch.device("cpu"))
    predicted = config.latent.split_q_output(q)[0][0].argmax(1).numpy()  # the first categorical code's logits
    permutation = np.random.default_rng(0).permutation(10)
    labels = permutation[predicted]
    changed = np.concatenate([np.flatnonzero(predicted == c)[::4] for c in range(10)])
    labels[changed] = (labels[changed] + 1) % 10
    data = tmp_path / "known.h5"
    write_dataset(data, dataset="tiny", source="synthetic",
                  splits={"train": Split(images=images, labels=labels), "test": Split(images=images, labels=labels)})
    result = evaluation.evaluate(trained_run, data, tmp_path / "known.json", device="cpu", samples=64, draws=2)
    assert result["categorical_accuracy"] == pytest.approx(1 - len(changed) / len(labels))
    assert len(changed) > 0 and len(set(predicted)) > 1  # the answer is not trivially 1.0


def test_sweep_holds_every_other_input_fixed_per_draw(trained_run):
    """What the generator is given, column by column: only the swept code's input moves; the
    noise and the other codes of each draw are the same in every column (a sweep that redrew
    them per column would show noise, not the code, and still change the images)."""
    config, generator, _, _ = checkpoint.load_trained(trained_run)
    spec = config.latent
    inputs = []
    hook = generator.register_forward_pre_hook(lambda module, args: inputs.append(args[0].clone()))
    try:
        sweep_code(generator, spec, "continuous", 1, [-2.0, 0.0, 2.0], draws=4, seed=0, device=torch.device("cpu"))
    finally:
        hook.remove()
    assert len(inputs) == 3 and inputs[0].shape == (4, spec.generator_input_size)
    swept = spec.generator_input_size - spec.continuous + 1  # the column of continuous code 1
    for column, value in zip(inputs, [-2.0, 0.0, 2.0]):
        assert torch.all(column[:, swept] == value)
        others = torch.cat([column[:, :swept], column[:, swept + 1:]], dim=1)
        assert torch.equal(others, torch.cat([inputs[0][:, :swept], inputs[0][:, swept + 1:]], dim=1))
    assert not torch.equal(inputs[0][0, :spec.noise_size], inputs[0][1, :spec.noise_size])  # draws differ


def test_mutual_information_estimate_is_seeded(trained_run):
    config, generator, discriminator, _ = checkpoint.load_trained(trained_run)
    cpu = torch.device("cpu")
    a = estimate_mutual_information(generator, discriminator, config.latent, cpu, samples=300, seed=1)
    b = estimate_mutual_information(generator, discriminator, config.latent, cpu, samples=300, seed=1)
    assert a == b and a["samples"] == 300


def test_evaluate_refuses_other_image_shapes(trained_run, write_tiny_dataset, tmp_path):
    wrong = write_tiny_dataset(tmp_path / "wide.h5", n_train=5, n_test=5, image_shape=(1, 32, 32))
    with pytest.raises(DatasetFileError) as refused:
        evaluation.evaluate(trained_run, wrong, tmp_path / "out.json", device="cpu")
    assert str(wrong) in str(refused.value) and "[1, 32, 32]" in str(refused.value)
    assert not (tmp_path / "out.json").exists()


def test_evaluate_needs_a_finished_run(data_files, tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint") as refused:
        evaluation.evaluate(tmp_path, data_files["plain"], tmp_path / "out.json", device="cpu")
    assert str(tmp_path / "final.pt") in str(refused.value)
