#!/bin/bash
# A tenantsim sweep as a SLURM job array: each array task runs one shard of
# the points on the cores SLURM gives it, writing to $OUT/shard-<task id>;
# a dependent job merges the shards into $OUT/merged.
#
# Submit (4 shards, merge when all succeed):
#   export SCENARIO=scenarios/examples/pool-exhaustion.toml
#   export PARAMS="--param pool.size=2..16:1 --param instance.initial=1..4:1 --replications 10"
#   export OUT=$PWD/results/pool-sweep
#   jid=$(sbatch --parsable --array=0-3 deploy/slurm/sweep.sh)
#   sbatch --dependency=afterok:$jid --wrap "tenantsim merge $OUT/shard-* --out $OUT/merged"
#
# A task that fails or is pre-empted can simply be resubmitted
# (`sbatch --array=2 deploy/slurm/sweep.sh`): --resume keeps its finished points.
# The shard index is SLURM_ARRAY_TASK_ID minus SLURM_ARRAY_TASK_MIN, so
# --array=1-4 works as well as 0-3; the shard count is the array's size.
#SBATCH --job-name=tenantsim-sweep
#SBATCH --cpus-per-task=8
#SBATCH --mem=4G
#SBATCH --time=04:00:00
#SBATCH --output=tenantsim-sweep-%A_%a.out
set -euo pipefail

: "${SCENARIO:?set SCENARIO to the scenario file}"
: "${PARAMS:?set PARAMS to the --param arguments}"
: "${OUT:?set OUT to a folder on a shared file system}"
: "${SLURM_ARRAY_TASK_ID:?run this as an array job: sbatch --array=0-3 deploy/slurm/sweep.sh}"
TENANTSIM=${TENANTSIM:-tenantsim}
SHARDS=${SLURM_ARRAY_TASK_COUNT:?SLURM_ARRAY_TASK_COUNT is not set}

# shellcheck disable=SC2086 # PARAMS is a list of arguments on purpose
exec "$TENANTSIM" sweep "$SCENARIO" $PARAMS \
    --shards "$SHARDS" \
    --jobs "${SLURM_CPUS_PER_TASK:-1}" \
    --out "$OUT/shard-$SLURM_ARRAY_TASK_ID" \
    --resume --quiet
