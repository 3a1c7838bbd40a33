from saltseg.ensemble import blend_named_files
from saltseg.runner import run_job

run_job(
    snakemake.log[0],
    blend_named_files,
    weights=snakemake.params.weights,
    oof_paths=snakemake.input.oof,
    test_paths=snakemake.input.test,
    tiles_dir=snakemake.input.data,
    out_oof=snakemake.output.oof,
    out_test=snakemake.output.test,
    out_table=snakemake.output.scores,
)
