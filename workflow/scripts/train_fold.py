from saltseg.runner import run_job
from saltseg.stages import train_fold

run_job(
    snakemake.log[0],
    train_fold,
    data_dir=snakemake.input.data,
    folds_path=snakemake.input.folds,
    fold=int(snakemake.wildcards.fold),
    spec=snakemake.params.spec,
    model_path=snakemake.output.model,
    history_path=snakemake.output.history,
    curves_path=snakemake.output.curves,
    mode=snakemake.params.mode,
    pseudo_path=snakemake.input.get("pseudo"),
    init_path=snakemake.input.get("init"),
    append=snakemake.params.append_pseudo,
    device=snakemake.params.device,
    precision=snakemake.params.precision,
    threads=snakemake.threads,
)
