#!/usr/bin/env bash
# compare-run.sh OLD NEW [ROUNDS] — times `stageflow run` as whole processes
# for two binaries, interleaved round by round so that the machine's slow
# spells hit both alike: a chain of 20 sequential Commands actions and a
# fan-out of 20 parallel ones, each run in a fresh data directory. Prints
# the median and the range of the wall times per binary and pipeline.
set -euo pipefail
old=$1 new=$2 rounds=${3:-10}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import json, sys
d = sys.argv[1]
def act(n, ro):
    return {"name": n, "runOrder": ro, "commands": ["true"],
            "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}}
for name, orders in (("chain20", range(1, 21)), ("fan20", [1] * 20)):
    doc = {"name": name, "stages": [{"name": "S", "actions": [act("A%d" % i, ro) for i, ro in enumerate(orders, 1)]}]}
    json.dump(doc, open("%s/%s.json" % (d, name), "w"))
PY
declare -A times
for ((i = 0; i < rounds; i++)); do
  for p in chain20 fan20; do
    for b in old new; do
      bin=$old; [[ $b == new ]] && bin=$new
      dir="$work/data-$b-$p-$i"
      start=$(date +%s%N)
      "$bin" run --data-dir "$dir" "$work/$p.json" >/dev/null
      end=$(date +%s%N)
      times[$b-$p]+="$(( (end - start) / 1000000 )) "
      rm -rf "$dir"
    done
  done
done
for p in chain20 fan20; do
  for b in old new; do
    sorted=$(tr ' ' '\n' <<<"${times[$b-$p]}" | grep . | sort -n)
    n=$(wc -l <<<"$sorted")
    median=$(sed -n "$(( (n + 1) / 2 ))p" <<<"$sorted")
    printf '%-8s %-4s median %5d ms  range %s–%s ms  (%d runs)\n' "$p" "$b" "$median" "$(head -1 <<<"$sorted")" "$(tail -1 <<<"$sorted")" "$n"
  done
done
