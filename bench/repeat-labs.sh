#!/usr/bin/env bash
# Runs each lab N times in a row (default 20) and prints pass/fail counts per lab: the flakiness
# figures of the README. Usage: bench/repeat-labs.sh [-n N] [lab ...]   (default: every lab in labs/)
# Needs a built tree (npx tsc -p tsconfig.json) and a Docker engine. Failing run folders are kept
# under $RUNS_DIR (default: a new temp folder) so a flaky verdict can be read afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

n=20
while getopts "n:" opt; do
  case "$opt" in
    n) n="$OPTARG" ;;
    *) echo "usage: $0 [-n N] [lab ...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if ! [[ "$n" =~ ^[1-9][0-9]*$ ]]; then echo "-n takes a whole number ≥ 1, received \"$n\"" >&2; exit 2; fi

if [ "$#" -gt 0 ]; then
  labs=("$@")
else
  labs=()
  for file in labs/*.yaml; do labs+=("$(basename "$file" .yaml)"); done
fi
runs_dir="${RUNS_DIR:-$(mktemp -d /tmp/tcplab-repeat-XXXXXX)}"

printf '%-20s %5s %5s %5s %9s  %s\n' lab runs pass fail "mean s" "failed run folders"
total_fail=0
for lab in "${labs[@]}"; do
  pass=0 fail=0 total_ms=0 failed_dirs=""
  for ((i = 1; i <= n; i++)); do
    start=$(date +%s%3N)
    if out=$(node bin/tcplab.js run "$lab" --json --runs-dir "$runs_dir" 2>/dev/null); then
      pass=$((pass + 1))
    else
      fail=$((fail + 1))
      dir=$(printf '%s' "$out" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).labs[0].runDir)}catch{console.log("(no verdict)")}})')
      failed_dirs="$failed_dirs $dir"
    fi
    total_ms=$((total_ms + $(date +%s%3N) - start))
  done
  total_fail=$((total_fail + fail))
  printf '%-20s %5d %5d %5d %9.1f %s\n' "$lab" "$n" "$pass" "$fail" "$(awk -v t="$total_ms" -v n="$n" 'BEGIN { print t / n / 1000 }')" "$failed_dirs"
done
echo "run folders: $runs_dir"
[ "$total_fail" -eq 0 ]
