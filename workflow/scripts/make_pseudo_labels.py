from saltseg.pseudo import make_pseudo_labels
from saltseg.runner import run_job

pseudo = snakemake.params.pseudo
run_job(
    snakemake.log[0],
    make_pseudo_labels,
    test_probs_path=snakemake.input.probs,
    tiles_dir=snakemake.input.table,
    out_labels=snakemake.output.labels,
    out_counts=snakemake.output.counts,
    low=pseudo.get("low", 0.2),
    high=pseudo.get("high", 0.8),
    min_confidence=pseudo.get("min_confidence", 0.9),
    include_all=pseudo.get("all", False),
    max_images=pseudo.get("max_images"),
)
