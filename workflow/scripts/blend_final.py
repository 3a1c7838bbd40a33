from saltseg.steps import run_rule
from saltseg.steps.blend import blend_final

run_rule(snakemake, blend_final)
