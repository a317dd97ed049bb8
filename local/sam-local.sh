#!/usr/bin/env bash
# One command for the local API with a shared cache: sam build, Redis on the docker network
# `sentiment-local`, then `sam local start-api` with warm containers on http://127.0.0.1:${PORT:-3000}.
#   local/sam-local.sh                 # uses the public Lambda image (needs registry access)
#   SAM_LOCAL_OFFLINE=1 local/sam-local.sh   # stand-in images (local/build-standin-image.sh)
#   local/sam-local.sh --parameter-overrides ScikitLearnRuntime=none   # extra arguments go to start-api
# The scikit-learn layer is attached by default (template parameter ScikitLearnRuntime=attached); `none`
# runs the linear-only function, as deployed with that value.
# Ctrl-C stops the API; the Redis container keeps running (`docker rm -f sentiment-redis` to stop it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export SAM_CLI_TELEMETRY=0
SAM="${SAM:-$(command -v sam || echo .venv-sam/bin/sam)}"
NETWORK="${NETWORK:-sentiment-local}"
PORT="${PORT:-3000}"
offline=()
if [[ "${SAM_LOCAL_OFFLINE:-}" =~ ^(1|true|yes)$ ]]; then
  STANDIN_IMAGE="${STANDIN_IMAGE:-sentiment-standin/python:3.13-x86_64}"
  REDIS_IMAGE="${REDIS_IMAGE:-sentiment-standin/redis:trixie}"
  bash local/build-standin-image.sh
  offline=(--invoke-image "$STANDIN_IMAGE" --skip-pull-image)
fi
REDIS_IMAGE="${REDIS_IMAGE:-valkey/valkey:8-alpine}"

docker info >/dev/null 2>&1 || { echo "Docker is not running (as root without systemd: local/start-docker.sh)" >&2; exit 1; }
"$SAM" build

docker network inspect "$NETWORK" >/dev/null 2>&1 || docker network create "$NETWORK" >/dev/null
if [[ "$(docker inspect -f '{{.State.Running}}' sentiment-redis 2>/dev/null)" != "true" ]]; then
  docker rm -f sentiment-redis >/dev/null 2>&1 || true
  # the stand-in image's default command is redis-server; valkey images start valkey-server
  docker run -d --name sentiment-redis --network "$NETWORK" "$REDIS_IMAGE" >/dev/null
fi
echo "Redis: redis://sentiment-redis:6379/0 on docker network $NETWORK"

exec "$SAM" local start-api --warm-containers EAGER --host 127.0.0.1 --port "$PORT" \
  --docker-network "$NETWORK" --env-vars local/env.redis.json "${offline[@]}" "$@"
