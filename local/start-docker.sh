#!/usr/bin/env bash
# Start the Docker engine if it is not answering (machines without systemd, e.g. CI here).
# Default networking (docker0 bridge, iptables NAT, userland proxy): SAM must reach the
# function container's published port. Detached, with inherited fds closed so a caller
# reading our output through a pipe is not kept waiting by the daemon.
set -euo pipefail
log() { echo "[docker] $*" >&2; }

if docker info >/dev/null 2>&1; then
  log "engine already running"; exit 0
fi
command -v dockerd >/dev/null || { log "dockerd missing: apt-get install -y docker.io iptables"; exit 2; }
[[ "$(id -u)" == 0 ]] || { log "starting dockerd needs root"; exit 2; }

logfile="${DOCKERD_LOG:-/var/log/dockerd.log}"
log "starting dockerd (log: $logfile)"
# in a subshell: close every inherited descriptor above 2, then detach into its own session
(
  for fd in /proc/self/fd/*; do
    fd="${fd##*/}"
    [[ "$fd" -gt 2 ]] && eval "exec $fd>&-" 2>/dev/null || true
  done
  exec setsid dockerd </dev/null >"$logfile" 2>&1
) &
disown 2>/dev/null || true

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then log "engine ready"; exit 0; fi
  sleep 1
done
log "dockerd did not answer within 60 s; last log lines:"; tail -n 20 "$logfile" >&2
exit 1
