from saltseg.steps import run_rule
from saltseg.steps.postprocess import plot_mosaics

run_rule(snakemake, plot_mosaics)
