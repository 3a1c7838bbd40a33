from saltseg.ensemble import average_folds_files
from saltseg.runner import run_job

run_job(
    snakemake.log[0],
    average_folds_files,
    oof_paths=snakemake.input.oof,
    test_paths=snakemake.input.test,
    folds_parquet=snakemake.input.folds,
    out_oof=snakemake.output.oof,
    out_test=snakemake.output.test,
)
