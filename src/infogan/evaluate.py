"""Evaluate a finished run: how well its codes capture the factors the paper claims.

`infogan evaluate RUN_DIR --data FILE.h5 --out FILE.json` writes one JSON object:

- `experiment`, `seed`, `iteration`: which run was evaluated.
- `data`: the evaluation file's `path`, `dataset` and `source` ("real" or "synthetic"),
  and `trained_on`, the training data recorded in the checkpoint.
- `categorical_accuracy`: Q's prediction of the first categorical code on the test
  images, used as a classifier after a one-to-one (Hungarian) matching of categories
  to labels; the paper reports 95% on MNIST (5% error).
- `categorical_matching`: category index -> matched label; `categorical_confusion`:
  counts, rows = category, columns = label.
- `mutual_information`: L_I per code type estimated on `samples` fresh generated
  images, and `categorical_max` = H(c), the value it saturates at (ln 10 for MNIST).
- `continuous_codes` (digits only: the MNIST network): for each continuous code, how
  the generated digits change as it sweeps from -2 to 2 (the paper's Fig. 2 range)
  with noise and other codes held: `slant` (horizontal shear from image moments,
  mu11 / mu02) and `width` (the horizontal standard deviation of ink, pixels), each as
  a `slope` per unit of code and a Spearman correlation `spearman` over all generated
  images.
- `roles`: which continuous code is "rotation" and which is "width": the assignment
  of codes to the two roles with the largest sum of |spearman|.
- `factor_correlations` (when something is known about the images: the stand-ins' true
  factors, 3D Chairs' views, CelebA's attributes, and any class label as the factor
  `label`): Spearman correlation of Q's mean for each continuous code with each factor on
  the test images; `disentanglement`: mutual information of every code (categorical too)
  with every factor, and MIG (see infogan.disentanglement).
- `training`: the last logged training metrics and the training wall time.
"""

import itertools
import logging

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from infogan import checkpoint
from infogan.architectures import sweeps_continuous_codes
from infogan.atomic import write_json
from infogan.data.hdf5 import Split, read_info, read_split
from infogan.disentanglement import code_readings, rank_correlation, score
from infogan.errors import DatasetFileError
from infogan.rundir import read_metrics
from infogan.sweep import sweep_code
from infogan.train import resolve_device, to_network_range

SWEEP_VALUES = np.linspace(-2.0, 2.0, 10)
ROLES = ("rotation", "width")
# The defaults of `infogan evaluate` (the pipeline's configs state their own): enough that
# the estimates' noise stays below 0.01.
SAMPLES = 10_000  # generated images for the L_I estimate
DRAWS = 500  # noise draws per value when sweeping a continuous code


@torch.no_grad()
def predict_codes(discriminator, config, images_uint8, device, batch_size=1000):
    """Q's raw output on real images (eval mode: batch norm uses its running statistics)."""
    outputs = []
    for start in range(0, len(images_uint8), batch_size):
        batch = torch.from_numpy(images_uint8[start:start + batch_size]).to(device)
        outputs.append(discriminator.q(to_network_range(batch, config.output_range, channels_last=False)).float().cpu())
    return torch.cat(outputs)


def match_categories(predicted, labels, n_categories):
    """One-to-one matching of categories to labels that maximises agreement.

    Returns (accuracy, {category: label}, confusion matrix as nested lists).
    """
    n_labels = int(max(labels.max() + 1, n_categories))
    confusion = np.zeros((n_categories, n_labels), dtype=np.int64)
    np.add.at(confusion, (predicted, labels), 1)
    rows, cols = linear_sum_assignment(-confusion)
    accuracy = confusion[rows, cols].sum() / len(labels)
    return float(accuracy), {int(r): int(c) for r, c in zip(rows, cols)}, confusion.tolist()


def image_moments(images):
    """Slant (mu11 / mu02: x shift per unit of y) and width (std of x) of each image's ink."""
    images = images.double().flatten(0, -3)  # N x H x W
    n, height, width = images.shape
    ys = torch.arange(height, dtype=torch.double).view(1, height, 1)
    xs = torch.arange(width, dtype=torch.double).view(1, 1, width)
    mass = images.sum(dim=(1, 2)).clamp_min(1e-8)
    cx = (images * xs).sum(dim=(1, 2)) / mass
    cy = (images * ys).sum(dim=(1, 2)) / mass
    dx, dy = xs - cx.view(n, 1, 1), ys - cy.view(n, 1, 1)
    mu20 = (images * dx * dx).sum(dim=(1, 2)) / mass
    mu02 = (images * dy * dy).sum(dim=(1, 2)) / mass
    mu11 = (images * dx * dy).sum(dim=(1, 2)) / mass
    return (mu11 / mu02.clamp_min(1e-8)).numpy(), mu20.sqrt().numpy()


@torch.no_grad()
def describe_continuous_codes(generator, config, device, draws=500, seed=0):
    """Slant and width responses of every continuous code, and the rotation/width roles."""
    codes = []
    for index in range(config.latent.continuous):
        images = sweep_code(generator, config.latent, "continuous", index, SWEEP_VALUES, draws, seed, device)
        slant, width = image_moments(images)
        code_values = np.repeat(SWEEP_VALUES, draws)
        entry = {"index": index}
        for name, measure in (("slant", slant), ("width", width)):
            per_value = measure.reshape(len(SWEEP_VALUES), draws).mean(axis=1)
            entry[name] = {
                "slope": float(np.polyfit(SWEEP_VALUES, per_value, 1)[0]),
                "spearman": rank_correlation(code_values, measure),
                "mean_at_values": [float(v) for v in per_value],
            }
        codes.append(entry)
    return codes, assign_roles(codes)


