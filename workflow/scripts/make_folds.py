from saltseg.steps import run_rule
from saltseg.steps.data import make_folds

run_rule(snakemake, make_folds)
