"""saltseg: the 1st-place TGS Salt recipe as a Snakemake workflow."""

import os

# How long torch's OpenMP threads (libgomp) spin before they sleep; read when torch is imported.
# Long spinning slowed torch down when another process shared the cores (an earlier measurement:
# 1.7 against 34 images/s next to one busy process), but never spinning
# (OMP_WAIT_POLICY=PASSIVE, saltseg's earlier default) cost the CPU recipe's network a third of
# its speed on quiet cores: 2 threads, batch 16, 64 px, 48.5 against 68.7 images/s in float32
# and 52.8 against 83.9 in bf16. A short spin keeps the quiet speed (66.3 and 84.1) and stays
# near passive waiting next to a busy process (20.4 against 26.4 float32, 14.7 against 15.2
# bf16). Unset when the user chose a policy.
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "10000")

__version__ = "0.1.0"
