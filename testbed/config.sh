# The testbed's fixed configuration (sourced by run.sh and grid.sh): one
# source for the service, the load client, the scenario overrides of a
# prediction and a re-prediction (grid.sh --predict-only).
WARMUP=${WARMUP:-5}
CPU_DIST=${CPU_DIST:-exp:1ms}
PG_SLEEP=${PG_SLEEP:-2ms}
POOL_TIMEOUT_S=${POOL_TIMEOUT_S:-1}
ROWS=${ROWS:-100000}
KEYS=${KEYS:-100000}
ZIPF=${ZIPF:-0.9}
L1=${L1:-2000}
L2_TTL=${L2_TTL:-300s}   # refsvc --l2-ttl: how long Redis keeps a key
MIX=${MIX:-read=0.8,write=0.1,cpu=0.1}
CAL_RATE=${CAL_RATE:-60}
CAL_DURATION=${CAL_DURATION:-40}
CAL_POOL=4
PRO_CONC=32 FREE_CONC=8
PRED_REPS=${PRED_REPS:-5}

# What the scenario's [host] takes from this configuration: refsvc's worker
# threads, and the round trips a connection is held over (pg_sleep first,
# then the query).
tb_threads() { echo "${TB_WORKERS:-1}"; }
tb_round_trips() { case "$PG_SLEEP" in 0|0s|0ms|0us) echo 1 ;; *) echo 2 ;; esac; }
