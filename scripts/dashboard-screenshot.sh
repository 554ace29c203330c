#!/usr/bin/env bash
# Starts the local cluster (Garnet storage), adds an item to a cart whose SKU's inventory lives on another
# runner, and screenshots that request's trace in the Aspire dashboard with headless Chromium.
# Usage: scripts/dashboard-screenshot.sh [output.png]   (needs chromium, node, npm, curl and jq)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/dashboard-trace.png}"
dashboard=http://localhost:15043
client=http://localhost:5190

export ASPIRE_ALLOW_UNSECURED_TRANSPORT=true
# The screenshot browser has no login token.
export ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS=true
log=$(mktemp)
dotnet run --project AppHost -- --Storage:Mode=Garnet >"$log" 2>&1 &
apphost=$!
trap 'kill -TERM $apphost 2>/dev/null; wait $apphost 2>/dev/null || true; rm -f "$log"' EXIT

echo "Waiting for the cluster (log: $log)..."
for _ in $(seq 1 180); do
  if curl -fs "$client/health" >/dev/null 2>&1 && [ "$(curl -fs "$client/cluster/runners" | jq '[.[] | select(.healthy)] | length')" -ge 2 ]; then
    break
  fi
  sleep 1
done
curl -fs "$client/health" >/dev/null

owner() { curl -fs "$client/cluster/locate/$1/$2" | jq -r .runner; }
for i in $(seq 1 20); do
  cart="cart-$i"
  cart_runner=$(owner Cart "$cart")
  for sku in coffee mug tea apple banana teapot; do
    if [ "$(owner Inventory "$sku")" != "$cart_runner" ]; then
      break 2
    fi
  done
done

# A first request warms up connections and JIT, so the traced one shows steady-state timings.
curl -fs -H 'Content-Type: application/json' -d "{\"sku\":\"$sku\",\"quantity\":1}" "$client/carts/$cart/items" >/dev/null
headers=$(mktemp)
curl -fs -D "$headers" -H 'Content-Type: application/json' -d "{\"sku\":\"$sku\",\"quantity\":2}" "$client/carts/$cart/items" | jq .
trace=$(grep -i '^trace-id:' "$headers" | awk '{print $2}' | tr -d '\r')
rm -f "$headers"
echo "Cart $cart on $cart_runner, $sku elsewhere; trace $trace"
sleep 5

# Blazor renders the dashboard after load, so a browser driver waits for the trace instead of a fixed delay.
tools="${XDG_CACHE_HOME:-$HOME/.cache}/socketrunner-screenshot"
if [ ! -d "$tools/node_modules/playwright-core" ]; then
  npm install --silent --prefix "$tools" playwright-core@1 >/dev/null
fi
cp scripts/dashboard-screenshot.mjs "$tools/"
node "$tools/dashboard-screenshot.mjs" "$dashboard/traces/detail/$trace" "$out" "handle Inventory.GetStock"
echo "Wrote $out"
