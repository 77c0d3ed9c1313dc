"""InfoGAN, reproduced: the one description of the pipeline.

prepare (download, HDF5) -> train (experiment x seed) -> evaluate -> figures 1-6 -> report,
every rule one call of the `infogan` command. Configuration: config/pipeline.yaml (the
paper), checked against workflow/schemas/config.schema.yaml; rules in workflow/rules/.
Profiles in workflow/profiles/: paper (what `dvc repro` runs by default), demo (synthetic
digits on the CPU), test (tiny, for the tests).

    snakemake --cores all --resources gpu=1                 # the paper (real MNIST)
    snakemake --cores all --profile workflow/profiles/demo  # offline demo

See docs/pipeline.md.
"""

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/pipeline.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"


check_config()


wildcard_constraints:
    experiment=r"[A-Za-z0-9_]+",
    seed=r"\d+",
    dataset=r"[A-Za-z0-9_]+",


include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/probes.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/report.smk"


rule all:
    """The paper's Figures 1-6, Figure 1's data for DVC plots, and the HTML report."""
    default_target: True
    input:
        rules.report.output,
        rules.figures.input,
    localrule: True


onerror:
    offline_hint()
