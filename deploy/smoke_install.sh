#!/usr/bin/env bash
# The container's entry command, outside Docker (no Docker engine runs on our machines): a clean
# `npm ci --omit=dev --ignore-scripts` in a temporary folder holding what the runtime stage copies
# (dist/, eval/dist/, data/, models/default/), started with the runtime stage's environment, then checked:
# /healthz, /readyz, POST /classify and POST /detect answer, and SIGTERM exits 0.
# Run after `npm run build`:  bash deploy/smoke_install.sh   (SMOKE_PORT, DIST override the defaults)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dist="${DIST:-$root/dist}"
port="${SMOKE_PORT:-3919}"
work="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then kill -KILL "$server" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

[ -f "$dist/src/cli/nasnet.js" ] || { echo "smoke: $dist/src/cli/nasnet.js is missing; run npm run build first" >&2; exit 1; }
cp "$root/package.json" "$root/package-lock.json" "$root/.npmrc" "$work/"
# The workspace package pycocotools-js (eval/): its manifest for npm ci's link, its compiled output.
mkdir -p "$work/eval" && cp "$root/eval/package.json" "$work/eval/" && cp -r "$root/eval/dist" "$work/eval/dist"
(cd "$work" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
mkdir -p "$work/dist" "$work/models"
for part in core data cells backbones detection search src; do
  if [ -d "$dist/$part" ]; then cp -r "$dist/$part" "$work/dist/$part"; fi
done
cp -r "$root/data" "$work/data"
cp -r "$root/models/default" "$work/models/default"

cd "$work"
HOST=127.0.0.1 PORT="$port" NODE_ENV=production NASNET_BACKEND=wasm NASNET_MODELS_DIR="$work/models" NASNET_WORKERS=1 \
  node dist/src/cli/nasnet.js serve > "$work/server.log" 2>&1 &
server=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 180); do
  if curl -fsS "$base/readyz" >/dev/null 2>&1; then break; fi
  kill -0 "$server" 2>/dev/null || { echo "smoke: the server exited" >&2; cat "$work/server.log" >&2; exit 1; }
  sleep 1
done
curl -fsS "$base/healthz" | grep -q '"ok"'
curl -fsS "$base/readyz" | grep -q '"ready"' || { echo "smoke: not ready after 180 s" >&2; cat "$work/server.log" >&2; exit 1; }
node -e "require('sharp')({create:{width:96,height:64,channels:3,background:'#3080c0'}}).png().toFile('$work/image.png')"
curl -fsS -H 'content-type: image/png' --data-binary "@$work/image.png" "$base/classify?topK=3" | grep -q '"predictions"'
curl -fsS -F "image=@$work/image.png" "$base/detect" | grep -q '"detections"'
curl -fsS "$base/models"
echo
kill -TERM "$server"
code=0
wait "$server" || code=$?
server=""
[ "$code" = 0 ] || { echo "smoke: exit code $code after SIGTERM" >&2; cat "$work/server.log" >&2; exit 1; }
echo "smoke: production install serves and exits cleanly"
