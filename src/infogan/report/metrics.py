"""The report's numbers as one flat JSON file, for DVC (`dvc metrics show`, `dvc metrics diff`).

The report is for reading; this file is for comparing revisions. It holds the numbers of
the report's summary and no more: per experiment, its data and the spread of its headline
numbers over seeds; per claim and experiment, the number the rule judged and the verdict;
per Figure 2-6 panel, the factor probe's score of its generated images, how much the other
factors move, the probe's own quality and the verdict (met, not-met, not-checked), and for
Figures 3-6 Q's score on the real images (`q_score`). Keys are dotted paths
(`mnist_infogan.categorical_accuracy.mean`), values numbers or short words, so that a
diff lines up key by key. The full evaluations stay in results/metrics/.
"""

from infogan.report.claims import summarise


def summary_metrics(claims, figures, runs, evaluations) -> dict:
    """{dotted key: number or word}, sorted by key."""
    metrics = {}
    for experiment in sorted({run.experiment for run in runs}):
        mine = [run for run in runs if run.experiment == experiment]
        metrics[f"{experiment}.seeds"] = len(mine)
        metrics[f"{experiment}.data"] = ", ".join(sorted({run.source for run in mine}))
        finals = [run.metrics[-1]["mi_categorical"] for run in mine if run.metrics]
        _spread(metrics, f"{experiment}.l_i_categorical_final", finals)
        accuracies = [e["categorical_accuracy"] for e in evaluations
                      if e["experiment"] == experiment and e.get("categorical_accuracy") is not None]
        _spread(metrics, f"{experiment}.categorical_accuracy", accuracies)
    for row in claims:
        key = f"claims.{row.experiment}.{row.measure}"
        metrics[f"{key}.verdict"] = row.status
        if row.value is not None:
            metrics[f"{key}.value"] = row.value
    for figure in figures:
        for panel, judged in figure["verdicts"].items():
            key = f"figure{figure['figure']}.{panel}"
            metrics[f"{key}.verdict"] = judged["status"]
            for name in ("score", "others_move", "probe_quality"):
                if judged[name] is not None:
                    metrics[f"{key}.{name}"] = judged[name]
        for choice in figure["choices"]:
            if choice["score"] is not None:
                metrics[f"figure{figure['figure']}.{choice['key']}.q_score"] = choice["score"]
    return dict(sorted(metrics.items()))


def _spread(metrics, key, values):
    """Mean, sd (with two or more seeds), min and max of `values` under `key`; nothing for none."""
    if not values:
        return
    stats = summarise(values)
    for name in ("mean", "sd", "min", "max"):
        if stats[name] is not None:
            metrics[f"{key}.{name}"] = stats[name]
