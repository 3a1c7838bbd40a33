from saltseg.pipeline import make_submission
from saltseg.runner import run_job

run_job(
    snakemake.log[0],
    make_submission,
    masks_path=snakemake.input.masks,
    data_dir=snakemake.input.data,
    csv_path=snakemake.output.csv,
    score_path=snakemake.output.score,
    truth_dir=snakemake.input.get("truth"),
)
