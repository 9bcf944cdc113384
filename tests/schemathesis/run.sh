#!/usr/bin/env bash
# Fuzzes the HTTP API from its own OpenAPI document (/api/openapi.json) with Schemathesis, as a
# lead source, a broker and a manager, against a fresh server on loopback with the demo agency.
# Fails on any server error (5xx) and on any response the document does not describe (status,
# content type, body schema, headers).
#
#   tests/schemathesis/run.sh [path/to/roleta]       (default: $CARGO_TARGET_DIR/debug/roleta)
#
# Environment: ST_MAX_EXAMPLES (per operation, default 25), ST_MAX_TIME (seconds per role,
# default 70), ST_SEED (default 1, so a run can be repeated), ST_VENV (default
# ~/.cache/roleta-venv; created with a pinned Schemathesis on first use), ST_SERVER_LOG (a file
# to keep the server's log in).
set -euo pipefail
cd "$(dirname "$0")/../.."

SCHEMATHESIS_VERSION=4.32.5
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/roleta-target}"
BIN="${1:-$CARGO_TARGET_DIR/debug/roleta}"
VENV="${ST_VENV:-$HOME/.cache/roleta-venv}"
MAX_EXAMPLES="${ST_MAX_EXAMPLES:-25}"
MAX_TIME="${ST_MAX_TIME:-70}"
SEED="${ST_SEED:-1}"

[ -x "$BIN" ] || { echo "no roleta binary at $BIN (cargo build first)" >&2; exit 1; }

if ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  echo "== installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" && wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ -n "${ST_SERVER_LOG:-}" ] && [ -f "$WORK/server.log" ]; then cp "$WORK/server.log" "$ST_SERVER_LOG"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
# A binary copy of its own, so a rebuild elsewhere does not change what runs here.
cp "$BIN" "$WORK/roleta"
ROLETA__LOG__FILTER="${ROLETA__LOG__FILTER:-warn}" ROLETA__PUSH__ENABLED=false \
  "$WORK/roleta" --host 127.0.0.1 --port "$PORT" \
  --database-url "sqlite://$WORK/roleta.db?mode=rwc" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "$BASE/healthz" >/dev/null || { echo "server did not start" >&2; exit 1; }

login() { # email -> token
  curl -fsS -H 'Content-Type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"demo1234\"}" "$BASE/api/v1/auth/login" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
MANAGER=$(login gestor@demo.roleta)
BROKER=$(login ana@demo.roleta)
SOURCE=rk_demo_site_0123456789abcdef

# Not fuzzed: the event stream never ends (a request would only time out); logout would sign the
# fuzzing user out for the rest of the run. /ws is not in the document (docs/PROTOCOL.md).
EXCLUDE='^/api/v1/ops/stream$|^/api/v1/auth/logout$'
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance

failed=0
run_as() { # name token [filter options...]
  local name=$1 token=$2
  shift 2
  echo "== schemathesis as $name"
  local started=$SECONDS
  if ! "$VENV/bin/st" --no-color run "$BASE/api/openapi.json" --url "$BASE" \
    --checks "$CHECKS" --phases examples,coverage,fuzzing \
    --max-examples "$MAX_EXAMPLES" --max-time "$MAX_TIME" --seed "$SEED" \
    --exclude-path-regex "$EXCLUDE" --request-timeout 10 --workers 1 \
    --suppress-health-check all --warnings off \
    -H "Authorization: Bearer $token" "$@"; then
    failed=1
  fi
  echo "== as $name: $((SECONDS - started)) s"
}
# The source key first: a manager's run may revoke it (DELETE /api/v1/api-keys/{id}). A source
# only posts leads; the users' runs see every other operation (and its 401 for this key).
run_as source "$SOURCE" --include-operation-id create_lead
run_as broker "$BROKER"
run_as manager "$MANAGER"

if grep -q 'panicked' "$WORK/server.log"; then
  echo "the server panicked:" >&2
  grep -A5 'panicked' "$WORK/server.log" >&2
  failed=1
fi
if [ "$failed" != 0 ]; then
  echo "== server log (last 40 lines)" >&2
  tail -n 40 "$WORK/server.log" >&2
  exit 1
fi
echo "== schemathesis: clean"
