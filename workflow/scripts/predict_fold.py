from saltseg.steps import run_rule
from saltseg.steps.train import predict_fold

run_rule(snakemake, predict_fold)
