from saltseg.steps import run_rule
from saltseg.steps.report import plot_predictions

run_rule(snakemake, plot_predictions)
