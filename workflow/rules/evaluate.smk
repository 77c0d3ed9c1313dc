# evaluate: categorical accuracy (Hungarian-matched), L_I, what each continuous code does;
# one JSON per run, read by the figures and the report.


rule evaluate:
    input:
        checkpoint="results/runs/{experiment}/seed{seed}/final.pt",
        data=run_data,
    output:
        "results/metrics/{experiment}/seed{seed}.json",
    log:
        "results/logs/evaluate/{experiment}/seed{seed}.log",
    benchmark:
        "results/benchmarks/evaluate/{experiment}/seed{seed}.tsv"
    threads: config["evaluate"]["threads"]
    params:
        run_dir=lambda wildcards: run_dir(wildcards.experiment, wildcards.seed),
        samples=config["evaluate"]["samples"],
        draws=lambda wildcards: draws_argument(wildcards.experiment),
        device=config["evaluate"]["device"],
        code=CODE["evaluate"],
    shell:
        "infogan evaluate {params.run_dir} --data {input.data} --out {output}"
        " --samples {params.samples} {params.draws} --device {params.device} 2> {log}"


rule evaluations:
    """Target: every configured run's evaluation."""
    input:
        evaluations(),
    localrule: True
