#!/usr/bin/env bash
# Build the OFFLINE Lambda python3.13 image MiniStack runs functions in (the deploy rehearsal,
# local/ministack/), for machines that cannot reach public.ecr.aws. With internet you do NOT need
# this: MiniStack pulls public.ecr.aws/lambda/python:3.13 itself.
#
#   local/build-ministack-image.sh            # build (or reuse, cached by content hash)
#   local/build-ministack-image.sh --print    # only print the image name
#
# Produces $MINISTACK_IMAGE_PREFIX/public.ecr.aws/lambda/python:3.13 (default prefix
# sentiment-ministack): MiniStack maps runtime python3.13 to public.ecr.aws/lambda/python:3.13 and
# prepends MINISTACK_IMAGE_PREFIX (its own setting, meant for registry mirrors), so the launcher
# sets that variable and no image of the public name is ever shadowed.
#
# How: FROM the stand-in python3.13 image (local/build-standin-image.sh: Debian trixie, Python 3.13,
# awslambdaric, /var/runtime/bootstrap) plus the Lambda runtime interface emulator that ships inside
# the SAM CLI package (samcli/local/rapid/), as the entrypoint the real image has:
# MiniStack starts a Zip function's container with the handler as its command and invokes it on :8080.
set -euo pipefail

STANDIN_IMAGE="${STANDIN_IMAGE:-sentiment-standin/python:3.13-x86_64}"
MINISTACK_IMAGE_PREFIX="${MINISTACK_IMAGE_PREFIX:-sentiment-ministack}"
IMAGE="$MINISTACK_IMAGE_PREFIX/public.ecr.aws/lambda/python:3.13"

if [[ "${1:-}" == "--print" ]]; then
  echo "MINISTACK_LAMBDA_IMAGE=$IMAGE"
  exit 0
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
log() { echo "[ministack-image] $*" >&2; }

[[ "$(uname -m)" == "x86_64" ]] || { log "built for x86_64 only (this host: $(uname -m))"; exit 2; }
command -v docker >/dev/null || { log "docker CLI missing"; exit 2; }
docker info >/dev/null 2>&1 || { log "docker engine not reachable (run local/start-docker.sh)"; exit 2; }
base_id="$(docker image inspect -f '{{.Id}}' "$STANDIN_IMAGE" 2>/dev/null)" \
  || { log "stand-in image $STANDIN_IMAGE missing: run local/build-standin-image.sh"; exit 2; }

# The RIE binary of the installed SAM CLI (.venv-sam), the one `sam local` uses too.
SAM_PYTHON="${SAM_PYTHON:-$root/.venv-sam/bin/python}"
rie="$("$SAM_PYTHON" -c 'import pathlib, samcli; print(pathlib.Path(samcli.__file__).parent / "local/rapid/aws-lambda-rie-x86_64")')" \
  || { log "SAM CLI not importable with $SAM_PYTHON (make venv)"; exit 2; }
[[ -x "$rie" ]] || { log "no RIE binary at $rie"; exit 2; }

# Cache key: this script, the base image, the RIE. Rerunning with nothing changed is a no-op.
key="$({ cat "${BASH_SOURCE[0]}"; echo "$base_id"; sha256sum <"$rie"; } | sha256sum | cut -c1-16)"
label=org.sentiment.standin-key
if [[ "$(docker image inspect -f "{{ index .Config.Labels \"$label\" }}" "$IMAGE" 2>/dev/null || true)" == "$key" ]]; then
  log "up to date: $IMAGE (key $key)"; exit 0
fi

work="$(mktemp -d /var/tmp/ministack-image.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cp "$rie" "$work/aws-lambda-rie"
cat >"$work/Dockerfile" <<EOF
FROM $STANDIN_IMAGE
COPY aws-lambda-rie /var/rapid/aws-lambda-rie
RUN chmod 0755 /var/rapid/aws-lambda-rie
ENTRYPOINT ["/var/rapid/aws-lambda-rie", "/var/runtime/bootstrap"]
LABEL $label=$key org.sentiment.standin-for=public.ecr.aws/lambda/python:3.13
EOF
old_id="$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
log "building $IMAGE"
DOCKER_BUILDKIT=0 docker build -q -t "$IMAGE" "$work" >/dev/null
# the previous build of this tag, now untagged (only that one: other sessions may share the engine)
[[ -z "$old_id" ]] || docker rmi "$old_id" >/dev/null 2>&1 || true
log "done: $IMAGE (key $key)"
