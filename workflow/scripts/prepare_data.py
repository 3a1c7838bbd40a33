from pathlib import Path

from saltseg.pipeline import prepare_data
from saltseg.runner import run_job

run_job(
    snakemake.log[0],
    prepare_data,
    source=snakemake.params.source,
    out_dir=Path(snakemake.output.table).parent,
    hint=snakemake.params.hint,
)
