#!/usr/bin/env bash
# Docker engine + offline images for the `sam local` end-to-end tests (tests/e2e).
# Works sourced (`source .ci/docker-up.sh`, exports stay in the caller) or executed.
# Fails (non-zero) if a prerequisite cannot be provided: under CI nothing may be skipped.
#
# Exports:
#   SAM_LOCAL_OFFLINE=1   tests and `make sam-local` use the stand-in images (no registry here)
#   STANDIN_IMAGE         stand-in for public.ecr.aws/lambda/python:3.13-x86_64 (--invoke-image)
#   REDIS_IMAGE           Redis image for the docker network
#   SAM_CLI_TELEMETRY=0
_docker_up() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  local need=()
  command -v dockerd >/dev/null || need+=(docker.io)
  command -v iptables >/dev/null || need+=(iptables)
  command -v debootstrap >/dev/null || need+=(debootstrap)
  command -v redis-server >/dev/null || need+=(redis-server)
  if ((${#need[@]})); then
    echo "[docker-up] installing: ${need[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || return 1
  fi
  command -v docker >/dev/null || { echo "[docker-up] no docker CLI after install" >&2; return 1; }

  bash "$root/local/start-docker.sh" </dev/null || return 1

  export SAM_LOCAL_OFFLINE=1
  export STANDIN_IMAGE="${STANDIN_IMAGE:-sentiment-standin/python:3.13-x86_64}"
  export REDIS_IMAGE="${REDIS_IMAGE:-sentiment-standin/redis:trixie}"
  export SAM_CLI_TELEMETRY=0
  local t0=$SECONDS
  STANDIN_IMAGE="$STANDIN_IMAGE" REDIS_IMAGE="$REDIS_IMAGE" bash "$root/local/build-standin-image.sh" </dev/null || return 1
  docker image inspect "$STANDIN_IMAGE" "$REDIS_IMAGE" >/dev/null || return 1
  echo "[docker-up] ready in $((SECONDS - t0)) s: SAM_LOCAL_OFFLINE=1 STANDIN_IMAGE=$STANDIN_IMAGE REDIS_IMAGE=$REDIS_IMAGE" >&2
}
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  _docker_up
else
  _docker_up || { echo "[docker-up] FAILED" >&2; return 1; }
fi
