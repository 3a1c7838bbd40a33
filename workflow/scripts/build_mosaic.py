from saltseg.pipeline import build_mosaic
from saltseg.runner import run_job

run_job(
    snakemake.log[0],
    build_mosaic,
    data_dir=snakemake.input.table,
    layout_path=snakemake.output.layout,
    summary_path=snakemake.output.summary,
    options=snakemake.params.mosaic,
)
