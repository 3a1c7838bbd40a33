from saltseg.runner import run_job
from saltseg.stages import pretrain_on_pseudo

run_job(
    snakemake.log[0],
    pretrain_on_pseudo,
    data_dir=snakemake.input.data,
    pseudo_path=snakemake.input.pseudo,
    spec=snakemake.params.spec,
    model_path=snakemake.output.model,
    history_path=snakemake.output.history,
    curves_path=snakemake.output.curves,
    device=snakemake.params.device,
    precision=snakemake.params.precision,
    threads=snakemake.threads,
)
