"""Factor probes: small supervised networks that read a dataset's labelled factors from images,
so that a figure's verdict can be measured on the *generated* images it shows.

The paper's Figures 2-6 claim something about the generator: moving one code changes one
factor of the image and leaves the rest. Q's reading of real images cannot show that (Q
can track a factor while G draws grey). A probe, trained on the dataset's own labelled
training images and checked on held-out ones, reads every factor of any image; applied to
a code's sweep (the rows of a figure panel, more of them than the figure shows), it gives

- `follows`: how strongly the panel's factor follows the code along the sweep: for a
  continuous code, |Spearman rho| between the code's value and the probe's reading,
  averaged over the rows; for a categorical code, whose values have no order, the share of
  the reading's variance that the code's value explains (the correlation ratio eta^2);
- `others_move`: the same eta^2 for every other factor the probe reads (for the class
  label: on its one-hot reading), the largest of them: 0 when only the panel's factor
  changes, near 1 when the sweep changes everything.

Both are scaled by the factor's `reach`: how far its reading moves along a row, against
REACH_STDS of the factor's standard deviation in the data (at most 1). Rank correlations
and variance shares ignore size, and an untrained generator changes its images by
imperceptible amounts in perfect order: without the scale, that would "follow" the code.
The class label's reading moves only when the class changes, so its reach is 1.

One probe per dataset file, cached beside the results (`infogan probe train`), with its
held-out quality per factor (accuracy for the class label, Spearman rho between reading
and truth for every other factor), which the report shows beside each verdict; where that
quality is too low the probe gives no verdict. Images go in as [0, 1] floats, the range
of the uint8 data divided by 255 and of every generator output once mapped for display.
"""

import hashlib
import math
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from infogan.atomic import atomic_path, write_json
from infogan.data.hdf5 import read_info, read_split
from infogan.disentanglement import rank_correlation
from infogan.errors import DatasetFileError, InfoganError
from infogan.progress import progress

LABEL = "label"  # the target name of a dataset's class label (digits, chair types)
STEPS, BATCH_SIZE, LEARNING_RATE = 3000, 128, 1e-3
HELD_OUT_SHARE = 0.1  # of the train split, where a dataset has no test split
SMALLEST_MAP = 8  # convolutions halve the image until it is this small
REACH_STDS = 2.0  # a factor's reading that moves by this many of its data's sds along a row moves fully


def probe_network(image_shape, outputs) -> nn.Module:
    """A few stride-2 convolutions down to about 8 x 8, then two linear layers: enough to read
    pose, lighting and class from 28-64 pixel images, small enough to train in minutes on a CPU."""
    channels, size = image_shape[0], image_shape[1]
    layers, width = [], channels
    for out in (32, 64, 128):
        if size <= SMALLEST_MAP:
            break
        layers += [nn.Conv2d(width, out, 4, 2, 1), nn.BatchNorm2d(out), nn.LeakyReLU(0.1)]
        width, size = out, size // 2
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(width * size * size, 256), nn.LeakyReLU(0.1),
                         nn.Linear(256, outputs))


@dataclass
class Probe:
    """A trained probe and what it reads: the class label (if the data has one, `classes`
    values) and the factors (standardised with `mean` and `std` for training)."""

    network: nn.Module
    classes: int  # 0 when the data has no class label
    factors: list[str]
    mean: np.ndarray
    std: np.ndarray
    quality: dict[str, float]

    @property
    def targets(self) -> list[str]:
        return ([LABEL] if self.classes else []) + self.factors

    @torch.no_grad()
    def read(self, images, batch_size=1000) -> dict[str, np.ndarray]:
        """{target: reading} for N images in [0, 1] (N x C x H x W floats): the most likely class
        for the label, the predicted value (in the factor's units) for every factor."""
        self.network.eval()
        device = next(self.network.parameters()).device
        outputs = torch.cat([self.network(images[i:i + batch_size].to(device).float()).cpu()
                             for i in range(0, len(images), batch_size)]).numpy().astype(np.float64)
        readings = {}
        if self.classes:
            readings[LABEL] = outputs[:, :self.classes].argmax(axis=1)
        values = outputs[:, self.classes:] * self.std + self.mean
        readings.update({name: values[:, j] for j, name in enumerate(self.factors)})
        return readings


# --- training -----------------------------------------------------------------------------


def _targets(split):
    """(labels or None, factors N x F or None, factor names) of a split."""
    factors = None if split.factors is None else np.asarray(split.factors, dtype=np.float64)
    return split.labels, factors, list(split.factor_names or [])


