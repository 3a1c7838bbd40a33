from pathlib import Path

from saltseg.postprocess import postprocess_files
from saltseg.runner import run_job

truth = snakemake.input.get("truth")
run_job(
    snakemake.log[0],
    postprocess_files,
    test_probs=snakemake.input.probs,
    tiles_dir=snakemake.input.data,
    ensemble_table=snakemake.input.scores,
    mosaic_layout=snakemake.input.get("layout"),
    cfg=snakemake.params.postprocess,
    out_masks=snakemake.output.masks,
    out_stats=snakemake.output.stats,
    truth_csv=Path(truth) / "truth" / "test.csv" if truth else None,
    out_ablation=snakemake.output.ablation,
)
