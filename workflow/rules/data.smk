# download -> prepare: `infogan prepare` fetches the raw files into data/raw/<dataset>/ (or
# checks those placed there by hand) and writes the HDF5 file. The raw files are not
# declared outputs: Snakemake would delete hand-placed ones before running the job.
# Offline, `infogan prepare mnist` fails naming the file to place; it never falls back
# to synthetic data (only a config that names synthetic_digits makes those).


rule prepare:
    output:
        "data/processed/{dataset}.h5",
    log:
        "results/logs/prepare/{dataset}.log",
    benchmark:
        "results/benchmarks/prepare/{dataset}.tsv"
    params:
        raw_dir="data/raw/{dataset}",
        sizes=lambda wildcards: synthetic_size_arguments(wildcards.dataset),
        code=CODE["prepare"],
    shell:
        "infogan prepare {wildcards.dataset} --out {output} --raw-dir {params.raw_dir} {params.sizes} 2> {log}"


rule datasets:
    """Target: every dataset the configured runs train on."""
    input:
        sorted({dataset_file(run["data"]) for run in config["runs"].values()}),
    localrule: True
