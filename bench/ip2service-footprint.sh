#!/usr/bin/env bash
# ip2service's resident memory, idle, following one Service's EndpointSlices (two slices, three endpoints) served by
# the fake kube-apiserver, with ip2service in its own network namespace: the JIT build (framework-dependent, as
# before issue 15) next to the NativeAOT build that build/publish.sh now ships. Prints one line per build and runtime
# setting (RSS once it has settled, peak RSS, start → ready), and where the AOT build's memory is. Needs root.
#
# Usage: bench/ip2service-footprint.sh [OUT]   (OUT: where the builds go, default a temporary directory)
#   JIT_DIR=... AOT_DIR=...  use builds published earlier instead of publishing them again.
#   BEFORE_AOT_DIR=...       also measure an earlier NativeAOT build (e.g. main's, before a change) in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d)}

jit=${JIT_DIR:-$out/jit}
aot=${AOT_DIR:-$out/aot}
common=(--configuration Release -p:DebugType=none -p:PublishDocumentationFile=false -p:IsWebConfigTransformDisabled=true)
if [ -z "${JIT_DIR:-}" ]; then
  # The build as it shipped before issue 15: framework-dependent, Server GC (the Web SDK's default).
  dotnet publish src/Ip2Service/Ip2Service.csproj "${common[@]}" --output "$jit" -p:ServerGarbageCollection=true -p:ConcurrentGarbageCollection=true >/dev/null
fi
if [ -z "${AOT_DIR:-}" ]; then
  start=$(date +%s)
  dotnet publish src/Ip2Service/Ip2Service.csproj "${common[@]}" --output "$aot" -p:PublishAot=true >/dev/null
  echo "NativeAOT publish: $(( $(date +%s) - start )) s, binary $(du -m "$aot/ip2service" | cut -f1) MiB"
fi
dotnet build bench/Ip2Service.Footprint --configuration Release >/dev/null
tool=(dotnet bench/Ip2Service.Footprint/bin/Release/net10.0/Ip2Service.Footprint.dll)

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
"${tool[@]}" --label "JIT, Server GC (before)" --dll "$jit/ip2service.dll"
"${tool[@]}" --label "JIT, workstation GC" --dll "$jit/ip2service.dll" --env DOTNET_gcServer=0
"${tool[@]}" --label "JIT, workstation non-concurrent GC" --dll "$jit/ip2service.dll" --env DOTNET_gcServer=0 --env DOTNET_gcConcurrent=0
"${tool[@]}" --label "JIT, + W^X off" --dll "$jit/ip2service.dll" --env DOTNET_gcServer=0 --env DOTNET_gcConcurrent=0 --env DOTNET_EnableWriteXorExecute=0
"${tool[@]}" --label "JIT, + TieredCompilation off" --dll "$jit/ip2service.dll" --env DOTNET_gcServer=0 --env DOTNET_gcConcurrent=0 --env DOTNET_TieredCompilation=0
if [ -n "${BEFORE_AOT_DIR:-}" ]; then
  "${tool[@]}" --label "NativeAOT (before)" --exe "$BEFORE_AOT_DIR/ip2service" --smaps
fi
"${tool[@]}" --label "NativeAOT (shipped)" --exe "$aot/ip2service" --smaps
