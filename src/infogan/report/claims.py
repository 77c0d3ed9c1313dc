"""The paper's checkable claims against our numbers, each with a plain verdict.

Verdicts are computed here from the numbers alone, never written by hand: "met",
"not met", or "not checked" when the runs cannot answer (too short, no labels). The
targets come from `paper_claims.yaml`; each row carries the rule that decided it, so
the report shows how the verdict was reached.
"""

import math
import statistics
from dataclasses import dataclass

from infogan.errors import InfoganError

MET, NOT_MET, NOT_CHECKED = "met", "not met", "not checked"


@dataclass(frozen=True)
class ClaimCheck:
    """One row of the claims table."""

    claim: str  # the paper's words
    subject: str  # which experiment and runs were checked
    ours: str  # our numbers
    rule: str  # how the verdict is decided
    status: str  # MET, NOT_MET or NOT_CHECKED
    data: str  # data sources of the numbers ("real", "synthetic", ...)
    experiment: str = ""  # the experiment checked
    measure: str = ""  # what `value` is, as a name for the metrics file (e.g. "best_seed_accuracy")
    value: float | None = None  # the number the rule judged; None when not checked


def summarise(values):
    """n, mean, sample sd (None for one value), min and max of a list of numbers."""
    return {"n": len(values), "mean": statistics.fmean(values),
            "sd": statistics.stdev(values) if len(values) > 1 else None,
            "min": min(values), "max": max(values)}


def window_mean(metrics, key, after, up_to=None):
    """Mean of `key` over the logged iterations in (after, up_to]; None when none was logged there."""
    values = [m[key] for m in metrics if m["iteration"] > after and (up_to is None or m["iteration"] <= up_to)]
    return statistics.fmean(values) if values else None


def _sources(items):
    return ", ".join(sorted(set(items)))


def _seeds(runs):
    return f"{len(runs)} seed{'s' if len(runs) != 1 else ''} ({', '.join(str(r.seed) for r in runs)})"


def check_categorical_accuracy(experiment, evaluations, claim):
    """Two rows against the target: the share of seeds that reach it (the claim's verdict: a
    result that needs a lucky seed is not reproduced), and the best seed (the paper shows its best)."""
    target, share = claim["target"], claim["seeds_share"]
    scored = [e for e in evaluations if e.get("categorical_accuracy") is not None]
    data = _sources(e["data"]["source"] for e in evaluations)
    subject = f"{experiment}, {len(scored)} evaluated seed{'s' if len(scored) != 1 else ''}"
    if not scored:
        reason = "no evaluation has a categorical_accuracy (test labels missing?)"
        return [ClaimCheck(claim["paper"], experiment, reason, f"seeds >= {target:.0%}", NOT_CHECKED, data,
                           experiment, "seeds_reaching_target")]
    stats = summarise([e["categorical_accuracy"] for e in scored])
    best = max(scored, key=lambda e: (e["categorical_accuracy"], -int(e["seed"])))
    reached = sum(e["categorical_accuracy"] >= target for e in scored)
    needed = math.ceil(share * len(scored) - 1e-9)
    sd = "n/a (one seed)" if stats["sd"] is None else f"{100 * stats['sd']:.1f} points"
    seeds_text = (f"{reached} of {len(scored)} seeds >= {target:.0%}; mean {100 * stats['mean']:.1f}%, sd {sd}, "
                  f"min-max {100 * stats['min']:.1f}-{100 * stats['max']:.1f}%")
    best_text = f"best {100 * best['categorical_accuracy']:.1f}% (seed {best['seed']})"
    return [
        ClaimCheck(claim["paper"], subject, seeds_text,
                   f"at least {share:.0%} of the seeds (here {needed} of {len(scored)}) >= {target:.0%}",
                   MET if reached >= needed else NOT_MET, data, experiment, "seeds_reaching_target", reached),
        ClaimCheck(claim["paper"], subject, best_text, f"best seed >= {target:.0%}",
                   MET if best["categorical_accuracy"] >= target else NOT_MET, data, experiment,
                   "best_seed_accuracy", best["categorical_accuracy"]),
    ]


