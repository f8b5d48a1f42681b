#!/usr/bin/env bash
# Benchmark: `tcplab verify <capture>` against `tshark -r FILE -q -z conv,tcp` on the same
# synthetic capture (≥ 1 million TCP packets in 10,000 connections, 200 open at a time).
# Prints wall time, packets/s and peak memory (max RSS from /usr/bin/time) of both, best of N runs.
# Needs: tshark and /usr/bin/time (apt-get install -y tshark time). Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
capture=${CAPTURE:-/tmp/tcplab-bench.pcap}
runs=${RUNS:-3}
[ -f "$capture" ] || node bench/make-capture.mjs "$capture" 10000 101 200 >&2
packets=$(node -e "import('./dist/observe/capture-decoder.js').then(async m => { const s = await m.decodeCaptureFile(process.argv[1], () => {}); console.log(s.tcpSegments) })" "$capture")

timing=$(mktemp)
trap 'rm -f "$timing"' EXIT
measure() { # name, command…: best wall time and its peak RSS over $runs runs
  local name=$1; shift
  local best_s="" best_kib=""
  for _ in $(seq 1 "$runs"); do
    /usr/bin/time -o "$timing" -f "%e %M" "$@" >/dev/null 2>&1
    read -r s kib < "$timing"
    if [ -z "$best_s" ] || awk "BEGIN{exit !($s < $best_s)}"; then best_s=$s; best_kib=$kib; fi
  done
  printf '%-8s %8.2f s %12.0f packets/s %8.0f MiB peak\n' "$name" "$best_s" "$(awk "BEGIN{print $packets/$best_s}")" "$(awk "BEGIN{print $best_kib/1024}")"
  eval "${name}_s=$best_s ${name}_kib=$best_kib"
}

echo "capture: $capture ($packets TCP packets), best of $runs runs"
measure tcplab node bin/tcplab.js verify "$capture" --json
measure tshark tshark -r "$capture" -q -z conv,tcp
awk "BEGIN{printf \"tcplab/tshark: %.1fx the packet rate, %.0f%% of the peak memory\n\", $tshark_s/$tcplab_s, 100*$tcplab_kib/$tshark_kib}"
