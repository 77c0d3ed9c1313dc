"""Each figure panel judged on the generated images it shows, by the dataset's factor probe.

A panel's verdict must be about the generator: does moving the code change the panel's
factor in the images, and leave the rest? The probe (infogan.probes) reads every labelled
factor of an image; applied to the panel's sweep it scores both. The sweep scored is the
figure's own: its `draws` rows (the draw seed the grid uses) and more rows beside them
(`probe_rows` in total, the next seed), so that the score rests on more than the five
rows a reader sees, and includes them.

Here the numbers are measured and recorded in the figure's sidecar (`probe_scores`); the
report turns them into verdicts with the thresholds of paper_claims.yaml, and gives none
where the probe reads the factor too poorly on held-out images to judge it.
"""

from pathlib import Path

import torch

from infogan import checkpoint
from infogan.figures.grids import to_unit_range
from infogan.probes import LABEL, load_probe, matched_label_share, sweep_scores
from infogan.sweep import sweep_code

MATCHED_SHARE = "share of the sweep's images the probe reads as their column's matched label"


def load(probe_path, device):
    """(probe, its record for the sidecar), or (None, None) without a probe."""
    if probe_path is None:
        return None, None
    probe = load_probe(probe_path, device)
    return probe, {"path": str(probe_path), "reads": probe.targets, "quality": probe.quality,
                   "quality_measure": "label: held-out accuracy; each factor: held-out Spearman rho"}


@torch.no_grad()
def scored_sweep(run_path, kind, index, values, draws, seed, rows, device):
    """The panel's sweep as the probe scores it, images in [0, 1], K x rows x C x H x W: the
    figure's own `draws` rows (seed `seed`) first, then `rows - draws` more (seed + 1)."""
    config, generator, _, _ = checkpoint.load_trained(Path(run_path), device)
    parts = [sweep_code(generator, config.latent, kind, index, values, draws, seed, device)]
    if rows > draws:
        parts.append(sweep_code(generator, config.latent, kind, index, values, rows - draws, seed + 1, device))
    return to_unit_range(torch.cat(parts, dim=1), config.output_range)


def judge_sweep(probe, columns, kind, factors, values=None, column_labels=None) -> dict:
    """The probe's scores of one panel's sweep. With `column_labels` (a categorical code whose
    columns the evaluation matched to class labels), `score` is the share of images read as their
    column's label; else it is `follows` for whichever of the panel's `factors` the probe reads
    follows the code best (a periodic angle comes as its sine and cosine). `score` is None, with
    the reason, when the probe reads none of them."""
    if column_labels is not None:
        if LABEL not in probe.targets:
            return _not_scored(probe, [LABEL])
        scores = sweep_scores(probe, columns, "categorical", LABEL)
        return {**scores, "score": matched_label_share(probe, columns, column_labels), "measure": MATCHED_SHARE}
    readable = [factor for factor in factors if factor in probe.targets]
    if not readable:
        return _not_scored(probe, factors)
    best = max((sweep_scores(probe, columns, kind, factor, values) for factor in readable),
               key=lambda scores: scores["follows"])
    return {**best, "score": best["follows"], "measure": best["follows_measure"]}


def headline(scores) -> dict:
    """The two numbers a panel's entry in the sidecar's `selected` carries: the score of its
    generated images and the probe's held-out quality for the factor it read."""
    return {"generated_score": scores["score"], "probe_accuracy": scores.get("probe_quality")}


def _not_scored(probe, factors):
    return {"score": None, "factor": None, "rows": None,
            "reason": f"the probe of this data reads {', '.join(probe.targets)}; none of {', '.join(factors)}"}
