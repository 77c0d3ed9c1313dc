"""Figure 1's data for `dvc plots`: L_I of the categorical code over iterations, mean,
min and max across seeds, for the InfoGAN and GAN runs, as one JSON table.

DVC plots read JSON, YAML, CSV or TSV, not the runs' metrics.jsonl (JSON Lines). The
numbers are the ones Figure 1 draws (infogan.figures.curves.metric_band), over all iterations.
Run by Snakemake (rule l_i_curves), which passes the `snakemake` object.
"""

import logging
import sys

from infogan.atomic import write_json
from infogan.figures import metric_band
from infogan.rundir import load_run

log = logging.getLogger("l_i_curves")


def curves(groups):
    """{group: [run paths]} -> rows {iteration, <group>_mean, <group>_min, <group>_max}."""
    rows = {}
    for group, paths in groups.items():
        iterations, mean, low, high = metric_band([load_run(p) for p in paths], "mi_categorical")
        for i, m, lo, hi in zip(iterations.tolist(), mean.tolist(), low.tolist(), high.tolist()):
            rows.setdefault(i, {"iteration": i}).update({f"{group}_mean": m, f"{group}_min": lo, f"{group}_max": hi})
    return [rows[i] for i in sorted(rows)]


def main(snakemake):
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="l_i_curves: %(message)s")
    table = curves({"infogan": list(snakemake.input.infogan), "gan": list(snakemake.input.gan)})
    write_json(snakemake.output[0], table)
    log.info("wrote %s (%d rows)", snakemake.output[0], len(table))


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821 (injected by Snakemake)
elif __name__ == "__main__":
    sys.exit("run by Snakemake (rule l_i_curves); see workflow/rules/figures.smk")
