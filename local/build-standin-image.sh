#!/usr/bin/env bash
# Build OFFLINE stand-ins for the images `sam local` normally pulls from public.ecr.aws,
# for machines that cannot reach any container registry (CI here). On a normal machine
# with internet you do NOT need this: SAM pulls the real Lambda python3.13 image.
#
#   local/build-standin-image.sh            # build (or reuse, cached by content hash)
#   local/build-standin-image.sh --print    # only print the image names
#
# Produces (x86_64 only: the host architecture):
#   $STANDIN_IMAGE  (default sentiment-standin/python:3.13-x86_64)  Lambda python3.13 runtime stand-in
#   $REDIS_IMAGE    (default sentiment-standin/redis:trixie)        redis-server for the docker network
#
# How: debootstrap a Debian trixie minbase rootfs (trixie ships Python 3.13) from the mirror
# configured in this machine's apt sources (override: DEBIAN_MIRROR=...), `docker import` it,
# then add AWS's runtime interface client (awslambdaric, from PyPI) and /var/runtime/bootstrap
# with the legacy builder. Use with:
#   sam local start-api|invoke --invoke-image "$STANDIN_IMAGE" --skip-pull-image
# SAM adds its own runtime interface emulator (RIE) on top, as it does for the real image.
set -euo pipefail

STANDIN_IMAGE="${STANDIN_IMAGE:-sentiment-standin/python:3.13-x86_64}"
REDIS_IMAGE="${REDIS_IMAGE:-sentiment-standin/redis:trixie}"
SUITE=trixie
AWSLAMBDARIC_VERSION=4.2.2
# The Lambda python runtime ships the AWS SDK in /var/runtime; the dependencies layer relies on it
# (botocore is left out of the layer), so the stand-in provides it the same way.
BOTO3_VERSION=1.43.11
PACKAGES=python3,ca-certificates,redis-server

if [[ "${1:-}" == "--print" ]]; then
  echo "STANDIN_IMAGE=$STANDIN_IMAGE"
  echo "REDIS_IMAGE=$REDIS_IMAGE"
  exit 0
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { echo "[standin] $*" >&2; }

if [[ "$(uname -m)" != "x86_64" ]]; then
  log "stand-in images are built for x86_64 only (this host: $(uname -m))"; exit 2
fi
command -v docker >/dev/null || { log "docker CLI missing"; exit 2; }
docker info >/dev/null 2>&1 || { log "docker engine not reachable (run local/start-docker.sh)"; exit 2; }

