from saltseg.steps import run_rule
from saltseg.steps.data import synth

run_rule(snakemake, synth)
