#!/usr/bin/env bash
# Measures one AWS collection of an emulated organization: wall time and peak memory of
# inventory-collect reading N accounts (default 1000) from moto into a fresh SQLite file.
#   collectors/bench/aws-org.sh [N]
# Needs moto_server and boto3 (MOTO_VENV, default /opt/asset-inventory-moto, as .ci/run
# installs) and builds inventory-collect in release mode.
set -euo pipefail
cd "$(dirname "$0")/../.."
count="${1:-1000}"
venv="${MOTO_VENV:-/opt/asset-inventory-moto}"
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 50); do (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.2; done
"$venv/bin/python" collectors/bench/seed_moto_org.py "http://127.0.0.1:$port" "$count"
cargo build --quiet --release -p collectors --bin inventory-collect
# moto answers slowly (about 7 accounts a second with 10,000 in the organization): give the run
# the time it needs instead of the production deadline, so the whole organization is read.
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true INVENTORY_RUN_DEADLINE_SECONDS=7200
for pass in first second; do
  /usr/bin/time -f "$pass run: %e s wall, %M KiB peak RSS" \
    target/release/inventory-collect --database-url "sqlite://$work/inventory.db?mode=rwc" \
    --log-format json aws 2>"$work/$pass.log" || true
  grep -h "collector run finished" "$work/$pass.log" | tail -n 1
  tail -n 1 "$work/$pass.log"
done
