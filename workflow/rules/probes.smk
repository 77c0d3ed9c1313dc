# probes: one factor probe per dataset file (src/infogan/probes.py), trained on its labelled
# images and measured on held-out ones. The figures apply it to the generated sweeps they
# show, and the report's verdicts on Figures 2-6 come from it.


def probe_file(slot):
    """The probe of the dataset file that fills data slot `slot` (config `data`)."""
    return f"results/probes/{config['data'][slot]}.pt"


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