def assign_roles(codes):
    """Give "rotation" and "width" to distinct codes, maximising |spearman(slant)| + |spearman(width)|."""
    if len(codes) < len(ROLES):
        return {}
    best = max(
        itertools.permutations(range(len(codes)), len(ROLES)),
        key=lambda pick: abs(codes[pick[0]]["slant"]["spearman"]) + abs(codes[pick[1]]["width"]["spearman"]),
    )
    return {role: index for role, index in zip(ROLES, best)}


@torch.no_grad()
def estimate_mutual_information(generator, discriminator, spec, device, samples, seed=0):
    """L_I per code type on freshly generated images, as during training but with eval-mode networks."""
    rng = torch.Generator(device).manual_seed(seed)
    total_cat, total_cont = 0.0, 0.0
    for start in range(0, samples, 1000):
        size = min(1000, samples - start)
        sample = spec.sample(size, rng, device)
        _, q_output = discriminator(generator(spec.generator_input(sample)))
        cat, cont = spec.mutual_information(q_output, sample)
        total_cat, total_cont = total_cat + size * cat.item(), total_cont + size * cont.item()
    return {"categorical": total_cat / samples, "categorical_max": spec.categorical_entropy,
            "continuous": total_cont / samples, "samples": samples}


def true_factors(split):
    """(N x F values, F names) of what is known about each image: its stored factors, and its
    class label as the factor `label` (the digit, the chair type); None when nothing is known."""
    columns, names = [], []
    if split.factors is not None:
        columns.append(np.asarray(split.factors, dtype=np.float64))
        names += list(split.factor_names)
    if split.labels is not None:
        columns.append(np.asarray(split.labels, dtype=np.float64)[:, None])
        names.append("label")
    return (np.concatenate(columns, axis=1), names) if columns else None


def evaluate(run_dir, data_path, out_path, device="auto", seed=0, samples=SAMPLES, draws=DRAWS, max_images=10_000):
    """Evaluate `run_dir/final.pt` on the test split of `data_path` (the train split where there
    is no test split; at most `max_images` of it); write JSON to `out_path`.

    `samples` generated images estimate L_I; `draws` rows of noise per sweep value measure
    what each continuous code does (the defaults keep the estimates' noise below 0.01)."""
    device = resolve_device(device)
    config, generator, discriminator, payload = checkpoint.load_trained(run_dir, device)
    info = read_info(data_path)
    if info.image_shape != config.image_shape:
        raise DatasetFileError(f"{data_path}: images are {list(info.image_shape)}, run {run_dir} "
                               f"was trained on {list(config.image_shape)}")
    trained_on = payload["data"]
    other_data = None
    if (info.dataset, info.source) != (trained_on.get("dataset"), trained_on.get("source")):
        other_data = (f"{run_dir} was trained on {trained_on.get('source')} {trained_on.get('dataset')} "
                      f"({trained_on.get('path')}), evaluated here on {info.source} {info.dataset} ({data_path})")
        logging.getLogger(__name__).warning("%s: the numbers describe that data, not the training data", other_data)
    split = "test" if "test" in info.splits else "train"
    test = read_split(data_path, split)
    if len(test.images) > max_images:  # a fixed subset: scores of seeds and runs stay comparable
        keep = np.sort(np.random.default_rng(0).choice(len(test.images), max_images, replace=False))
        test = Split(test.images[keep], None if test.labels is None else test.labels[keep],
                     None if test.factors is None else test.factors[keep], test.factor_names)
    q_output = predict_codes(discriminator, config, test.images, device)
    result = {
        "experiment": config.name,
        "seed": payload["seed"],
        "iteration": payload["iteration"],
        "run_dir": str(run_dir),
        "data": {"path": str(data_path), "dataset": info.dataset, "source": info.source,
                 "split": split, "images": len(test.images), "trained_on": trained_on,
                 "other_than_trained_on": other_data},
    }
    spec = config.latent
    if spec.categorical and test.labels is not None:
        logits, _, _ = spec.split_q_output(q_output)
        predicted = logits[0].argmax(dim=1).numpy()
        accuracy, matching, confusion = match_categories(predicted, test.labels, spec.categorical[0])
        result.update(categorical_accuracy=accuracy, categorical_matching=matching, categorical_confusion=confusion)
    result["mutual_information"] = estimate_mutual_information(generator, discriminator, spec, device, samples, seed)
    if sweeps_continuous_codes(config):
        codes, roles = describe_continuous_codes(generator, config, device, draws, seed)
        result.update(continuous_codes=codes, roles=roles)
    truth = true_factors(test)
    if truth is not None:
        scores = score(code_readings(q_output, spec), *truth)
        result["factor_correlations"] = scores.pop("spearman")
        result["disentanglement"] = scores
    result["training"] = {"last_logged": (read_metrics(run_dir) or [None])[-1], "train_seconds": payload["train_seconds"]}
    write_json(out_path, result)
    return result
