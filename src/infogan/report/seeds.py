"""Per-seed results of an experiment with a categorical code: the table the README and the report show.

For each seed: c1 used as a classifier (each category matched one to one to a label by
the Hungarian method, as `infogan evaluate` does), the labels that share a category (what a
failing seed merges), L_I near iteration 1,000 and at the end of training, and wall time.
Below them: mean, sample sd, best, and how many seeds reach the paper's target.
"""

import statistics

from infogan.report.claims import window_mean

# A label holding at least this share of a category's test images counts as "in" that category.
MERGE_SHARE = 0.2
# L_I is the mean of the logged values over this many iterations up to the point named.
L_I_WINDOW = 100
L_I_EARLY = 1000


def merged_labels(confusion, share=MERGE_SHARE) -> list[tuple[int, ...]]:
    """Label groups that share a category: per category (a row of the confusion matrix,
    category x label), the labels with at least `share` of its images, where there are two or more."""
    groups = []
    for row in confusion:
        total = sum(row)
        members = tuple(label for label, count in enumerate(row) if total and count >= share * total)
        if len(members) > 1:
            groups.append(members)
    return sorted(groups)


def l_i_early(run) -> float | None:
    """Mean logged L_I over the window ending at iteration L_I_EARLY; None for a shorter run."""
    last = run.metrics[-1]["iteration"] if run.metrics else 0
    return window_mean(run.metrics, "mi_categorical", L_I_EARLY - L_I_WINDOW, L_I_EARLY) if last >= L_I_EARLY else None


def seed_rows(runs, evaluations) -> list[dict]:
    """One row per run that has an evaluation with a categorical accuracy, by experiment and seed."""
    by_key = {(e["experiment"], int(e["seed"])): e for e in evaluations}
    rows = []
    for run in sorted(runs, key=lambda r: (r.experiment, r.seed)):
        evaluation = by_key.get((run.experiment, run.seed))
        if not evaluation or evaluation.get("categorical_accuracy") is None:
            continue
        last = run.metrics[-1]["iteration"] if run.metrics else 0
        rows.append({
            "experiment": run.experiment, "seed": run.seed, "source": run.source, "iterations": last,
            "infogan": run.config.generator_mutual_information,
            "accuracy": evaluation["categorical_accuracy"],
            "merged": merged_labels(evaluation["categorical_confusion"]),
            "l_i_early": l_i_early(run),
            "l_i_end": window_mean(run.metrics, "mi_categorical", last - L_I_WINDOW),
            "entropy": run.config.latent.categorical_entropy,
            "train_seconds": run.info.get("train_seconds"),
            "device": run.info.get("device"), "bf16": run.info.get("bf16_autocast_used"),
        })
    return rows


def summary(rows, target) -> dict:
    """Mean, sample sd (None for one seed), best row, and the seeds at or above `target`."""
    accuracies = [row["accuracy"] for row in rows]
    return {"n": len(rows), "mean": statistics.fmean(accuracies),
            "sd": statistics.stdev(accuracies) if len(rows) > 1 else None,
            "best": max(rows, key=lambda row: (row["accuracy"], -row["seed"])),
            "reached": [row["seed"] for row in rows if row["accuracy"] >= target]}


def _groups(merged) -> str:
    return ", ".join("/".join(map(str, group)) for group in merged) or "none"


def _number(value, form) -> str:
    return "n/a" if value is None else format(value, form)


def markdown(rows, target) -> str:
    """The per-seed table and, per InfoGAN experiment (the claim is about InfoGAN's c1), a summary line."""
    lines = ["| experiment | seed | data | accuracy (Hungarian) | labels sharing a category | "
             f"L_I at {L_I_EARLY:,} | L_I at the end | H(c) | wall time | device |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        minutes = _number(row["train_seconds"] and row["train_seconds"] / 60, ".0f")
        lines.append(
            f"| `{row['experiment']}` | {row['seed']} | {row['source']} | {100 * row['accuracy']:.2f}% | "
            f"{_groups(row['merged'])} | {_number(row['l_i_early'], '.3f')} | {_number(row['l_i_end'], '.3f')} "
            f"(it. {row['iterations']:,}) | {row['entropy']:.3f} | {minutes} min | "
            f"{row['device']}{', bf16' if row['bf16'] else ''} |")
    for experiment in sorted({row["experiment"] for row in rows if row["infogan"]}):
        stats = summary([row for row in rows if row["experiment"] == experiment], target)
        sd = "n/a" if stats["sd"] is None else f"{100 * stats['sd']:.2f}"
        lines.append("")
        lines.append(f"`{experiment}`: mean {100 * stats['mean']:.2f}% ± {sd} (sd over {stats['n']} seed{'s' if stats['n'] != 1 else ''}), best "
                     f"{100 * stats['best']['accuracy']:.2f}% (seed {stats['best']['seed']}); "
                     f"{len(stats['reached'])} of {stats['n']} seeds reach {target:.0%}.")
    return "\n".join(lines)
