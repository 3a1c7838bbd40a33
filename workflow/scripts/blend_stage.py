from saltseg.steps import run_rule
from saltseg.steps.blend import blend_stage

run_rule(snakemake, blend_stage)
