from saltseg.report import build_report
from saltseg.runner import run_job

run_job(
    snakemake.log[0],
    build_report,
    stage_scores=snakemake.input.stage_scores,
    final_scores=snakemake.input.final_scores,
    pseudo_counts=snakemake.input.pseudo_counts,
    postprocess_stats=snakemake.input.postprocess,
    ablation=snakemake.input.ablation,
    test_score=snakemake.input.score,
    out_md=snakemake.output.markdown,
    out_png=snakemake.output.figure,
    mosaic_summary=snakemake.input.get("mosaic"),
    mosaic_png=snakemake.input.get("mosaic_png"),
)
