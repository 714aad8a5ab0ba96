#!/usr/bin/env bash
# Cost of ip2service's periodic check (what RuleSyncer runs every --resync-interval per family): iptables-save of
# the filter and nat tables, in a throwaway network namespace holding N kube-proxy-like nat rules besides
# ip2service's own. Prints mean wall time and CPU (user+sys of the save processes) per check. Needs root.
set -euo pipefail
runs=${RUNS:-30}
for backend in nft legacy; do
  for rules in 0 2000 20000; do
    ns="i4k-bench-$$"
    ip netns add "$ns"
    trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
    {
      echo '*nat'
      echo ':KUBE-SERVICES - [0:0]'
      for ((i = 0; i < rules; i++)); do
        echo "-A KUBE-SERVICES -d 10.96.$((i / 250)).$((i % 250 + 1))/32 -p tcp -m tcp --dport 443 -j RETURN"
      done
      echo '-A PREROUTING -j KUBE-SERVICES'
      echo 'COMMIT'
    } | ip netns exec "$ns" "iptables-$backend-restore" --noflush
    start=$(date +%s%N)
    cpu=$( { ip netns exec "$ns" /usr/bin/time -f '%U %S' bash -c "for ((r = 0; r < $runs; r++)); do
        iptables-$backend-save -t filter >/dev/null
        iptables-$backend-save -t nat >/dev/null
      done" ; } 2>&1 | tail -1)
    end=$(date +%s%N)
    awk -v b="$backend" -v n="$rules" -v w="$((end - start))" -v c="$cpu" -v r="$runs" 'BEGIN {
      split(c, t, " "); printf "%-6s %6d nat rules: %7.2f ms wall, %6.2f ms CPU per check\n", b, n, w / r / 1e6, (t[1] + t[2]) * 1000 / r }'
    ip netns del "$ns"
    trap - EXIT
  done
done
