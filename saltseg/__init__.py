"""saltseg: the 1st-place TGS Salt recipe as a Snakemake workflow."""

__version__ = "0.1.0"
