# train: one job per experiment x seed. `infogan train` resumes by itself from
# run_dir/checkpoint.pt, so only final.pt is declared: Snakemake deletes the outputs of a
# failed job, and must never delete the resumable checkpoint or the metrics log it
# continues. A stopped or failed job, started again, goes on from its last checkpoint.


rule train:
    input:
        data=run_data,
    output:
        "results/runs/{experiment}/seed{seed}/final.pt",
    log:
        "results/logs/train/{experiment}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{experiment}/seed{seed}.tsv"
    threads: config["train"]["threads"]
    resources:
        gpu=training_gpus,
    params:
        run_dir=lambda wildcards: run_dir(wildcards.experiment, wildcards.seed),
        experiments=config["experiments_file"],
        iterations=lambda wildcards: experiment_settings(
            wildcards.experiment
        ).iterations,
        device=config["train"]["device"],
        checkpoint_every=config["train"]["checkpoint_every"],
        log_every=config["train"]["log_every"],
        settings=lambda wildcards: experiment_settings(
            wildcards.experiment
        ).fingerprint(),
        overrides=lambda wildcards: set_arguments(wildcards.experiment),
        code=CODE["train"],
    shell:
        "infogan train {wildcards.experiment} --config {params.experiments} --data {input.data}"
        " --out {params.run_dir} --seed {wildcards.seed} --iterations {params.iterations}"
        " --checkpoint-every {params.checkpoint_every} --log-every {params.log_every}"
        " --device {params.device} {params.overrides} 2> {log}"


rule runs:
    """Target: every configured run's final checkpoint."""
    input:
        final_checkpoints(),
    localrule: True
