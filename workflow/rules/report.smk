# report: one self-contained HTML file from the figures, evaluations and runs, with the
# planning table (the whole paper's cost, from this pipeline's measured training speed).


rule plan:
    """The paper's runs (config/pipeline.yaml, whatever profile is in use) in CPU- and GPU-hours."""
    input:
        runs=final_checkpoints(),
        paper_config="config/pipeline.yaml",
    output:
        "results/planning/plan.json",
    log:
        "results/logs/report/plan.log",
    benchmark:
        "results/benchmarks/report/plan.tsv"
    params:
        gpu_tflops=config["planning"]["gpu_tflops"],
        gpu_overhead_ms=config["planning"]["gpu_overhead_ms"],
        code=CODE["report"],
    shell:
        "infogan plan --pipeline-config {input.paper_config} --runs {input.runs}"
        " --gpu-tflops {params.gpu_tflops} --gpu-overhead-ms {params.gpu_overhead_ms}"
        " --out {output} > {log} 2>&1"


REPORT_COMMAND = (
    "infogan report --figures {input.figures} --evaluations {input.evaluations} --runs {input.runs}"
    " --benchmarks {input.benchmarks} {params.plan} --out {output.html} --summary {output.summary} 2> {log}"
)


rule report:
    input:
        **report_inputs(plan=rules.plan.output),
    output:
        html="results/report/index.html",
        summary="results/summary.json",
    log:
        "results/logs/report/report.log",
    benchmark:
        "results/benchmarks/report/report.tsv"
    params:
        plan=lambda wildcards, input: f"--plan {input.plan}",
        code=CODE["report"],
    shell:
        REPORT_COMMAND


rule mnist_report:
    """The report of the paper's MNIST part alone: Figures 1-2, their runs and evaluations."""
    input:
        **report_inputs(mnist_experiments(), ["figure1", "figure2"]),
    output:
        html="results/report/mnist/index.html",
        summary="results/report/mnist/summary.json",
    log:
        "results/logs/report/mnist.log",
    benchmark:
        "results/benchmarks/report/mnist.tsv"
    params:
        plan="",
        code=CODE["report"],
    shell:
        REPORT_COMMAND


rule mnist:
    """Target: the paper's MNIST part alone (its runs, evaluations, Figures 1-2 and their report)."""
    input:
        [
            f"paper_figures/{name}.{ext}"
            for name in ("figure1", "figure2")
            for ext in ("png", "pdf", "json")
        ],
        rules.l_i_curves.output,
        rules.mnist_report.output,
    localrule: True
