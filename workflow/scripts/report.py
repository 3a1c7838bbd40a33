from saltseg.steps import run_rule
from saltseg.steps.report import report

run_rule(snakemake, report)
