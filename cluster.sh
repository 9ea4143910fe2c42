#!/usr/bin/env bash
# Local multi-node ChatPortal without Docker: a PostgreSQL (the system of record: conversations), a
# redis-server (coordination), N nodes and Debian's nginx as the round-robin load balancer
# (deploy/nginx/chatportal.conf, the same configuration compose uses).
#
#   ./cluster.sh up [N]    start (default 3 nodes) and print the URLs
#   ./cluster.sh down      stop everything started by "up"
#   ./cluster.sh status    show what runs
#
# Environment: CLUSTER_DIR (.cluster), CLUSTER_LB_PORT (8080), CLUSTER_BASE_PORT (5101: nodes take
# 5101..), CLUSTER_REDIS_PORT (6380), CLUSTER_POSTGRES_PORT (5433), ADMIN_PASSWORD (generated when empty), CHATPORTAL_NODE_DIR (a
# published node; published into $CLUSTER_DIR/node when empty), and any ChatPortal__* setting, passed
# on to every node (e.g. ChatPortal__Model__Simulated__TokensPerSecond=40).
#
# PostgreSQL keeps its data in $CLUSTER_DIR/postgres (owned by the postgres user when run as root: initdb
# and postgres refuse root), listens on 127.0.0.1 only and trusts local connections as user chatportal
# (a development cluster; production uses the compose file's password). Every node gets
# ChatPortal__Database__Provider=Postgres and ChatPortal__Database__ConnectionString for database chatportal.
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
dir=${CLUSTER_DIR:-$root/.cluster}
lb_port=${CLUSTER_LB_PORT:-8080}
base_port=${CLUSTER_BASE_PORT:-5101}
redis_port=${CLUSTER_REDIS_PORT:-6380}
pg_port=${CLUSTER_POSTGRES_PORT:-5433}
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
pg_data=$dir/postgres
pg_connection="Host=127.0.0.1;Port=$pg_port;Username=chatportal;Database=chatportal"
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

wait_for() { # url seconds
  local url=$1 deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then echo "timed out waiting for $url" >&2; return 1; fi
    sleep 0.2
  done
}

# initdb, pg_ctl and postgres refuse to run as root: as root, run them as the postgres user.
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  [ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] || { echo "PostgreSQL is missing (apt-get install -y postgresql)" >&2; exit 1; }
  mkdir -p "$pg_data"
  touch "$dir/logs/postgres.log"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$pg_data" "$dir/logs/postgres.log"
    # The postgres user must be able to reach its data directory (a mktemp -d parent is 0700).
    runuser -u postgres -- test -x "$dir" || chmod a+x "$dir"
  fi
  chmod 700 "$pg_data"
  if [ ! -f "$pg_data/PG_VERSION" ]; then
    as_postgres "$pg_bin/initdb" -D "$pg_data" -U chatportal --auth=trust -E UTF8 --locale=C >/dev/null
  fi
  # TCP on loopback only, no Unix socket (a deep CLUSTER_DIR would exceed the socket path limit).
  as_postgres "$pg_bin/pg_ctl" -D "$pg_data" -l "$dir/logs/postgres.log" -w -t 60 \
    -o "-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=300" start >/dev/null \
    || { echo "PostgreSQL did not start on port $pg_port:" >&2; tail -20 "$dir/logs/postgres.log" >&2; exit 1; }
  head -1 "$pg_data/postmaster.pid" > "$dir/postgres.pid"
  echo "postgres $dir/postgres.pid" >> "$dir/pids"
  if [ -z "$("$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U chatportal -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'chatportal'")" ]; then
    "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U chatportal chatportal
  fi
}

stop_postgres() { # after the nodes: they write their last messages while they drain
  [ -f "$dir/postgres.pid" ] || return 0
  if [ -f "$pg_data/postmaster.pid" ] && [ -n "$pg_bin" ]; then
    as_postgres "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w -t 30 stop >/dev/null 2>&1 || kill -9 "$(cat "$dir/postgres.pid")" 2>/dev/null || true
  else
    kill -INT "$(cat "$dir/postgres.pid")" 2>/dev/null || true
  fi
}

