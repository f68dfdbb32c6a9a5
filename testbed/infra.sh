# Sourced by run.sh and smoke.sh: install, start and stop the testbed's
# servers. Everything binds 127.0.0.1, lives in $TB_WORK (a temporary
# directory) and is stopped by tb_cleanup (set as the EXIT trap by the
# caller). Cores: the service, PostgreSQL and Redis on $TB_SVC_CORE; the
# load client and Prometheus on $TB_LOAD_CORE.

TB_SVC_CORE=${TB_SVC_CORE:-0}
TB_LOAD_CORE=${TB_LOAD_CORE:-1}
# Priorities: the machine may be shared (other users' builds). Pinning keeps
# our processes apart from each other but not from theirs: at nice 0 the
# service's one thread gets a fair share among every runnable thread of its
# core, and their builds shape its latency. So the service, PostgreSQL and
# Redis run at nice $TB_SVC_NICE and the load client at $TB_LOAD_NICE
# (as root; otherwise nice 0 and a warning). Prometheus stays at 0.
TB_SVC_NICE=${TB_SVC_NICE:--15}
TB_LOAD_NICE=${TB_LOAD_NICE:--10}
if [ "$(id -u)" != 0 ]; then TB_SVC_NICE=0 TB_LOAD_NICE=0; echo "testbed: not root: nice 0, other processes on the cores will show in the latencies" >&2; fi
TB_PIDS=()

tb_log() { echo "testbed: $*" >&2; }

tb_install() {
  local missing=()
  [ -x /usr/lib/postgresql/15/bin/initdb ] || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v prometheus >/dev/null || missing+=(prometheus)
  command -v taskset >/dev/null || missing+=(util-linux)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      tb_log "installing ${missing[*]} (apt-get)"
      apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
    else
      tb_log "missing ${missing[*]} and cannot install them (not root, or no apt-get)"; return 1
    fi
  fi
  TB_PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
}

# Locust (PyPI, pinned) in a venv beside the build, installed on first use;
# prints the path of its `locust` command.
TB_LOCUST_VERSION=2.47.0
tb_locust() {
  local venv=${TB_VENV:-$ROOT/target/testbed-venv}
  if [ ! -x "$venv/bin/locust" ] || ! "$venv/bin/locust" --version 2>/dev/null | grep -q "$TB_LOCUST_VERSION"; then
    tb_log "installing locust $TB_LOCUST_VERSION into $venv"
    { python3 -m venv "$venv" || { command -v apt-get >/dev/null && apt-get install -y -qq python3-venv >/dev/null && python3 -m venv "$venv"; }; } >&2 \
      && "$venv/bin/pip" install -q "locust==$TB_LOCUST_VERSION" >&2 \
      || { tb_log "could not install locust (no PyPI?)"; return 1; }
  fi
  echo "$venv/bin/locust"
}

# "0.2s", "200ms", "150us" or a bare number of seconds, in seconds.
tb_seconds() {
  python3 -c 'import sys,re; m=re.fullmatch(r"([0-9.eE+-]+)\s*(ms|us|s)?", sys.argv[1].strip()); print(float(m[1]) * {"ms": 1e-3, "us": 1e-6}.get(m[2], 1.0))' "$1"
}

# A free loopback TCP port.
tb_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

tb_wait_port() { # port what seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  tb_log "$2 did not listen on 127.0.0.1:$1 within $3 s"; return 1
}

