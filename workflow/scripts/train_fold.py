from saltseg.steps import run_rule
from saltseg.steps.train import train_fold

run_rule(snakemake, train_fold)
