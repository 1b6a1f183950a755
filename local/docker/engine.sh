#!/usr/bin/env bash
# engine.sh start|stop: make a Docker engine reachable for `make test-docker`, and stop only what it started.
# start: uses a reachable engine as is; otherwise, as root on Debian, installs docker.io if needed and starts
#        dockerd, remembering its pid in .local/dockerd.pid. stop: ends that dockerd by pid (and nothing else).
set -euo pipefail
cd "$(dirname "$0")/../.."
PIDFILE=.local/dockerd.pid
LOG=.local/logs/dockerd.log

start() {
  if docker info >/dev/null 2>&1; then
    echo "==> [docker] using the reachable engine ($(docker info --format '{{.ServerVersion}}'))"
    return 0
  fi
  if [ "$(id -u)" != 0 ] || [ ! -f /etc/debian_version ]; then
    echo "ERROR: no Docker engine is reachable." >&2
    echo "  next: start Docker (or run as root on Debian, where this script installs and starts docker.io)" >&2
    exit 2
  fi
  if ! command -v dockerd >/dev/null; then
    echo "==> [docker] installing docker.io (apt, ~20 s)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
  fi
  mkdir -p .local/logs
  echo "==> [docker] starting dockerd (log: $LOG)"
  dockerd >"$LOG" 2>&1 &
  echo $! > "$PIDFILE"
  for _ in $(seq 1 120); do
    if docker info >/dev/null 2>&1; then
      echo "    dockerd $(docker info --format '{{.ServerVersion}}') ready (pid $(cat "$PIDFILE"))"
      return 0
    fi
    if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
      echo "ERROR: dockerd exited while starting:" >&2; tail -20 "$LOG" >&2
      rm -f "$PIDFILE"; exit 2
    fi
    sleep 0.5
  done
  echo "ERROR: dockerd did not answer within 60 s (see $LOG)" >&2
  exit 2
}

stop() {
  [ -f "$PIDFILE" ] || return 0
  local pid
  pid=$(cat "$PIDFILE")
  if kill -0 "$pid" 2>/dev/null; then
    echo "==> [docker] stopping the dockerd this run started (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$PIDFILE"
}

"$@"
