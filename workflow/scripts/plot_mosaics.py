from saltseg.pipeline import plot_mosaics
from saltseg.runner import run_job

run_job(
    snakemake.log[0],
    plot_mosaics,
    data_dir=snakemake.input.data,
    layout_path=snakemake.input.layout,
    masks_path=snakemake.input.masks,
    out_png=snakemake.output.png,
)