# Cache key: this script + pinned versions. Rerunning with nothing changed is a no-op.
key="$(cat "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)"
label=org.sentiment.standin-key
have() { [[ "$(docker image inspect -f "{{ index .Config.Labels \"$label\" }}" "$1" 2>/dev/null || true)" == "$key" ]]; }
if have "$STANDIN_IMAGE" && have "$REDIS_IMAGE"; then
  log "up to date: $STANDIN_IMAGE, $REDIS_IMAGE (key $key)"; exit 0
fi

# Debian mirror: read from this machine's apt configuration, never hardcoded.
find_mirror() {
  local f uri
  if [[ -n "${DEBIAN_MIRROR:-}" ]]; then echo "$DEBIAN_MIRROR"; return; fi
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    while read -r uri; do
      uri="${uri%/}"; [[ "$uri" == */debian ]] && { echo "$uri"; return; }
    done < <(awk 'tolower($1)=="uris:" {for (i=2;i<=NF;i++) print $i}' "$f")
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    while read -r uri; do
      uri="${uri%/}"; [[ "$uri" == */debian ]] && { echo "$uri"; return; }
    done < <(awk '$1=="deb" { for (i=2;i<=NF;i++) if ($i !~ /^\[/ && $i !~ /\]$/) { print $i; break } }' "$f")
  done
}
mirror="$(find_mirror)"
[[ -n "$mirror" ]] || { log "no Debian mirror found in apt sources; set DEBIAN_MIRROR"; exit 2; }
command -v debootstrap >/dev/null || { log "debootstrap missing: apt-get install -y debootstrap"; exit 2; }

work="$(mktemp -d /var/tmp/standin.XXXXXX)"
trap 'rm -rf "$work"' EXIT
# the rootfs only depends on the suite and the package list: cached separately (debootstrap is slow)
rootfs_key="$(echo "$SUITE $PACKAGES" | sha256sum | cut -c1-12)"
rootfs_image="sentiment-standin/rootfs:$SUITE-$rootfs_key"

if ! docker image inspect "$rootfs_image" >/dev/null 2>&1; then
  log "debootstrap $SUITE (minbase + $PACKAGES) from $mirror ..."
  t0=$SECONDS
  debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$work/rootfs" "$mirror" \
    >"$work/debootstrap.log" 2>&1 || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
  # Slim: apt lists, docs and caches are not needed at run time.
  rm -rf "$work/rootfs"/var/lib/apt/lists/* "$work/rootfs"/var/cache/apt/*.bin \
         "$work/rootfs"/var/cache/apt/archives/*.deb "$work/rootfs"/usr/share/doc/* \
         "$work/rootfs"/usr/share/man/* "$work/rootfs"/usr/share/locale/*
  tar -C "$work/rootfs" -c . | docker import - "$rootfs_image" >/dev/null
  rm -rf "$work/rootfs"
  log "rootfs imported as $rootfs_image in $((SECONDS - t0)) s"
fi

# awslambdaric (+ boto3) for cp313 manylinux x86_64, installed into /var/runtime (as on Lambda).
log "fetching awslambdaric==$AWSLAMBDARIC_VERSION boto3==$BOTO3_VERSION"
PIP="${PIP:-python3 -m pip}"
$PIP install --quiet --disable-pip-version-check --no-compile --target "$work/ctx/runtime" \
  --only-binary=:all: --python-version 3.13 --implementation cp --abi cp313 \
  --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 \
  "awslambdaric==$AWSLAMBDARIC_VERSION" "boto3==$BOTO3_VERSION"

# The Lambda RIE (added by SAM) runs the first of /var/task/bootstrap, /opt/bootstrap,
# /var/runtime/bootstrap. sys.path order as on Lambda: /var/task, the layer paths, runtime.
cat >"$work/ctx/bootstrap" <<'EOF'
#!/bin/sh
export AWS_EXECUTION_ENV="${AWS_EXECUTION_ENV:-AWS_Lambda_python3.13}"
export LAMBDA_TASK_ROOT="${LAMBDA_TASK_ROOT:-/var/task}"
export LAMBDA_RUNTIME_DIR="${LAMBDA_RUNTIME_DIR:-/var/runtime}"
export PYTHONPATH="$LAMBDA_TASK_ROOT:/opt/python/lib/python3.13/site-packages:/opt/python:$LAMBDA_RUNTIME_DIR"
export PYTHONUNBUFFERED=1
cd "$LAMBDA_TASK_ROOT"
exec /var/lang/bin/python3.13 -m awslambdaric "$_HANDLER"
EOF

cat >"$work/ctx/Dockerfile" <<EOF
FROM $rootfs_image
ENV LANG=C.UTF-8 \\
    PATH=/var/lang/bin:/usr/local/bin:/usr/bin:/bin:/opt/bin \\
    LAMBDA_TASK_ROOT=/var/task \\
    LAMBDA_RUNTIME_DIR=/var/runtime
COPY runtime/ /var/runtime/
COPY bootstrap /var/runtime/bootstrap
RUN chmod 0755 /var/runtime/bootstrap \\
 && mkdir -p /var/lang/bin /var/task /opt \\
 && ln -sf /usr/bin/python3.13 /var/lang/bin/python3.13 \\
 && ln -sf python3.13 /var/lang/bin/python3 \\
 && /var/lang/bin/python3.13 -c "import sys; sys.path.insert(0, '/var/runtime'); import awslambdaric, runtime_client, boto3"
WORKDIR /var/task
LABEL $label=$key org.sentiment.standin-for=public.ecr.aws/lambda/python:3.13-x86_64
EOF
log "building $STANDIN_IMAGE"
DOCKER_BUILDKIT=0 docker build -q -t "$STANDIN_IMAGE" "$work/ctx" >/dev/null

mkdir -p "$work/redis"
cat >"$work/redis/Dockerfile" <<EOF
FROM $rootfs_image
EXPOSE 6379
LABEL $label=$key
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", "", "--appendonly", "no"]
EOF
log "building $REDIS_IMAGE"
DOCKER_BUILDKIT=0 docker build -q -t "$REDIS_IMAGE" "$work/redis" >/dev/null

# SAM derives images from the invoke image (samcli/lambda-python3.13:...); drop stale ones so the
# next `sam local` rebuilds them on top of the new stand-in. Then prune dangling layers.
docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^(samcli/lambda-python3\.13|sentiment-standin/python):.*rapid' \
  | xargs -r docker rmi -f >/dev/null 2>&1 || true
docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^sentiment-standin/rootfs:' | grep -v ":$SUITE-$rootfs_key\$" \
  | xargs -r docker rmi >/dev/null 2>&1 || true
docker image prune -f >/dev/null 2>&1 || true
log "done: $STANDIN_IMAGE, $REDIS_IMAGE (key $key)"
