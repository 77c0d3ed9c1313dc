# report: one self-contained HTML file from the figures, evaluations and runs.


rule report:
    input:
        figures=[f"paper_figures/{name}.json" for name in figure_names()],
        images=[f"paper_figures/{name}.png" for name in figure_names()],
        evaluations=evaluations(),
        runs=final_checkpoints(),
        benchmarks=benchmark_files(),
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
        " --runs {input.runs} --benchmarks {input.benchmarks} --out {output} 2> {log}"
