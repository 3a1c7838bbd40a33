from saltseg.steps import run_rule
from saltseg.steps.data import prepare_data

run_rule(snakemake, prepare_data)
