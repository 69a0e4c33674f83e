#!/usr/bin/env bash
# The AWS scale benchmark: inventory-collect (release) against the scale peer
# (collectors/src/peers/organizations.rs), an organization of ACCOUNTS accounts in OUS OUs
# over DEPTH levels that answers every call after LATENCY_MS and, with RATE set, throttles as
# Organizations does (TooManyRequestsException) beyond RATE requests/s (burst BURST). Prints,
# for each of RUNS runs: status, run time, requests by operation, throttled calls, peak RSS,
# and tag coverage: the accounts whose tags have been read, and those read by this run.
# It measures; nothing here asserts (docs/collectors.md).
#
#   ACCOUNTS=10000 OUS=200 DEPTH=4 LATENCY_MS=40 RATE=20 collectors/bench/aws-scale.sh
#
# COLLECT names another inventory-collect binary (an older build, to compare against).
set -euo pipefail
cd "$(dirname "$0")/../.."
accounts="${ACCOUNTS:-1000}"
ous="${OUS:-50}"
depth="${DEPTH:-4}"
latency="${LATENCY_MS:-40}"
rate="${RATE:-}"
burst="${BURST:-40}"
runs="${RUNS:-3}"
work="$(mktemp -d)"
peer=""
trap '[ -n "$peer" ] && kill "$peer" 2>/dev/null; rm -rf "$work"' EXIT

collect="${COLLECT:-target/release/inventory-collect}"
[ -n "${COLLECT:-}" ] || cargo build --quiet --release -p collectors --bin inventory-collect
cargo build --quiet --release -p collectors --features peers --example organizations_peer
target/release/examples/organizations_peer --accounts "$accounts" --ous "$ous" --depth "$depth" \
  --latency-ms "$latency" ${rate:+--rate "$rate"} --burst "$burst" >"$work/peer.out" &
peer=$!
for _ in $(seq 1 100); do [ -s "$work/peer.out" ] && break; sleep 0.1; done
url="$(head -n 1 "$work/peer.out")"

stats() { python3 -c 'import json,sys,urllib.request; print(json.dumps(json.load(urllib.request.urlopen(sys.argv[1] + "/stats"))))' "$url"; }
echo "organization: $accounts accounts, $ous OUs, depth $depth; ${latency} ms a call; throttle ${rate:-none} req/s (burst $burst)"
for n in $(seq 1 "$runs"); do
  before="$(stats)"
  AWS_ENDPOINT_URL="$url" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 \
    AWS_EC2_METADATA_DISABLED=true \
    /usr/bin/time -f "%M" -o "$work/rss" \
    "$collect" --database-url "sqlite://$work/inventory.db?mode=rwc" \
    --log-format json aws 2>"$work/run.log" || true
  after="$(stats)"
  python3 - "$before" "$after" "$(cat "$work/rss")" "$work/run.log" "$n" "$work/inventory.db" <<'PY'
import json, sqlite3, sys
before, after, rss, log, n, db = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
summary, enriched = {}, {}
for line in open(log):
    try:
        entry = json.loads(line)
    except ValueError:
        continue
    fields = entry.get("fields", entry)
    if fields.get("message") == "collector run finished":
        summary = fields
    if fields.get("message") == "collector run enrichment finished":
        enriched = fields
requests = {op: after["requests"].get(op, 0) - before["requests"].get(op, 0) for op in after["requests"]}
requests = {op: c for op, c in sorted(requests.items()) if c}
print(f"run {n}: {summary.get('status')} in {summary.get('seconds', 0):.1f} s, seen {summary.get('seen')}, "
      f"{sum(requests.values())} requests {requests}, throttled {after['throttled'] - before['throttled']}, "
      f"peak RSS {rss / 1024:.1f} MiB")
total, tagged = sqlite3.connect(db).execute(
    "SELECT count(*), count(tags_read_at) FROM cloud_accounts WHERE removed_at IS NULL").fetchone()
print(f"  tags: {tagged}/{total} accounts read ({100 * tagged / max(total, 1):.0f} %), "
      f"{enriched.get('read', 0)} by this run, {enriched.get('changed', 0)} changed"
      + (f", stopped by: {enriched['error']}" if enriched.get("error") else ""))
PY
done
