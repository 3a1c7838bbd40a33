from saltseg.steps import run_rule
from saltseg.steps.train import make_pseudo_labels

run_rule(snakemake, make_pseudo_labels)
