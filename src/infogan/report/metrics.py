"""The report's numbers as one flat JSON file, for DVC (`dvc metrics show`, `dvc metrics diff`).

The report is for reading; this file is for comparing revisions. It holds the numbers of
the report's summary and no more: per experiment, the mean over seeds of its categorical
accuracy and final L_I; per claim and experiment, the number the rule judged and the
verdict; per Figure 2-6 panel, the factor probe's score of its generated images. Keys are
dotted paths (`mnist_infogan.accuracy`, `figure3.a`), values numbers or short words, so that
a diff lines up key by key; few of them, so that `dvc metrics show` stays one readable
table. The full evaluations stay in results/metrics/.
"""

import statistics


def summary_metrics(claims, figures, runs, evaluations) -> dict:
    """{dotted key: number or word}, sorted by key; few enough keys that `dvc metrics show` prints
    one readable table for the whole paper (spreads over seeds are in the report)."""
    metrics = {}
    for experiment in sorted({run.experiment for run in runs}):
        finals = [run.metrics[-1]["mi_categorical"] for run in runs if run.experiment == experiment and run.metrics]
        accuracies = [e["categorical_accuracy"] for e in evaluations
                      if e["experiment"] == experiment and e.get("categorical_accuracy") is not None]
        if finals:
            metrics[f"{experiment}.l_i"] = statistics.fmean(finals)
        if accuracies:
            metrics[f"{experiment}.accuracy"] = statistics.fmean(accuracies)
    for row in claims:
        key = f"claims.{row.experiment}.{row.measure}"
        metrics[f"{key}.verdict"] = row.status
        if row.value is not None:
            metrics[f"{key}.value"] = row.value
    for figure in figures:
        for panel, judged in figure["verdicts"].items():
            if judged["score"] is not None:
                metrics[f"figure{figure['figure']}.{panel}"] = judged["score"]
    return dict(sorted(metrics.items()))
