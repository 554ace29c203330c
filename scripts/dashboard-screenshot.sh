#!/usr/bin/env bash
# Starts the local cluster (Garnet storage), traces one request and screenshots its trace in the Aspire dashboard
# with headless Chromium:
#   cart      adds an item to a cart whose SKU's inventory lives on another runner (docs/dashboard-trace.png)
#   workflow  places an order, whose checkout workflow reserves, charges, sleeps on the durable clock and resumes
#             to confirm; the whole trace (docs/workflow-trace.png)
# Usage: scripts/dashboard-screenshot.sh [cart|workflow] [output.png]   (needs chromium, node, npm, curl and jq)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=cart
case "${1:-}" in
  cart | workflow) mode=$1; shift ;;
esac
case $mode in
  cart) out="${1:-docs/dashboard-trace.png}" ;;
  workflow) out="${1:-docs/workflow-trace.png}" ;;
esac
dashboard=http://localhost:15043
client=http://localhost:5190

export ASPIRE_ALLOW_UNSECURED_TRANSPORT=true
# The screenshot browser has no login token.
export ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS=true
log=$(mktemp)
headers=$(mktemp)
dotnet run --project AppHost --launch-profile http -- --Storage:Mode=Garnet >"$log" 2>&1 &
apphost=$!
trap 'kill -TERM $apphost 2>/dev/null; wait $apphost 2>/dev/null || true; rm -f "$log" "$headers"' EXIT

echo "Waiting for the cluster (log: $log)..."
for _ in $(seq 1 180); do
  if curl -fs "$client/health" >/dev/null 2>&1 && [ "$(curl -fs "$client/cluster/runners" | jq '[.[] | select(.healthy)] | length')" -ge 2 ]; then
    break
  fi
  sleep 1
done
curl -fs "$client/health" >/dev/null
trace_of() { grep -i '^trace-id:' "$headers" | awk '{print $2}' | tr -d '\r'; }

cart_request() {
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
  curl -fs -D "$headers" -H 'Content-Type: application/json' -d "{\"sku\":\"$sku\",\"quantity\":2}" "$client/carts/$cart/items" | jq .
  trace=$(trace_of)
  echo "Cart $cart on $cart_runner, $sku elsewhere; trace $trace"
  # The span to wait for is clicked, so the screenshot shows its details too.
  screenshot_args=(--wait-for "handle Inventory.GetStock" --click --viewport 1600x1000)
}

workflow_request() {
  local lines='[{"sku":"coffee","quantity":2},{"sku":"mug","quantity":1}]' order state
  # Warm-up orders (run to the end, no settle sleep) spread over the runners, so the traced one shows steady-state timings.
  for _ in 1 2 3; do
    curl -fs -H 'Content-Type: application/json' -d "{\"lines\":$lines,\"settleSeconds\":0}" "$client/orders?wait=true" |
      jq -e '.state == "succeeded"' >/dev/null
  done
  # 202 at once; the workflow sleeps 2 s on the durable clock between the charge and the confirm.
  order=$(curl -fs -D "$headers" -H 'Content-Type: application/json' -d "{\"lines\":$lines,\"card\":\"4242\",\"settleSeconds\":2}" "$client/orders" | jq -r .orderId)
  trace=$(trace_of)
  for _ in $(seq 1 60); do
    state=$(curl -fs "$client/orders/$order" | jq -r .state)
    case $state in
      succeeded) break ;;
      failed) curl -fs "$client/orders/$order" | jq . >&2; exit 1 ;;
    esac
    sleep 1
  done
  [ "$state" = succeeded ] || { echo "Order $order still $state" >&2; exit 1; }
  curl -fs "$client/orders/$order" | jq .
  echo "Order $order succeeded; trace $trace"
  # The confirm step runs in the resumed replay, the trace's last part; tall enough for all of its spans.
  screenshot_args=(--wait-for "handle Workflow/checkout.activity: confirm #1" --viewport 1600x2000)
}

"${mode}_request"
# Give the runners time to export their last spans.
sleep 5

# Blazor renders the dashboard after load, so a browser driver waits for the trace instead of a fixed delay.
tools="${XDG_CACHE_HOME:-$HOME/.cache}/socketrunner-screenshot"
if [ ! -d "$tools/node_modules/playwright-core" ]; then
  npm install --silent --prefix "$tools" playwright-core@1 >/dev/null
fi
cp scripts/dashboard-screenshot.mjs "$tools/"
node "$tools/dashboard-screenshot.mjs" "$dashboard/traces/detail/$trace" "$out" "${screenshot_args[@]}"
echo "Wrote $out"
