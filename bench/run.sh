#!/usr/bin/env bash
# Runs the iam4kube benchmarks (issue 6) in Release and prints a table of figures with their baselines.
#   bench/run.sh            full run (5 repetitions of 10 s, 3 scale runs); about 16 minutes on 2 CPUs
#   bench/run.sh --quick    shorter run (3 repetitions of 4 s, 1 scale run); about 5 minutes
#   bench/run.sh --only 1,2 run only some scenarios (1 warm GET, 2 fixed rate, 3 SDK flow, 4 wake-up, 5 scale, 6 STS,
#                           7 token door, 8 footprint of the published build (with ip2service's idle RSS when
#                           run as root); 9 large scale, 100,000 pods and
#                           10,000 roles, runs only when named: it takes minutes)
# Extra arguments go to the bench program; --markdown FILE also writes the table to FILE;
# --iam4kube PATH runs scenarios 1-4 against another build (a published apphost OUT/iam4kube/iam4kube too);
# --iam4kube-env KEY=VALUE (repeatable) sets a variable for iam4kube only (DOTNET_TieredPGO=0, say), not for the
# baseline nor the fakes; --published OUT/iam4kube/iam4kube skips the publish of scenarios 8 and 9.
#
# Scenarios 8 and 9 run the build the image ships: this script publishes it first with build/publish.sh into
# artifacts/bench-publish (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk (Debian package)" >&2
  sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
  # A fresh machine has no package lists yet: install fails with "Unable to locate package" until they are read.
  $sudo apt-get update -qq && $sudo apt-get install -y -qq wrk >/dev/null
fi

# Only what the benchmarks need: the bench project and what it references (iam4kube itself, the test fakes).
dotnet build bench/Iam4Kube.Benchmarks/Iam4Kube.Benchmarks.csproj -c Release -nologo -v quiet -clp:NoSummary >&2

# Scenario 8 (footprint) runs in a full run or when named; 9 only when named.
only= published=
prev=
for arg in "$@"; do
  case "$prev" in
    --only) only=$arg ;;
    --published) published=$arg ;;
  esac
  prev=$arg
done
extra=()
if [ -z "$published" ] && { [ -z "$only" ] || [[ ",$only," =~ ,(8|9), ]]; }; then
  echo "publishing the image's build (build/publish.sh) into artifacts/bench-publish" >&2
  build/publish.sh artifacts/bench-publish -nologo -v quiet -clp:NoSummary >&2
  extra=(--published artifacts/bench-publish/iam4kube/iam4kube)
fi

status=0
dotnet bench/Iam4Kube.Benchmarks/bin/Release/net10.0/Iam4Kube.Benchmarks.dll run \
  --iam4kube src/Iam4Kube/bin/Release/net10.0/iam4kube.dll "${extra[@]}" "$@" || status=$?

# Scenario 8's ip2service row: the shipped (NativeAOT) ip2service idle, following one Service, in its own network
# namespace (root only; bench/ip2service-footprint.sh compares it with the JIT build and each runtime setting).
publish_out=${published:+$(dirname "$(dirname "$published")")}
publish_out=${publish_out:-artifacts/bench-publish}
if { [ ${#extra[@]} -gt 0 ] || [ -n "$published" ]; } && [ -x "$publish_out/ip2service/ip2service" ] && [ "$(id -u)" -eq 0 ]; then
  dotnet build bench/Ip2Service.Footprint -c Release -nologo -v quiet -clp:NoSummary >&2
  echo "[8] ip2service idle RSS, the shipped NativeAOT build (target <= 25 MiB); load $(cut -d' ' -f1-3 /proc/loadavg)"
  dotnet bench/Ip2Service.Footprint/bin/Release/net10.0/Ip2Service.Footprint.dll \
    --label "ip2service NativeAOT (shipped)" --exe "$publish_out/ip2service/ip2service" || status=$?
fi
exit $status
