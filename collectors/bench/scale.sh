#!/usr/bin/env bash
# The collectors' scale benchmark: the release inventory-collect against local peers that
# follow each provider's protocol (collectors/src/peers: AWS Organizations, Resource Manager
# v3, Azure Resource Manager) and answer every call after LATENCY_MS, throttling as the
# provider does beyond a rate where a scenario sets one. For each run of each scenario it
# prints status, run time, requests by operation, throttled calls, peak RSS, and for AWS the
# tag coverage (accounts whose tags were read, and by this run). It measures; nothing here
# asserts (docs/performance.md#collecting-at-scale).
#
#   collectors/bench/scale.sh                       # every scenario below
#   SCENARIOS="aws-10k-20rps" collectors/bench/scale.sh
#
# Scenarios: aws-1k, aws-10k (200 OUs, depth 4), aws-10k-20rps (throttled at 20 requests/s,
# burst 40), gcp-10k, gcp-100k (500 folders, depth 4), azure-5k (100 management groups,
# depth 3). AWS runs RUNS times (3) into one database, the others twice. DATABASE_URL
# (default: a fresh SQLite file per scenario) names another store; COLLECT another binary.
set -euo pipefail
cd "$(dirname "$0")/../.."
latency="${LATENCY_MS:-40}"
runs="${RUNS:-3}"
scenarios="${SCENARIOS:-aws-1k aws-10k aws-10k-20rps gcp-10k gcp-100k azure-5k}"
work="$(mktemp -d)"
peer=""
trap '[ -n "$peer" ] && kill "$peer" 2>/dev/null; rm -rf "$work"' EXIT

collect="${COLLECT:-target/release/inventory-collect}"
[ -n "${COLLECT:-}" ] || cargo build --quiet --release -p collectors --bin inventory-collect
cargo build --quiet --release -p collectors --features peers --examples

# start_peer [PEER OPTIONS] PROVIDER [SHAPE]: starts a scale peer, sets $url.
start_peer() {
  target/release/examples/scale_peer --latency-ms "$latency" "$@" >"$work/peer.out" &
  peer=$!
  for _ in $(seq 1 100); do [ -s "$work/peer.out" ] && break; sleep 0.1; done
  url="$(head -n 1 "$work/peer.out")"
}

stop_peer() {
  kill "$peer" 2>/dev/null || true
  wait "$peer" 2>/dev/null || true
  peer=""
}

stats() { python3 -c 'import json,sys,urllib.request; print(json.dumps(json.load(urllib.request.urlopen(sys.argv[1] + "/stats"))))' "$url"; }

# run_collector SCENARIO N DB ARGS...: one run, then its line.
run_collector() {
  local scenario="$1" n="$2" db="$3"
  shift 3
  local before after
  before="$(stats)"
  /usr/bin/time -f "%M" -o "$work/rss" "$collect" --database-url "$db" --migrate true \
    --log-format json "$@" 2>"$work/run.log" >/dev/null || true
  after="$(stats)"
  python3 - "$before" "$after" "$(cat "$work/rss")" "$work/run.log" "$scenario" "$n" "$db" <<'PY'
import json, sqlite3, sys
before, after, rss, log, scenario, n, db = (json.loads(sys.argv[1]), json.loads(sys.argv[2]),
    int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7])
summary, enriched = {}, None
for line in open(log):
    try:
        fields = json.loads(line)
    except ValueError:
        continue
    fields = fields.get("fields", fields)
    if fields.get("message") == "collector run finished":
        summary = fields
    if fields.get("message") == "collector run enrichment finished":
        enriched = fields
requests = {op: after["requests"].get(op, 0) - before["requests"].get(op, 0) for op in after["requests"]}
requests = {op: c for op, c in sorted(requests.items()) if c}
print(f"{scenario} run {n}: {summary.get('status')} in {summary.get('seconds', 0):.1f} s, "
      f"seen {summary.get('seen')}, {sum(requests.values())} requests {requests}, "
      f"throttled {after['throttled'] - before['throttled']}, peak RSS {rss / 1024:.1f} MiB")
if enriched is not None and db.startswith("sqlite://"):
    path = db[len("sqlite://"):].split("?")[0]
    total, tagged = sqlite3.connect(path).execute(
        "SELECT count(*), count(tags_read_at) FROM cloud_accounts WHERE removed_at IS NULL").fetchone()
    print(f"  tags: {tagged}/{total} accounts read ({100 * tagged / max(total, 1):.0f} %), "
          f"{enriched.get('read', 0)} by this run, {enriched.get('changed', 0)} changed"
          + (f", stopped by: {enriched['error']}" if enriched.get("error") else ""))
if summary.get("error"):
    print(f"  error: {summary['error']}")
PY
}

database() { echo "${DATABASE_URL:-sqlite://$work/$1.db?mode=rwc}"; }

aws() {
  local scenario="$1"
  shift
  start_peer "$@" --ous 200 --depth 4
  local db
  db="$(database "$scenario")"
  for n in $(seq 1 "$runs"); do
    AWS_ENDPOINT_URL="$url" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
      AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
      run_collector "$scenario" "$n" "$db" aws
  done
  stop_peer
}

gcp() {
  local scenario="$1"
  shift
  start_peer "$@" --folders 500 --depth 4
  [ -s "$work/key.pem" ] || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$work/key.pem" 2>/dev/null
  python3 - "$work/key.pem" "$url" >"$work/gcp.json" <<'PY'
import json, sys
print(json.dumps({"type": "service_account", "project_id": "scale", "private_key_id": "k1",
    "private_key": open(sys.argv[1]).read(), "client_email": "collector@scale.iam.gserviceaccount.com",
    "client_id": "1", "token_uri": sys.argv[2] + "/token"}))
PY
  local db
  db="$(database "$scenario")"
  for n in 1 2; do
    GOOGLE_APPLICATION_CREDENTIALS="$work/gcp.json" \
      run_collector "$scenario" "$n" "$db" gcp --scope organizations/1 --base-url "$url"
  done
  stop_peer
}

azure() {
  local scenario="$1"
  shift
  start_peer "$@" --groups 100 --depth 3
  local db
  db="$(database "$scenario")"
  for n in 1 2; do
    IDENTITY_ENDPOINT="$url/msi/token" IDENTITY_HEADER=scale-peer-identity \
      run_collector "$scenario" "$n" "$db" azure --tenant 5ca1ab1e-0000-4000-8000-00000000feed \
      --credential managed-identity --base-url "$url"
  done
  stop_peer
}

echo "$(nproc) cores; ${latency} ms a call; $collect"
for scenario in $scenarios; do
  case "$scenario" in
    aws-1k) aws "$scenario" aws --accounts 1000 ;;
    aws-10k) aws "$scenario" aws --accounts 10000 ;;
    aws-10k-20rps) aws "$scenario" --rate 20 --burst 40 aws --accounts 10000 ;;
    gcp-10k) gcp "$scenario" gcp --projects 10000 ;;
    gcp-100k) gcp "$scenario" gcp --projects 100000 ;;
    azure-5k) azure "$scenario" azure --subscriptions 5000 ;;
    *) echo "unknown scenario $scenario" >&2; exit 2 ;;
  esac
done
