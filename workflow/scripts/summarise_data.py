from saltseg.steps import run_rule
from saltseg.steps.data import summarise_data

run_rule(snakemake, summarise_data)
