"""How strongly each latent code tracks each true generating factor.

Only data with known factors can be scored: the synthetic stand-ins (which store them),
3D Chairs (azimuth and elevation from the file names) and CelebA (40 binary attributes,
used after training only). Q's reading of each code on the dataset's images is compared
with each factor in two ways:

- Spearman's rho between a continuous code's mean and a factor: monotone tracking, the
  number the paper's figures suggest ("this code rotates the chair");
- mutual information between the discretised code and the discretised factor, in nats,
  for categorical and continuous codes alike, and from it the Mutual Information Gap
  (MIG, Chen et al. 2018): for each factor, the gap between the two codes that know most
  about it, divided by the factor's entropy, averaged over factors. 1 means each factor
  is captured by one code alone; 0 means no code stands out.

Continuous values are discretised into equal-width bins (20, as in Locatello et al.
2019); values with at most that many distinct levels (labels, binary attributes) are
kept as they are.
"""

import math

import numpy as np

BINS = 20


def code_readings(q_output, spec) -> dict[str, np.ndarray]:
    """Q's reading of each code: the most likely value of each categorical code, the mean of
    each continuous code. Names: categorical_<i>, continuous_<j> (the latent spec's order)."""
    logits, means, _ = spec.split_q_output(q_output)
    readings = {f"categorical_{i}": block.argmax(dim=1).numpy() for i, block in enumerate(logits)}
    readings.update({f"continuous_{j}": means[:, j].numpy().astype(np.float64) for j in range(spec.continuous)})
    return readings


def discretise(values, bins=BINS) -> np.ndarray:
    """Integer levels 0..k-1: the distinct values when there are at most `bins`, else equal-width bins."""
    values = np.asarray(values)
    levels, inverse = np.unique(values, return_inverse=True)
    if len(levels) <= bins:
        return inverse
    edges = np.histogram_bin_edges(values, bins=bins)
    return np.digitize(values, edges[1:-1])


def entropy(levels) -> float:
    """Entropy in nats of a discrete sample."""
    counts = np.bincount(levels)
    p = counts[counts > 0] / len(levels)
    return float(-(p * np.log(p)).sum())


def mutual_information(a_levels, b_levels) -> float:
    """Mutual information in nats between two discrete samples of the same length."""
    joint = np.zeros((a_levels.max() + 1, b_levels.max() + 1))
    np.add.at(joint, (a_levels, b_levels), 1)
    joint /= joint.sum()
    pa, pb = joint.sum(axis=1, keepdims=True), joint.sum(axis=0, keepdims=True)
    nonzero = joint > 0
    return float((joint[nonzero] * np.log(joint[nonzero] / (pa @ pb)[nonzero])).sum())


def score(readings, factors, factor_names) -> dict:
    """Spearman (continuous codes), mutual information (all codes) and MIG against the factors.

    Returns {"spearman": {code: {factor: rho}}, "mutual_information": {code: {factor: nats}},
    "factor_entropy": {factor: nats}, "mig": mean gap, "mig_per_factor": {factor: {gap,
    best_code, second_code}}}. Constant factors (entropy 0) are left out of MIG.
    """
    factors = np.asarray(factors, dtype=np.float64)
    factor_levels = {name: discretise(factors[:, k]) for k, name in enumerate(factor_names)}
    code_levels = {code: discretise(values) for code, values in readings.items()}
    spearman = {
        code: {name: _spearman(values, factors[:, k]) for k, name in enumerate(factor_names)}
        for code, values in readings.items() if code.startswith("continuous_")
    }
    information = {code: {name: mutual_information(levels, factor_levels[name]) for name in factor_names}
                   for code, levels in code_levels.items()}
    factor_entropy = {name: entropy(levels) for name, levels in factor_levels.items()}
    gaps = {}
    for name in factor_names:
        if factor_entropy[name] <= 0 or len(information) < 1:
            continue
        ranked = sorted(information, key=lambda code: information[code][name], reverse=True)
        second = information[ranked[1]][name] if len(ranked) > 1 else 0.0
        gaps[name] = {"gap": (information[ranked[0]][name] - second) / factor_entropy[name],
                      "best_code": ranked[0], "second_code": ranked[1] if len(ranked) > 1 else None}
    mig = float(np.mean([g["gap"] for g in gaps.values()])) if gaps else None
    return {"spearman": spearman, "mutual_information": information, "factor_entropy": factor_entropy,
            "mig": mig, "mig_per_factor": gaps, "bins": BINS}


def _spearman(a, b) -> float | None:
    """Spearman's rho, or None where it is undefined (a constant input)."""
    rho = rank_correlation(a, b)
    return None if math.isnan(rho) else rho


def rank_correlation(a, b) -> float:
    """Spearman's rho of two samples: Pearson's correlation of their ranks, tied values sharing
    their mean rank; NaN where it is undefined (a constant sample, a NaN), as scipy's `spearmanr`.

    Ours rather than scipy's because importing scipy.stats takes about a CPU-second, which
    every evaluation, probe and figure job of the pipeline would pay for this one number
    (tests/test_disentanglement.py checks that the two agree)."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if len(a) != len(b):
        raise ValueError(f"rank correlation of samples of different lengths ({len(a)} and {len(b)})")
    if np.isnan(a).any() or np.isnan(b).any():
        return math.nan
    ranks_a, ranks_b = _mean_ranks(a), _mean_ranks(b)
    ranks_a -= ranks_a.mean()
    ranks_b -= ranks_b.mean()
    scale = math.sqrt(float(ranks_a @ ranks_a) * float(ranks_b @ ranks_b))
    return float(ranks_a @ ranks_b) / scale if scale > 0 else math.nan


def _mean_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of `values`; a run of equal values gets the mean of the ranks it spans."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])  # first index of each run
    lengths = np.diff(np.r_[starts, len(values)])
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(starts + (lengths + 1) / 2, lengths)
    return ranks