tb_start_infra() {
  TB_WORK=$(mktemp -d /tmp/tenantsim-testbed.XXXXXX)
  chmod 755 "$TB_WORK"
  TB_PGPORT=$(tb_port); TB_REDISPORT=$(tb_port); TB_PROMPORT=$(tb_port)
  # PostgreSQL refuses root: initdb and the server run as `postgres`.
  mkdir -p "$TB_WORK/pg"; chown postgres "$TB_WORK/pg"
  runuser -u postgres -- "$TB_PGBIN/initdb" -D "$TB_WORK/pg/data" -U postgres --auth=trust >"$TB_WORK/initdb.log" 2>&1 \
    || { cat "$TB_WORK/initdb.log" >&2; return 1; }
  # synchronous_commit off: a write's commit does not wait for the disk
  # (the testbed measures CPU, pool and queueing, not this machine's fsync).
  taskset -c "$TB_SVC_CORE" nice -n "$TB_SVC_NICE" runuser -u postgres -- "$TB_PGBIN/pg_ctl" -D "$TB_WORK/pg/data" -l "$TB_WORK/pg/server.log" -w \
    -o "-p $TB_PGPORT -k $TB_WORK/pg -c listen_addresses=127.0.0.1 -c max_connections=60 -c synchronous_commit=off -c shared_buffers=128MB" \
    start >/dev/null
  TB_PG_STARTED=1
  taskset -c "$TB_SVC_CORE" nice -n "$TB_SVC_NICE" redis-server --port "$TB_REDISPORT" --bind 127.0.0.1 --save '' --appendonly no \
    --maxmemory 256mb --maxmemory-policy allkeys-lru --daemonize no >"$TB_WORK/redis.log" 2>&1 &
  TB_PIDS+=($!)
  cat >"$TB_WORK/prometheus.yml" <<PROM
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: refsvc
    static_configs:
      - targets: ["127.0.0.1:${TB_SVCPORT:-0}"]
PROM
  tb_wait_port "$TB_REDISPORT" redis 10
  tb_log "PostgreSQL 127.0.0.1:$TB_PGPORT and Redis 127.0.0.1:$TB_REDISPORT on core $TB_SVC_CORE (nice $TB_SVC_NICE); work dir $TB_WORK"
}

# Prometheus scrapes the service at $1 (port) every second.
tb_start_prometheus() {
  sed -i "s/127.0.0.1:[0-9]*\"/127.0.0.1:$1\"/" "$TB_WORK/prometheus.yml"
  taskset -c "$TB_LOAD_CORE" prometheus --config.file="$TB_WORK/prometheus.yml" --storage.tsdb.path="$TB_WORK/prom" \
    --web.listen-address="127.0.0.1:$TB_PROMPORT" >"$TB_WORK/prometheus.log" 2>&1 &
  TB_PROM_PID=$!
  TB_PIDS+=($TB_PROM_PID)
  tb_wait_port "$TB_PROMPORT" prometheus 20
}

# tb_start_service PORT POOL CACHE LOG [extra refsvc args...]
tb_start_service() {
  local port=$1 pool=$2 cache=$3 log=$4; shift 4
  taskset -c "$TB_SVC_CORE" nice -n "$TB_SVC_NICE" "$TB_BIN/refsvc" --port "$port" --workers "${TB_WORKERS:-1}" \
    --pg "host=127.0.0.1 port=$TB_PGPORT user=postgres dbname=postgres" \
    --redis "redis://127.0.0.1:$TB_REDISPORT/" --pool-size "$pool" --cache "$cache" --access-log "$log" \
    "$@" >>"$TB_WORK/refsvc.log" 2>&1 &
  TB_SVC_PID=$!
  TB_PIDS+=($TB_SVC_PID)
  tb_wait_port "$port" refsvc 60
}

tb_stop_service() {
  if [ -n "${TB_SVC_PID:-}" ]; then
    kill -TERM "$TB_SVC_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$TB_SVC_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$TB_SVC_PID" 2>/dev/null || true
    wait "$TB_SVC_PID" 2>/dev/null || true
    TB_SVC_PID=
  fi
}

tb_cleanup() {
  local rc=$?
  tb_stop_service
  for p in "${TB_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${TB_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "${TB_PG_STARTED:-}" ]; then
    runuser -u postgres -- "$TB_PGBIN/pg_ctl" -D "$TB_WORK/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if [ -n "${TB_WORK:-}" ] && [ -z "${TB_KEEP:-}" ]; then rm -rf "$TB_WORK"; fi
  return $rc
}
