#!/usr/bin/env bash
# The gateway benchmark with the LiteLLM proxy beside it, in one run: one instant local
# upstream (benches/gateway.rs --upstream), `apihub serve` and the LiteLLM proxy
# (`litellm[proxy]` from PyPI in a virtual environment, one worker, a master key, no
# database) in front
# of it, the same loads against direct / gateway / LiteLLM, one table.
#
#   bash benches/gateway_vs_litellm.sh
#
# Env: GATEWAY_BENCH_DIR (work dir, default target/gateway-bench; the venv is kept there),
# LITELLM_SPEC (pip spec, default 'litellm[proxy]'), BENCH_SECS, BENCH_N (see the bench).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${GATEWAY_BENCH_DIR:-target/gateway-bench}
venv=$work/venv
mkdir -p "$work"

if [ ! -x "$venv/bin/litellm" ]; then
  echo "installing ${LITELLM_SPEC:-litellm[proxy]} into $venv …" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "${LITELLM_SPEC:-litellm[proxy]}"
fi
litellm_version=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("litellm"))')

echo "building the bench (release) …" >&2
bin=$(cargo bench --bench gateway --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -1)
[ -x "$bin" ] || { echo "error: bench binary not found" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
up_port=$(free_port)
lite_key="sk-bench-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
lite_port=$(free_port)
ulimit -n 65536 2>/dev/null || ulimit -n 8192 2>/dev/null || true

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 2
  # uvicorn waits for open connections on SIGTERM: make sure nothing is left behind.
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

"$bin" --upstream "127.0.0.1:$up_port" > "$work/upstream.log" 2>&1 &
pids+=($!)

cat > "$work/litellm.yaml" <<EOF
model_list:
  - model_name: m
    litellm_params: {model: openai/m, api_base: "http://127.0.0.1:$up_port/v1", api_key: sk-bench}
  - model_name: idle
    litellm_params: {model: openai/idle, api_base: "http://127.0.0.1:$up_port/v1", api_key: sk-bench}
litellm_settings:
  telemetry: false
general_settings:
  master_key: $lite_key
EOF
LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_LOG=ERROR \
  "$venv/bin/litellm" --config "$work/litellm.yaml" --host 127.0.0.1 --port "$lite_port" --num_workers 1 \
  > "$work/litellm.log" 2>&1 &
lite_pid=$!
pids+=($lite_pid)

echo "waiting for LiteLLM $litellm_version on port $lite_port …" >&2
for _ in $(seq 1 180); do
  if curl -sf -o /dev/null "http://127.0.0.1:$lite_port/health/liveliness"; then break; fi
  if ! kill -0 "$lite_pid" 2>/dev/null; then echo "error: LiteLLM exited; see $work/litellm.log" >&2; exit 1; fi
  sleep 1
done
curl -sf -o /dev/null -H 'content-type: application/json' -H "authorization: Bearer $lite_key" \
  -d '{"model":"m","messages":[{"role":"user","content":"hi"}]}' "http://127.0.0.1:$lite_port/v1/chat/completions" \
  || { echo "error: LiteLLM does not answer; see $work/litellm.log" >&2; exit 1; }

echo "LiteLLM $litellm_version (1 worker) at http://127.0.0.1:$lite_port, upstream at http://127.0.0.1:$up_port" | tee "$work/result.txt"
BENCH_UPSTREAM="http://127.0.0.1:$up_port" LITELLM_URL="http://127.0.0.1:$lite_port" LITELLM_PID="$lite_pid" LITELLM_KEY="$lite_key" \
  "$bin" | tee -a "$work/result.txt"