def _held_out(data_path, info):
    """(training split, held-out split): the test split where there is one, else the last
    HELD_OUT_SHARE of the train split, never seen in training."""
    train = read_split(data_path, "train")
    if "test" in info.splits:
        return train, read_split(data_path, "test")
    cut = int(len(train.images) * (1 - HELD_OUT_SHARE))
    pieces = [(field, getattr(train, field)) for field in ("images", "labels", "factors")]
    first = {f: None if v is None else v[:cut] for f, v in pieces}
    last = {f: None if v is None else v[cut:] for f, v in pieces}
    split_type = type(train)
    return (split_type(**first, factor_names=train.factor_names), split_type(**last, factor_names=train.factor_names))


def train_probe(data_path, out_path, steps=STEPS, batch_size=BATCH_SIZE, seed=0, device="cpu") -> dict:
    """Train a probe on `data_path`'s labelled training images, measure it on held-out ones,
    write it to `out_path` (and its record to `out_path` with .json); returns the record."""
    info = read_info(data_path)
    train, held_out = _held_out(data_path, info)
    labels, factors, names = _targets(train)
    if labels is None and factors is None:
        raise DatasetFileError(f"{data_path}: no labels and no factors: there is nothing a probe could learn to read")
    device = torch.device(device)
    classes = 0 if labels is None else int(max(labels.max(), -1 if held_out.labels is None else held_out.labels.max()) + 1)
    mean = factors.mean(axis=0) if factors is not None else np.zeros(0)
    std = np.where(factors.std(axis=0) > 0, factors.std(axis=0), 1.0) if factors is not None else np.ones(0)
    torch.manual_seed(seed)
    network = probe_network(info.image_shape, classes + len(names)).to(device)
    images = torch.from_numpy(train.images)
    label_tensor = torch.from_numpy(labels.astype(np.int64)) if labels is not None else None
    factor_tensor = torch.from_numpy(((factors - mean) / std).astype(np.float32)) if factors is not None else None
    optimizer = torch.optim.Adam(network.parameters(), lr=LEARNING_RATE)
    order = torch.Generator().manual_seed(seed)
    network.train()
    for _ in progress(range(steps), desc=f"probe for {info.dataset}", unit="step", delay=2):
        batch = torch.randint(len(images), (min(batch_size, len(images)),), generator=order)
        output = network(images[batch].to(device).float() / 255)
        loss = output.new_zeros(())
        if classes:
            loss = loss + nn.functional.cross_entropy(output[:, :classes], label_tensor[batch].to(device))
        if names:
            loss = loss + nn.functional.mse_loss(output[:, classes:], factor_tensor[batch].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    probe = Probe(network, classes, names, mean, std, {})
    probe.quality = held_out_quality(probe, held_out)
    record = {"dataset": info.dataset, "source": info.source, "data": str(data_path),
              "train_images_sha256": hashlib.sha256(train.images.tobytes()).hexdigest(),
              "held_out_images": len(held_out.images), "steps": steps, "batch_size": batch_size, "seed": seed,
              "classes": classes, "factors": names, "mean": mean.tolist(), "std": std.tolist(),
              "quality": probe.quality,
              "quality_measure": "label: accuracy; each factor: Spearman rho between reading and truth"}
    with atomic_path(out_path) as tmp:
        torch.save({"state_dict": network.state_dict(), "image_shape": list(info.image_shape), **record}, tmp)
    write_json(Path(out_path).with_suffix(".json"), record)
    return record


def held_out_quality(probe, held_out) -> dict[str, float]:
    """Accuracy on the held-out class labels; Spearman rho between reading and truth per factor
    (0 for a factor that is constant there: nothing to rank)."""
    readings = probe.read(torch.from_numpy(held_out.images).float() / 255)
    labels, factors, _ = _targets(held_out)
    quality = {}
    if probe.classes:
        quality[LABEL] = float((readings[LABEL] == labels).mean())
    for j, name in enumerate(probe.factors):
        rho = rank_correlation(readings[name], factors[:, j])
        quality[name] = 0.0 if math.isnan(rho) else float(rho)
    return quality


def load_probe(path, device="cpu") -> Probe:
    """A probe written by `train_probe`; a missing or foreign file is named."""
    path = Path(path)
    try:
        saved = torch.load(path, map_location=device, weights_only=True)
        network = probe_network(saved["image_shape"], saved["classes"] + len(saved["factors"]))
        network.load_state_dict(saved["state_dict"])
    except FileNotFoundError:
        raise InfoganError(f"{path}: no such probe; make it with `infogan probe DATA.h5 --out {path}`") from None
    except pickle.UnpicklingError:  # torch's own message would advise loading it unsafely
        raise InfoganError(f"{path}: not a probe written by `infogan probe` (not a plain tensor file); "
                           "make it again") from None
    except (RuntimeError, KeyError, TypeError, ValueError, EOFError) as exc:
        raise InfoganError(f"{path}: not a probe written by `infogan probe` ({exc}); make it again") from None
    return Probe(network.to(device), saved["classes"], list(saved["factors"]), np.asarray(saved["mean"]),
                 np.asarray(saved["std"]), dict(saved["quality"]))


# --- scoring a sweep ------------------------------------------------------------------------


def correlation_ratio(groups, values) -> float:
    """eta^2: the share of the variance of `values` (N, or N x D summed over D) explained by the
    group each belongs to. 0 when the groups do not differ, 1 when they explain everything;
    0 when the values do not vary at all."""
    values = np.asarray(values, dtype=np.float64).reshape(len(groups), -1)
    total = ((values - values.mean(axis=0)) ** 2).sum()
    if total <= 1e-12 * max(1.0, np.abs(values).max() ** 2 * len(values)):
        return 0.0
    between = sum(((values[groups == g].mean(axis=0) - values.mean(axis=0)) ** 2).sum() * (groups == g).sum()
                  for g in np.unique(groups))
    return float(between / total)


def _one_hot(classes, n_classes):
    return np.eye(n_classes)[classes]


def sweep_scores(probe: Probe, columns, code_kind, factor, values=None) -> dict:
    """How the probe's readings of a sweep (K columns x R rows x C x H x W, images in [0, 1])
    follow the code: `follows` for `factor` (|Spearman| against `values` for a continuous
    code; eta^2 over the columns for a categorical one), `others_move` (the largest eta^2 over
    the other targets, and each of them), and the probe's held-out quality of `factor`."""
    if factor not in probe.targets:
        raise InfoganError(f"the probe reads {probe.targets}, not {factor!r}")
    n_columns, n_rows = columns.shape[:2]
    readings = probe.read(columns.reshape(n_columns * n_rows, *columns.shape[2:]))
    column_of = np.repeat(np.arange(n_columns), n_rows)

    def reach(target):
        """How far the reading moves along a row, in REACH_STDS of the factor's sd in the data (<= 1)."""
        if target == LABEL:
            return 1.0
        grid = readings[target].reshape(n_columns, n_rows)
        spread = float(np.mean(grid.max(axis=0) - grid.min(axis=0)))
        return min(1.0, spread / (REACH_STDS * probe.std[probe.factors.index(target)]))

    def eta(target):
        reading = readings[target]
        share = correlation_ratio(column_of, _one_hot(reading, probe.classes) if target == LABEL else reading)
        return share * reach(target)

    if code_kind == "continuous" and factor != LABEL:
        grid = readings[factor].reshape(n_columns, n_rows)
        rhos = [rank_correlation(values, grid[:, row]) for row in range(n_rows)]
        rhos = [r for r in rhos if not math.isnan(r)]
        follows = (abs(float(np.mean(rhos))) if rhos else 0.0) * reach(factor)
        measure = "|mean over rows of Spearman rho between the code's value and the probe's reading| x reach"
    else:
        follows = eta(factor)
        measure = "eta^2 (share of the reading's variance explained by the code's value) x reach"
    others = {target: eta(target) for target in probe.targets if target != factor}
    return {"factor": factor, "follows": follows, "follows_measure": measure, "reach": reach(factor),
            "others_move": max(others.values(), default=0.0), "others": others,
            "probe_quality": probe.quality.get(factor), "rows": n_rows}


def matched_label_share(probe: Probe, columns, column_labels) -> float:
    """Figure 2 (a): the share of the sweep's images whose probe label is their column's matched
    label (`column_labels[k]`, None for an unmatched column, which counts as a miss)."""
    n_columns, n_rows = columns.shape[:2]
    read = probe.read(columns.reshape(n_columns * n_rows, *columns.shape[2:]))[LABEL].reshape(n_columns, n_rows)
    hits = [(read[k] == label).sum() if label is not None else 0 for k, label in enumerate(column_labels)]
    return float(sum(hits) / (n_columns * n_rows))
