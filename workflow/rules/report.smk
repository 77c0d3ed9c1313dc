# report: one self-contained HTML file from the figures, evaluations and runs, with the
# planning table (the whole paper's cost, from this pipeline's measured training speed).


rule plan:
    """The paper's runs (config/pipeline.yaml, whatever profile is in use) in CPU- and GPU-hours."""
    input:
        runs=final_checkpoints(),
        paper_config="config/pipeline.yaml",
    output:
        "results/planning/plan.json",
    params:
        gpu_tflops=config["planning"]["gpu_tflops"],
        gpu_overhead_ms=config["planning"]["gpu_overhead_ms"],
        code=CODE["report"],
    log:
        "results/logs/report/plan.log",
    benchmark:
        "results/benchmarks/report/plan.tsv"
    shell:
        "infogan plan --pipeline-config {input.paper_config} --runs {input.runs}"
        " --gpu-tflops {params.gpu_tflops} --gpu-overhead-ms {params.gpu_overhead_ms}"
        " --out {output} > {log} 2>&1"


rule report:
    input:
        figures=[f"paper_figures/{name}.json" for name in figure_names()],
        images=[f"paper_figures/{name}.png" for name in figure_names()],
        evaluations=evaluations(),
        runs=final_checkpoints(),
        benchmarks=benchmark_files(),
        plan=rules.plan.output,
    output:
        "results/report/index.html",
    params:
        code=CODE["report"],
    log:
        "results/logs/report/report.log",
    benchmark:
        "results/benchmarks/report/report.tsv"
    shell:
        "infogan report --figures {input.figures} --evaluations {input.evaluations}"
        " --runs {input.runs} --benchmarks {input.benchmarks} --plan {input.plan} --out {output} 2> {log}"
