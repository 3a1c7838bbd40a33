#!/usr/bin/env bash
# The README's real-data figures of config/cpu.yaml, on the CPU:
#   1. a held-out split of the labelled tiles (saltseg split --keep-unlabelled: a quarter become
#      test tiles whose masks go into answers.csv, stratified by salt coverage, seed 0; the
#      19,000 unlabelled test tiles stay test tiles, so that pseudo labels and mosaics see all
#      of them and the score covers the held-out ones);
#   2. the whole DAG on it (snakemake with data.answers: submission and report), timed;
#   3. benchmarks/run_summary.py: OOF metric per stage and model (empty and non-empty tiles),
#      each stage's held-out score (--answers), pseudo-label counts, the held-out test score
#      after post-processing, wall time per rule.
# RUNS="heldout full" then runs the whole DAG on DATA_DIR itself (all labelled tiles, all test
# tiles: the OOF metric over every labelled tile and a submission for Kaggle), summarised the
# same way; RUNS=full runs that alone.
#   bash benchmarks/real_cpu.sh ../shared/data/tgs-public [WORK_DIR]
# CONFIG=FILE replaces config/cpu.yaml; EXTRA adds --config items, e.g. on a CPU without AMX
#   EXTRA="folds={'n_folds': 2, 'method': 'depth', 'seed': 0}"
# Runs take hours on 2 cores; each run's Snakemake output is in WORK_DIR/<run>/snakemake.log,
# and an interrupted run resumes where it stopped when started again.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: bash benchmarks/real_cpu.sh DATA_DIR [WORK_DIR]"; exit 2; }
[ -d "$1" ] || { echo "real_cpu: $1: no such folder"; exit 1; }
DATA=$(realpath "$1")
WORK=$(realpath -m "${2:-real_cpu_runs}")
BIN=${BIN:-$PWD/.venv/bin}
CORES=${CORES:-2}
CONFIG=${CONFIG:-$PWD/config/cpu.yaml}
mkdir -p "$WORK"

run() {  # run NAME DATA_CONFIG [SUMMARY_ARGS...]: the whole DAG in WORK/NAME, then its summary
  local dir=$WORK/$1 data=$2 start end
  shift 2
  mkdir -p "$dir"
  echo "real_cpu: $(basename "$dir"): snakemake --configfile $CONFIG --config \"data=$data\" ${EXTRA:+\"$EXTRA\"}"
  start=$(date +%s)
  PYTHONPATH="$PWD" "$BIN/snakemake" -s "$PWD/Snakefile" -d "$dir" --cores "$CORES" --resources gpu=1 \
    --configfile "$CONFIG" --config "data=$data" ${EXTRA:+"$EXTRA"} > "$dir/snakemake.log" 2>&1 \
    || { echo "real_cpu: $dir failed; see $dir/snakemake.log"; tail -5 "$dir/snakemake.log"; exit 1; }
  end=$(date +%s)
  echo "## $(basename "$dir")"
  PYTHONPATH="$PWD" "$BIN/python" benchmarks/run_summary.py "$dir" "$@" \
    --minutes "$("$BIN/python" -c "print(($end - $start) / 60)")"
}

RUNS=${RUNS:-heldout}
for name in $RUNS; do
  case $name in
    heldout)
      SPLIT=$WORK/split-unlabelled
      [ -f "$SPLIT/answers.csv" ] || PYTHONPATH="$PWD" "$BIN/python" -m saltseg.cli split "$DATA" \
        "$SPLIT" --test-fraction 0.25 --seed 0 --keep-unlabelled
      run heldout "{'source': '$SPLIT', 'answers': '$SPLIT/answers.csv'}" \
        --answers "$SPLIT/answers.csv" ;;
    full) run full "{'source': '$DATA'}" ;;
    *) echo "real_cpu: RUNS: unknown run '$name' (heldout, full)"; exit 2 ;;
  esac
done
