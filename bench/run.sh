#!/usr/bin/env bash
# Runs the iam4kube benchmarks (issue 6) in Release and prints a table of figures with their baselines.
#   bench/run.sh            full run (5 repetitions of 10 s, 3 scale runs); about 16 minutes on 2 CPUs
#   bench/run.sh --quick    shorter run (3 repetitions of 4 s, 1 scale run); about 5 minutes
#   bench/run.sh --only 1,2 run only some scenarios (1 warm GET, 2 fixed rate, 3 SDK flow, 4 wake-up, 5 scale, 6 STS,
#                           7 token door)
# Extra arguments go to the bench program; --markdown FILE also writes the table to FILE.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk (Debian package)" >&2
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y wrk >/dev/null; else sudo apt-get install -y wrk >/dev/null; fi
fi

# Only what the benchmarks need: the bench project and what it references (iam4kube itself, the test fakes).
dotnet build bench/Iam4Kube.Benchmarks/Iam4Kube.Benchmarks.csproj -c Release -nologo -v quiet -clp:NoSummary >&2
exec dotnet bench/Iam4Kube.Benchmarks/bin/Release/net10.0/Iam4Kube.Benchmarks.dll run \
  --iam4kube src/Iam4Kube/bin/Release/net10.0/iam4kube.dll "$@"
