# probes: one factor probe per dataset file (src/infogan/probes.py), trained on its labelled
# images and measured on held-out ones. The figures apply it to the generated sweeps they
# show, and the report's verdicts on Figures 2-6 come from it.


rule probe:
    input:
        "data/processed/{dataset}.h5",
    output:
        probe="results/probes/{dataset}.pt",
        record="results/probes/{dataset}.json",
    log:
        "results/logs/probes/{dataset}.log",
    benchmark:
        "results/benchmarks/probes/{dataset}.tsv"
    threads: config["probes"]["threads"]
    params:
        steps=config["probes"]["steps"],
        device=config["probes"]["device"],
        code=CODE["probes"],
    shell:
        "infogan probe {input} --out {output.probe} --steps {params.steps} --device {params.device} 2> {log}"


rule probes:
    """Target: the probe of every dataset a figure of Figures 2-6 shows."""
    input:
        sorted({figure_probe(number) for number in (2, *code_figures())}),
    localrule: True
