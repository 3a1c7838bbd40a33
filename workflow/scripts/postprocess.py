from saltseg.steps import run_rule
from saltseg.steps.postprocess import postprocess

run_rule(snakemake, postprocess)
