from saltseg.folds import make_folds
from saltseg.runner import run_job

run_job(
    snakemake.log[0],
    make_folds,
    tiles_parquet=snakemake.input.table,
    out_parquet=snakemake.output.folds,
    **snakemake.params.folds,
)
