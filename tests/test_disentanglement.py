"""Scores of how codes track true factors: discretisation, mutual information, MIG."""

import math

import numpy as np
import pytest
import torch

from infogan.disentanglement import code_readings, discretise, entropy, mutual_information, rank_correlation, score
from infogan.latent import LatentSpec


def test_discretise_keeps_few_levels_and_bins_many():
    assert discretise(np.array([0.0, 1.0, 1.0, 0.0])).tolist() == [0, 1, 1, 0]
    levels = discretise(np.linspace(-1, 1, 1000))
    assert levels.min() == 0 and levels.max() == 19 and len(np.unique(levels)) == 20


def test_entropy_and_mutual_information_of_known_distributions():
    uniform4 = np.arange(4000) % 4
    assert entropy(uniform4) == pytest.approx(math.log(4))
    assert mutual_information(uniform4, uniform4) == pytest.approx(math.log(4))
    independent = (np.arange(4000) // 4) % 2  # independent of uniform4 by construction
    assert mutual_information(uniform4, independent) == pytest.approx(0.0, abs=1e-12)
    assert mutual_information(uniform4, uniform4 % 2) == pytest.approx(math.log(2))


def test_rank_correlation_is_scipys_spearman_rho():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    continuous = rng.normal(size=500)
    samples = [
        (continuous, continuous**3),  # monotone: 1
        (continuous, -continuous),  # -1
        (continuous, rng.normal(size=500)),  # unrelated
        (np.repeat(np.linspace(-2, 2, 5), 100), continuous + np.repeat(np.arange(5), 100)),  # ties, as a sweep has
        (rng.integers(0, 4, 300), rng.integers(0, 3, 300)),  # ties on both sides
    ]
    for a, b in samples:
        assert rank_correlation(a, b) == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)
    assert math.isnan(rank_correlation(np.ones(10), np.arange(10)))  # a constant sample ranks nothing
    assert math.isnan(rank_correlation([0.0, 1.0, float("nan")], [0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="different lengths"):
        rank_correlation([1, 2], [1, 2, 3])


def test_code_readings_name_each_code_in_spec_order():
    spec = LatentSpec(noise_size=2, categorical=(3, 2), continuous=1)
    q = torch.tensor([[0.0, 5.0, 0.0, 1.0, 0.0, 0.7, -1.0]])
    readings = code_readings(q, spec)
    assert list(readings) == ["categorical_0", "categorical_1", "continuous_0"]
    assert readings["categorical_0"].tolist() == [1] and readings["categorical_1"].tolist() == [0]
    assert readings["continuous_0"].tolist() == pytest.approx([0.7])


def test_mig_is_high_for_one_code_per_factor_and_low_for_mixed_codes():
    rng = np.random.default_rng(0)
    factors = rng.uniform(-1, 1, size=(5000, 2))
    clean = {"continuous_0": factors[:, 0], "continuous_1": 0.5 - 2 * factors[:, 1]}
    good = score(clean, factors, ["azimuth", "width"])
    assert good["mig"] > 0.9
    assert good["mig_per_factor"]["azimuth"]["best_code"] == "continuous_0"
    assert good["mig_per_factor"]["width"]["best_code"] == "continuous_1"
    assert good["spearman"]["continuous_1"]["width"] == pytest.approx(-1.0)
    mixed = {"continuous_0": factors[:, 0] + factors[:, 1], "continuous_1": factors[:, 0] - factors[:, 1]}
    assert score(mixed, factors, ["azimuth", "width"])["mig"] < 0.2


def test_categorical_code_scored_against_a_binary_attribute():
    rng = np.random.default_rng(1)
    glasses = rng.integers(0, 2, size=4000).astype(float)
    code = np.where(glasses == 1, rng.integers(0, 3, size=4000), rng.integers(3, 10, size=4000))
    noise_code = rng.integers(0, 10, size=4000)
    result = score({"categorical_0": noise_code, "categorical_1": code}, glasses[:, None], ["Eyeglasses"])
    assert result["mig_per_factor"]["Eyeglasses"]["best_code"] == "categorical_1"
    assert result["mutual_information"]["categorical_1"]["Eyeglasses"] == pytest.approx(math.log(2), rel=0.02)
    assert result["spearman"] == {}


def test_constant_factor_is_left_out_of_mig():
    factors = np.column_stack([np.linspace(0, 1, 100), np.zeros(100)])
    result = score({"continuous_0": np.linspace(0, 1, 100)}, factors, ["moving", "fixed"])
    assert set(result["mig_per_factor"]) == {"moving"}
    assert result["spearman"]["continuous_0"]["fixed"] is None
