from saltseg.steps import run_rule
from saltseg.steps.data import build_mosaic

run_rule(snakemake, build_mosaic)
