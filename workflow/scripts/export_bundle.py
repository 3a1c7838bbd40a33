from saltseg.steps import run_rule
from saltseg.steps.bundle import export_bundle

run_rule(snakemake, export_bundle)
