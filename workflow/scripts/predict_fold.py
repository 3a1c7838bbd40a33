from saltseg.runner import run_job
from saltseg.stages import predict_fold

run_job(
    snakemake.log[0],
    predict_fold,
    model_path=snakemake.input.model,
    data_dir=snakemake.input.data,
    folds_path=snakemake.input.folds,
    fold=int(snakemake.wildcards.fold),
    oof_path=snakemake.output.oof,
    test_path=snakemake.output.test,
    predict=snakemake.params.predict,
    device=snakemake.params.device,
    precision=snakemake.params.precision,
    threads=snakemake.threads,
)
