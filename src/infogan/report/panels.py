"""Verdicts on the panels of Figures 2-6, from the numbers in each figure's sidecar.

Two readings of a panel, both shown, one of them the verdict:

- the verdict: the factor probe's scores of the panel's *generated* sweep
  (`probe_scores`, infogan.figures.judge): does moving the code move the panel's factor in
  the images, and how much do the other factors move with it. No verdict where the probe
  reads the factor too poorly on held-out images (`probe_min_quality`), or cannot read it
  at all (the data does not label it);
- beside it (Figures 3-6): Q's reading of the dataset's real images, which chose the run and
  code shown (`selected`). It says what Q learned, not what G draws, so it is not the verdict.

The thresholds are paper_claims.yaml's `panel_verdicts`, stated in the report.
"""

MET, NOT_MET, NOT_CHECKED = "met", "not-met", "not-checked"


def q_readings(sidecar, thresholds):
    """Figures 3-6: per panel, the run and code shown, why, and how well Q's reading of it tracks
    its factor on the real images; [] for figures without per-panel choices (1 and 2)."""
    rows = []
    for key, chosen in sorted(sidecar.get("selected", {}).items()) if sidecar["figure"] >= 3 else ():
        score = chosen.get("score")
        verdict = ("not measurable (no true factor in this data)" if score is None
                   else _tracking(score, thresholds))
        rows.append({"key": key, "experiment": chosen["experiment"], "seed": chosen["seed"], "code": chosen["code"],
                     "factor": chosen.get("factor"), "score": score, "criterion": chosen["criterion"],
                     "verdict": verdict, "met": score is not None and score >= thresholds["tracks_well"]})
    return rows


def probe_verdicts(sidecar, thresholds):
    """{panel key: verdict row} from the sidecar's probe scores; {} when the figure was drawn without
    a probe (then its panels have no verdict)."""
    return {key: verdict(scores, sidecar.get("probe") or {}, thresholds)
            for key, scores in sorted((sidecar.get("probe_scores") or {}).items())}


def verdict(scores, probe, thresholds) -> dict:
    """One panel: its score, the probe's quality of the factor, what the others do, and the verdict
    with its status (met, not met, or not checked when the probe cannot judge)."""
    row = {"factor": scores.get("factor"), "score": scores.get("score"), "measure": scores.get("measure"),
           "others_move": scores.get("others_move"), "probe_quality": scores.get("probe_quality"),
           "rows": scores.get("rows"), "expect": scores.get("expect", "follows")}
    if row["score"] is None:
        return {**row, "verdict": f"not judged: {scores.get('reason', 'no probe score')}", "status": NOT_CHECKED}
    least = thresholds["probe_min_quality"]
    if row["probe_quality"] is None or row["probe_quality"] < least:
        return {**row, "status": NOT_CHECKED,
                "verdict": f"not judged: the probe reads {row['factor']} too poorly "
                           f"(held-out {_number(row['probe_quality'])} < {least})"}
    if row["expect"] == "no_meaning":
        meaningless = row["score"] < thresholds["tracks_weakly"]
        return {**row, "status": MET if meaningless else NOT_MET,
                "verdict": "no clear meaning, as the paper says" if meaningless
                           else f"{_tracking(row['score'], thresholds)} (the paper: no clear meaning)"}
    text = _tracking(row["score"], thresholds)
    if row["others_move"] is not None and row["others_move"] >= thresholds["tracks_weakly"]:
        text += f"; other factors move too (eta^2 up to {row['others_move']:.2f})"
    return {**row, "verdict": text, "status": MET if row["score"] >= thresholds["tracks_well"] else NOT_MET}


def _tracking(score, thresholds):
    if score >= thresholds["tracks_well"]:
        return "tracks it"
    return "tracks it weakly" if score >= thresholds["tracks_weakly"] else "does not track it"


def _number(value):
    return "n/a" if value is None else f"{value:.2f}"
