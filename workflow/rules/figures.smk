# figures: PNG, PDF and a JSON sidecar (inputs, data source, choices) per figure in paper_figures/;
# Figures 2-6 also the frames of the report's latent explorer (figureN.explorer.json).
# The hash of src/infogan/figures/*.py is a param (workflow/rules/common.smk): changing the
# figure code re-runs these rules and the report, nothing else. Every figure reads config
# `figures_file` (what it shows), an input: editing it re-runs the figures.


rule figure1:
    input:
        infogan=final_checkpoints(config["figures"]["figure1"]["infogan"]),
        gan=final_checkpoints(config["figures"]["figure1"]["gan"]),
        figures_file=config["figures_file"],
    output:
        multiext("paper_figures/figure1", ".png", ".pdf", ".json"),
    log:
        "results/logs/figures/figure1.log",
    benchmark:
        "results/benchmarks/figures/figure1.tsv"
    params:
        out_dir=lambda wildcards, output: Path(output[0]).parent,
        code=CODE["figures"],
    shell:
        "infogan figure 1 --infogan-runs {input.infogan} --gan-runs {input.gan}"
        " --figures-file {input.figures_file} --out-dir {params.out_dir} 2> {log}"


rule figure2:
    input:
        infogan=final_checkpoints(config["figures"]["figure2"]["infogan"]),
        infogan_evaluations=evaluations(config["figures"]["figure2"]["infogan"]),
        gan=final_checkpoints(config["figures"]["figure2"]["gan"]),
        gan_evaluations=evaluations(config["figures"]["figure2"]["gan"]),
        probe=figure_probe(2),
        figures_file=config["figures_file"],
    output:
        multiext("paper_figures/figure2", ".png", ".pdf", ".json", ".explorer.json"),
    log:
        "results/logs/figures/figure2.log",
    benchmark:
        "results/benchmarks/figures/figure2.tsv"
    params:
        out_dir=lambda wildcards, output: Path(output[0]).parent,
        probe_rows=probe_rows_argument(),
        code=CODE["figures"],
    shell:
        "infogan figure 2 --infogan-runs {input.infogan} --infogan-evaluations {input.infogan_evaluations}"
        " --gan-runs {input.gan} --gan-evaluations {input.gan_evaluations} --probe {input.probe}"
        " {params.probe_rows} --figures-file {input.figures_file} --out-dir {params.out_dir} 2> {log}"


rule code_figure:
    """Figures 3-6: the panels of config `figures_file`, each run and code chosen by its stated criterion."""
    input:
        runs=lambda wildcards: final_checkpoints(
            *code_figure_experiments(wildcards.number)
        ),
        evaluations=lambda wildcards: evaluations(
            *code_figure_experiments(wildcards.number)
        ),
        figures_file=config["figures_file"],
        probe=lambda wildcards: figure_probe(wildcards.number),
    output:
        multiext(
            "paper_figures/figure{number}", ".png", ".pdf", ".json", ".explorer.json"
        ),
    log:
        "results/logs/figures/figure{number}.log",
    benchmark:
        "results/benchmarks/figures/figure{number}.tsv"
    wildcard_constraints:
        number="[3-6]",
    params:
        out_dir=lambda wildcards, output: Path(output[0]).parent,
        probe_rows=probe_rows_argument(),
        code=CODE["figures"],
    shell:
        "infogan figure {wildcards.number} --runs {input.runs} --evaluations {input.evaluations}"
        " --figures-file {input.figures_file} --probe {input.probe} {params.probe_rows}"
        " --out-dir {params.out_dir} 2> {log}"


rule l_i_curves:
    """Figure 1's data as a JSON table (DVC plots read JSON, not the runs' JSON Lines logs)."""
    input:
        infogan=final_checkpoints(config["figures"]["figure1"]["infogan"]),
        gan=final_checkpoints(config["figures"]["figure1"]["gan"]),
    output:
        "results/plots/l_i_curves.json",
    log:
        "results/logs/figures/l_i_curves.log",
    benchmark:
        "results/benchmarks/figures/l_i_curves.tsv"
    params:
        code=CODE["figures"],
    script:
        "../scripts/l_i_curves.py"


rule figures:
    """Target: Figures 1-6 and the L_I curves table."""
    input:
        [
            f"paper_figures/{name}.{ext}"
            for name in figure_names()
            for ext in ("png", "pdf", "json")
        ],
        rules.l_i_curves.output,
    localrule: True
