from saltseg.steps import run_rule
from saltseg.steps.postprocess import postprocess_oof

run_rule(snakemake, postprocess_oof)