def check_infogan_mutual_information(experiment, runs, claim):
    """Mean over seeds of L_I near iteration `at_iteration`, within `tolerance` of H(c), the
    entropy of the experiment's own categorical codes."""
    at, window, tolerance = claim["at_iteration"], claim["window"], claim["tolerance"]
    latent = runs[0].config.latent
    entropy = latent.categorical_entropy
    rule = (f"|mean over seeds of L_I averaged over iterations {at - window + 1}-{at}  -  H(c)| <= {tolerance}; "
            f"H(c) = {' + '.join(f'ln {k}' for k in latent.categorical)} = {entropy:.3f}")
    subject, data = f"{experiment}, {_seeds(runs)}", _sources(r.source for r in runs)
    too_short = [r for r in runs if not r.metrics or r.metrics[-1]["iteration"] < at]
    if too_short:
        reached = ", ".join(f"seed {r.seed}: {r.metrics[-1]['iteration'] if r.metrics else 0}" for r in too_short)
        return ClaimCheck(claim["paper"], subject, f"runs end before iteration {at} ({reached})", rule,
                          NOT_CHECKED, data, experiment, "l_i_mean")
    per_seed = [window_mean(r.metrics, "mi_categorical", at - window, at) for r in runs]
    stats = summarise(per_seed)
    ours = (f"L_I = {stats['mean']:.3f} (min-max over seeds {stats['min']:.3f}-{stats['max']:.3f}); "
            f"gap to H(c): {entropy - stats['mean']:.3f}")
    return ClaimCheck(claim["paper"], subject, ours, rule,
                      MET if abs(stats["mean"] - entropy) <= tolerance else NOT_MET, data, experiment, "l_i_mean",
                      stats["mean"])


def check_gan_mutual_information(experiment, runs, claim):
    """Every seed's L_I, averaged over the iterations after `after_iteration`, below `below`."""
    after, below = claim["after_iteration"], claim["below"]
    rule = f"every seed's L_I averaged over the logged iterations after {after} < {below}"
    subject, data = f"{experiment}, {_seeds(runs)}", _sources(r.source for r in runs)
    per_seed = {r.seed: window_mean(r.metrics, "mi_categorical", after) for r in runs}
    missing = [seed for seed, value in per_seed.items() if value is None]
    if missing:
        return ClaimCheck(claim["paper"], subject, f"no iteration after {after} logged (seeds {missing})", rule,
                          NOT_CHECKED, data, experiment, "l_i_late_max")
    ours = "L_I after iteration {}: {}".format(after, ", ".join(f"seed {s}: {v:.3f}" for s, v in per_seed.items()))
    return ClaimCheck(claim["paper"], subject, ours, rule,
                      MET if max(per_seed.values()) < below else NOT_MET, data, experiment, "l_i_late_max",
                      max(per_seed.values()))


def check_claims(runs, evaluations, claims):
    """All rows: each claim on each experiment it names (`experiments` in paper_claims.yaml)
    that has runs here. Experiments no claim names get no row."""
    by_experiment = {}
    for run in runs:
        by_experiment.setdefault(run.experiment, []).append(run)
    for evaluation in evaluations:
        if evaluation["experiment"] not in by_experiment:
            raise InfoganError(f"{evaluation['path']}: evaluation of experiment {evaluation['experiment']!r}, "
                               "which has no run among the runs given; pass its run directories too")
    def checked(name):
        """(experiment, its runs by seed) for each experiment claim `name` names that has runs."""
        return [(e, sorted(by_experiment[e], key=lambda r: r.seed)) for e in claims[name]["experiments"]
                if e in by_experiment]

    rows = []
    for experiment, group in checked("categorical_accuracy"):
        mine = [e for e in evaluations if e["experiment"] == experiment]
        rows += check_categorical_accuracy(experiment, mine, claims["categorical_accuracy"])
    rows += [check_infogan_mutual_information(experiment, group, claims["infogan_mutual_information"])
             for experiment, group in checked("infogan_mutual_information")]
    rows += [check_gan_mutual_information(experiment, group, claims["gan_mutual_information"])
             for experiment, group in checked("gan_mutual_information")]
    return rows
