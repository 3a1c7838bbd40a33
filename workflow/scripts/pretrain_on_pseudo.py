from saltseg.steps import run_rule
from saltseg.steps.train import pretrain_on_pseudo

run_rule(snakemake, pretrain_on_pseudo)