up() {
  local n=${1:-3}
  for tool in redis-server curl; do command -v $tool >/dev/null || { echo "$tool is missing (apt-get install -y redis-server curl)" >&2; exit 1; }; done
  [ -x "$nginx_bin" ] || { echo "nginx is missing (apt-get install -y nginx)" >&2; exit 1; }
  if [ -f "$dir/pids" ]; then echo "already up ($dir/pids); run ./cluster.sh down first" >&2; exit 1; fi
  mkdir -p "$dir/logs" "$dir/nginx" "$dir/redis" "$dir/data"

  local node_dir=${CHATPORTAL_NODE_DIR:-}
  if [ -z "$node_dir" ]; then
    node_dir=$dir/node
    echo "==> publishing the node to $node_dir"
    dotnet publish "$root/ChatPortal/ChatPortal.csproj" -c Release -o "$node_dir" -nologo -clp:ErrorsOnly >/dev/null
  fi

  local password=${ADMIN_PASSWORD:-$(head -c 12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 16)}
  echo "$password" > "$dir/admin-password"
  chmod 600 "$dir/admin-password"

  start_postgres

  redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly yes --dir "$dir/redis" \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/logs/redis.log"
  echo "redis $dir/redis.pid" >> "$dir/pids"

  : > "$dir/nginx/chatportal-upstream.conf"
  for i in $(seq 1 "$n"); do
    local port=$((base_port + i - 1))
    echo "server 127.0.0.1:$port max_fails=1 fail_timeout=5s;" >> "$dir/nginx/chatportal-upstream.conf"
    (
      cd "$node_dir"
      ASPNETCORE_ENVIRONMENT=Production \
      ChatPortal__Redis="127.0.0.1:$redis_port" \
      ChatPortal__Database__Provider=Postgres \
      ChatPortal__Database__ConnectionString="$pg_connection" \
      ChatPortal__DataDirectory="${ChatPortal__DataDirectory:-$dir/data/node-$i}" \
      ChatPortal__NodeId="node-$i" \
      ChatPortal__Security__TrustedProxies__0=127.0.0.1 \
      ChatPortal__Admin__Password="$password" \
      exec dotnet ChatPortal.dll --urls "http://127.0.0.1:$port"
    ) > "$dir/logs/node-$i.log" 2>&1 &
    echo $! > "$dir/node-$i.pid"
    echo "node-$i $dir/node-$i.pid" >> "$dir/pids"
  done

  echo "listen 127.0.0.1:$lb_port;" > "$dir/nginx/chatportal-listen.conf"
  cat > "$dir/nginx/nginx.conf" <<NGINX
worker_processes 1;
pid $dir/nginx/nginx.pid;
error_log $dir/logs/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log $dir/logs/nginx-access.log;
    client_body_temp_path $dir/nginx/body;
    proxy_temp_path $dir/nginx/proxy;
    fastcgi_temp_path $dir/nginx/fastcgi;
    uwsgi_temp_path $dir/nginx/uwsgi;
    scgi_temp_path $dir/nginx/scgi;
    include $root/deploy/nginx/chatportal.conf;
}
NGINX
  "$nginx_bin" -p "$dir/nginx" -c "$dir/nginx/nginx.conf"
  echo "nginx $dir/nginx/nginx.pid" >> "$dir/pids"

  for i in $(seq 1 "$n"); do wait_for "http://127.0.0.1:$((base_port + i - 1))/healthz" 90; done
  wait_for "http://127.0.0.1:$lb_port/healthz" 20

  echo
  echo "ChatPortal cluster is up:"
  echo "  load balancer  http://127.0.0.1:$lb_port"
  for i in $(seq 1 "$n"); do echo "  node-$i         http://127.0.0.1:$((base_port + i - 1))"; done
  echo "  redis          127.0.0.1:$redis_port"
  echo "  postgres       127.0.0.1:$pg_port  (database chatportal, user chatportal: $pg_connection)"
  echo "  admin          http://127.0.0.1:$lb_port/admin  (admin / $password)"
  echo "  logs           $dir/logs"
  echo "Stop with: ./cluster.sh down"
}

down() {
  [ -f "$dir/pids" ] || { echo "nothing to stop ($dir/pids missing)"; return 0; }
  while read -r name pidfile; do
    [ "$name" = postgres ] && continue
    if [ -f "$pidfile" ]; then
      local pid; pid=$(cat "$pidfile")
      if [ "$name" = nginx ]; then "$nginx_bin" -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -s stop 2>/dev/null || kill "$pid" 2>/dev/null || true
      else kill "$pid" 2>/dev/null || true; fi
    fi
  done < "$dir/pids"
  # Give nodes their graceful stop, then make sure.
  for _ in $(seq 1 50); do
    alive=0
    while read -r name pidfile; do [ "$name" != postgres ] && [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && alive=1; done < "$dir/pids"
    [ $alive -eq 0 ] && break
    sleep 0.2
  done
  while read -r name pidfile; do [ "$name" != postgres ] && [ -f "$pidfile" ] && kill -9 "$(cat "$pidfile")" 2>/dev/null || true; done < "$dir/pids"
  stop_postgres
  rm -f "$dir/pids" "$dir"/*.pid
  echo "ChatPortal cluster stopped."
}

status() {
  [ -f "$dir/pids" ] || { echo "down"; return 0; }
  while read -r name pidfile; do
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then echo "$name running (pid $(cat "$pidfile"))"; else echo "$name stopped"; fi
  done < "$dir/pids"
}

case "${1:-}" in
  up) shift; up "${1:-3}" ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up [N] | down | status" >&2; exit 2 ;;
esac
