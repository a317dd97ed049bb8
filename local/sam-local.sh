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
PYTHON="${PYTHON:-.venv/bin/python}"  # for devsupport (SAM CLI discovery, Redis)
SAM="${SAM:-$("$PYTHON" -c 'from devsupport.sam import sam_cli; print(sam_cli())')}"
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

# Redis the one way the tests and benchmarks start it too (devsupport/docker.py): a long-lived container
redis_url="$("$PYTHON" -m devsupport.docker redis --network "$NETWORK" --container sentiment-redis \
  --image "$REDIS_IMAGE")"
echo "Redis: $redis_url on docker network $NETWORK"

exec "$SAM" local start-api --warm-containers EAGER --host 127.0.0.1 --port "$PORT" \
  --docker-network "$NETWORK" --env-vars local/env.redis.json "${offline[@]}" "$@"
