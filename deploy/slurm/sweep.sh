#!/bin/bash
# A tenantsim sweep as a SLURM job array: array task I runs shard I of
# $SHARDS of the points on the cores SLURM gives it, writing to
# $OUT/shard-I; a dependent job merges the shards into $OUT/merged.
#
# Submit (4 shards, merge when all succeed):
#   export SCENARIO=scenarios/examples/pool-exhaustion.toml
#   export PARAMS="--param pool.size=2..16:1 --param instance.initial=1..4:1 --replications 10"
#   export OUT=$PWD/results/pool-sweep
#   export SHARDS=4
#   jid=$(sbatch --parsable --array=0-$((SHARDS - 1)) deploy/slurm/sweep.sh)
#   sbatch --dependency=afterok:$jid --wrap "tenantsim merge $OUT/shard-* --out $OUT/merged"
#
# A task that fails or is pre-empted is re-run alone, with the same
# variables exported: `sbatch --array=2 deploy/slurm/sweep.sh`. --resume
# keeps its finished points and runs the rest.
#
# The shard count is $SHARDS, never the array's size: a retry of one task
# is an array of one (SLURM_ARRAY_TASK_COUNT=1, SLURM_ARRAY_TASK_MIN=2),
# and counting shards from it would make task 2 "shard 0 of 1", which the
# stored 2-of-4 manifest refuses to resume. The shard index is the task id
# itself, so array ids run from 0 to SHARDS-1.
#SBATCH --job-name=tenantsim-sweep
#SBATCH --cpus-per-task=8
#SBATCH --mem=4G
#SBATCH --time=04:00:00
#SBATCH --output=tenantsim-sweep-%A_%a.out
set -euo pipefail

: "${SCENARIO:?set SCENARIO to the scenario file}"
: "${PARAMS:?set PARAMS to the --param arguments}"
: "${OUT:?set OUT to a folder on a shared file system}"
: "${SHARDS:?set SHARDS to the number of shards, the same for every submission (array ids 0 to SHARDS-1)}"
: "${SLURM_ARRAY_TASK_ID:?run this as an array job: sbatch --array=0-$((SHARDS - 1)) deploy/slurm/sweep.sh}"
if ! [[ $SHARDS =~ ^[1-9][0-9]*$ ]]; then
    echo "error: SHARDS=$SHARDS: expected the number of shards, e.g. 4" >&2
    exit 2
fi
TENANTSIM=${TENANTSIM:-tenantsim}
shard=$SLURM_ARRAY_TASK_ID
if ! [[ $shard =~ ^[0-9]+$ ]] || ((shard >= SHARDS)); then
    echo "error: array task $shard is not a shard of SHARDS=$SHARDS; submit --array=0-$((SHARDS - 1)) (or one of those ids to re-run it)" >&2
    exit 2
fi

# shellcheck disable=SC2086 # PARAMS is a list of arguments on purpose
exec "$TENANTSIM" sweep "$SCENARIO" $PARAMS \
    --shard "$shard/$SHARDS" \
    --jobs "${SLURM_CPUS_PER_TASK:-1}" \
    --out "$OUT/shard-$shard" \
    --resume --quiet
