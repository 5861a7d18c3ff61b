#!/usr/bin/env bash
# Kills a training run with SIGKILL at N random instants (default 20) and resumes it each time from
# what is on disk (the checkpoint, or from the start when it was killed before the first one), until
# it finishes; its weights must equal those of the same run left alone, bit for bit.
#   bash bench/kill-resume.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
dotnet build src/LeNet.Cli -c Release -nologo -v q >/dev/null
lenet() { dotnet src/LeNet.Cli/bin/Release/net10.0/LeNet.Cli.dll "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run=(--epochs 4 --limit 12800 --seed 5 --threads 2)
start=$(date +%s.%N)
lenet train "${run[@]}" --out "$work/ref.lenet" >/dev/null
length=$(python3 -c "import time; print(round(time.time() - $start, 2))")
params() {   # the bytes of a model file's "parameters" section
  python3 - "$1" <<'PY'
import struct, sys, hashlib
d = open(sys.argv[1], 'rb').read(); p = 16
h = struct.unpack_from('<I', d, p)[0]; p += 4 + h
count = struct.unpack_from('<I', d, p)[0]; p += 4
for _ in range(count):
    nl = struct.unpack_from('<I', d, p)[0]; name = d[p + 4:p + 4 + nl].decode(); p += 4 + nl
    c = struct.unpack_from('<I', d, p)[0]; p += 4
    if name == 'parameters': print(hashlib.sha256(d[p:p + 4 * c]).hexdigest())
    p += 4 * c
PY
}
ref=$(params "$work/ref.lenet")
echo "uninterrupted run: ${length} s, parameters sha256 ${ref:0:16}"
same=0
for i in $(seq 1 "$n"); do
  rm -f "$work"/k.*
  at=$(python3 -c "import random; print(round(random.uniform(0.2, $length), 2))")
  ( timeout -s KILL "$at" dotnet src/LeNet.Cli/bin/Release/net10.0/LeNet.Cli.dll train "${run[@]}" --out "$work/k.lenet" >/dev/null 2>&1 ) 2>/dev/null || true
  resumes=0
  if [ -f "$work/k.ckpt" ]; then lenet train --resume "$work/k.ckpt" --out "$work/k.lenet" >/dev/null; resumes=1
  else lenet train "${run[@]}" --out "$work/k.lenet" >/dev/null; fi
  got=$(params "$work/k.lenet")
  stale=$(find "$work" -name '*.tmp' | wc -l)
  if [ "$got" = "$ref" ] && [ "$stale" -eq 0 ]; then same=$((same + 1)); verdict=identical; else verdict="DIFFERENT ($got, $stale temp files)"; fi
  echo "kill $i at ${at} s: $([ $resumes -eq 1 ] && echo resumed from the checkpoint || echo no checkpoint yet, started again): $verdict"
done
echo "$same of $n killed runs finished with the uninterrupted run's weights"
[ "$same" -eq "$n" ]
