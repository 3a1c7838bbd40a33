from saltseg.steps import run_rule
from saltseg.steps.blend import average_folds

run_rule(snakemake, average_folds)
