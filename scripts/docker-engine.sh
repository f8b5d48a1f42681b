#!/usr/bin/env bash
# Makes sure a Docker engine is running, without assuming one exists.
#   docker-engine.sh start   install Debian's docker.io if dockerd is missing (root, Debian/Ubuntu),
#                            start dockerd in the background if no engine answers, wait for the socket
#   docker-engine.sh stop    stop the dockerd this script started (and only that one)
#   docker-engine.sh status  say whether an engine answers
set -euo pipefail
state_dir=${TCPLAB_STATE_DIR:-/var/run/tcplab}
pidfile="$state_dir/dockerd.pid"
logfile="$state_dir/dockerd.log"

engine_answers() { docker info >/dev/null 2>&1; }

install_engine() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "docker-engine: dockerd is not installed and installing it needs root: sudo $0 start" >&2
    exit 3
  fi
  if ! command -v apt-get >/dev/null; then
    echo "docker-engine: dockerd is not installed and this is not a Debian/Ubuntu system; install Docker Engine by hand" >&2
    exit 3
  fi
  echo "docker-engine: installing Debian's docker.io" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
}

start() {
  if engine_answers; then
    echo "docker-engine: an engine is already running" >&2
    return 0
  fi
  command -v dockerd >/dev/null || install_engine
  if [ "$(id -u)" -ne 0 ]; then
    echo "docker-engine: no engine answers and starting dockerd needs root: sudo $0 start" >&2
    exit 3
  fi
  mkdir -p "$state_dir"
  echo "docker-engine: starting dockerd (log: $logfile)" >&2
  nohup dockerd >"$logfile" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    if engine_answers; then
      echo "docker-engine: engine ready" >&2
      return 0
    fi
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "docker-engine: dockerd exited; last lines of $logfile:" >&2
      tail -20 "$logfile" >&2
      exit 1
    fi
    sleep 0.5
  done
  echo "docker-engine: dockerd did not answer within 60 s; see $logfile" >&2
  exit 1
}

stop() {
  if [ ! -f "$pidfile" ]; then
    echo "docker-engine: no dockerd started by this script" >&2
    return 0
  fi
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -f "$pidfile"
  echo "docker-engine: stopped" >&2
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if engine_answers; then echo "running"; else echo "not running"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
