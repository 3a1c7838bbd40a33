from saltseg.runner import run_job
from saltseg.synth import generate

run_job(snakemake.log[0], generate, out_dir=snakemake.output.data, **snakemake.params.synthetic)
