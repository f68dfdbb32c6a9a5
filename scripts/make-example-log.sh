#!/bin/sh
# Regenerate the example access log of `tenantsim fit` (docs/GUIDE.md: "Calibrate
# from production") from its known scenario, scenarios/examples/access-log-truth.toml:
# a day of requests from 78 tenants in three tiers (free, pro, enterprise),
# diurnal load peaking at 15:00 UTC, hourly 2-minute bursts on the free tier,
# and three endpoints with lognormal, gamma and Weibull service times.
#
# Writes, in scenarios/examples/:
#   access-log.csv             timestamp,tenant,endpoint,status,latency_ms,bytes
#   access-log-tenants.csv     the tenant -> tier map
#   access-log-prometheus.json the same day as a Prometheus range-query export
#                              (5-minute steps; a fixed deployment of 2 replicas)
# The same seed gives the same files byte for byte.
set -eu
cd "$(dirname "$0")/.."
cargo run --quiet -- fit --synthesize scenarios/examples/access-log-truth.toml \
  --seed 7 --start 2026-05-04T00:00:00Z --out scenarios/examples/access-log.csv
