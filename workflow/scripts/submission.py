from saltseg.steps import run_rule
from saltseg.steps.postprocess import submission

run_rule(snakemake, submission)
