"""saltseg: the 1st-place TGS Salt recipe as a Snakemake workflow."""

import os

# OpenMP threads that spin while waiting make torch on the CPU up to 25x slower as soon as another
# process shares the cores (measured: 1.7 vs 34 images/s with 2 threads next to one busy process).
# Passive waiting costs nothing when the cores are free. It must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
