from saltseg.steps import run_rule
from saltseg.steps.bundle import predict_new_tiles

run_rule(snakemake, predict_new_tiles)
