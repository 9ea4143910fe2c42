#!/usr/bin/env bash
# Builds ChatPortal and runs every test project: unit, bunit, API and multi-node integration (real
# redis-server, real PostgreSQL, real nodes) and end-to-end (Playwright in Debian's Chromium).
# Validates the deployment files (compose, Prometheus rules). Runs the short chaos run (ChatPortal.Chaos --short, counted
# as one test). Installs what it needs when it is missing. Prints "N passed, N failed" over all projects.
set -euo pipefail
cd "$(dirname "$0")"
root=$PWD

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# PostgreSQL for the multi-node tests (PostgresServer, cluster.sh): Debian puts initdb outside PATH.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

echo "==> deployment files: compose file, alert rules"
ADMIN_PASSWORD=validate POSTGRES_PASSWORD=validate REDIS_PASSWORD=validate docker-compose -f docker-compose.multi-node.yml config -q
promtool check rules deploy/prometheus/chatportal-alerts.yml
(cd deploy/prometheus && promtool test rules chatportal-alerts.test.yml)

echo "==> build"
dotnet build ChatPortal.sln -c Release -nologo -clp:ErrorsOnly

echo "==> publish the node (tests run nodes from the publish folder)"
rm -rf artifacts/node
dotnet publish ChatPortal/ChatPortal.csproj -c Release --no-build -o artifacts/node -nologo -clp:ErrorsOnly
export CHATPORTAL_NODE_DIR="$root/artifacts/node"

results="$root/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

status=0
projects=(ChatPortal.Tests ChatPortal.E2E)
for project in "${projects[@]}"; do
  echo "==> test $project"
  log="$results/$project.log"
  set +e
  dotnet test "$project/$project.csproj" -c Release --no-build -nologo \
    --logger "trx;LogFileName=$project.trx" --results-directory "$results" >"$log" 2>&1
  rc=$?
  set -e
  # Failures with their messages, and the runner's own summary.
  # (Each failure with the lines after it: the message and the top of the stack.)
  grep -E -A14 '^\s+Failed [A-Za-z]' "$log" | head -300 || true
  grep -E '^(Passed|Failed)!|error' "$log" | head -50 || true
  if [ $rc -ne 0 ]; then
    status=1
    if ! grep -qE '^(Passed|Failed)!' "$log"; then tail -50 "$log"; fi
  fi
done

# The chaos run: PostgreSQL, Redis and 3 nodes under every fault kind (fixed seed, about 2 minutes); it checks the
# invariants (docs/CHAOS.md) and exits non-zero on any violation. Counts as one test; a hung run is cut at 15 min.
echo "==> chaos run (--short)"
set +e
timeout 900 dotnet run --project ChatPortal.Chaos -c Release --no-build -- --short >"$results/chaos.log" 2>&1
chaos_rc=$?
set -e
sed -n '/^## Chaos run/,$p' "$results/chaos.log"
if [ $chaos_rc -ne 0 ]; then
  status=1
  grep -qE '^## Chaos run' "$results/chaos.log" || tail -50 "$results/chaos.log"
fi

passed=0; failed=0; skipped=0
if [ $chaos_rc -eq 0 ]; then passed=1; else failed=1; fi
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters"); e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${t:-0} - ${e:-0}))
done
if [ "$(ls "$results"/*.trx 2>/dev/null | wc -l)" -ne "${#projects[@]}" ]; then
  echo "a test project produced no results"; status=1
fi
[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
