#!/usr/bin/env bash
# Publishes both binaries in Release, exactly as the container image ships them:
#   OUT/iam4kube/iam4kube     the metadata API (Deployment)
#   OUT/ip2service/ip2service the node router (DaemonSet)
# The Dockerfile runs this script, and so does CI, so a change that breaks the image's build breaks CI first.
#
# Usage: build/publish.sh OUT [extra dotnet publish arguments...]
set -euo pipefail

if [ $# -lt 1 ] || [ -z "$1" ]; then
  echo "usage: $0 OUT [extra dotnet publish arguments...]" >&2
  exit 2
fi
out=$1
shift
cd "$(dirname "$0")/.."

# Framework-dependent (the image's base holds the ASP.NET Core runtime), one folder per binary so their
# dependency files never overwrite each other.
publish() {
  local project=$1 name=$2
  shift 2
  dotnet publish "src/$project/$project.csproj" \
    --configuration Release \
    --output "$out/$name" \
    -p:DebugType=none \
    -p:PublishDocumentationFile=false \
    -p:IsWebConfigTransformDisabled=true \
    "$@"
  test -x "$out/$name/$name" || { echo "publish.sh: $out/$name/$name was not produced" >&2; exit 1; }
}

# ip2service runs on every node: NativeAOT (issue 15), one native binary that needs no .NET runtime, idle at a fraction
# of the JIT build's memory (docs/benchmarks.md, "Issue 15: ip2service footprint"). Needs a C toolchain (clang or
# gcc) and zlib's headers on the build machine.
if ! { command -v clang || command -v gcc; } >/dev/null 2>&1 || [ ! -e /usr/include/zlib.h ]; then
  echo "publish.sh: NativeAOT needs clang or gcc and zlib's headers; installing clang and zlib1g-dev (Debian packages)" >&2
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y clang zlib1g-dev >/dev/null; else sudo apt-get install -y clang zlib1g-dev >/dev/null; fi
fi
publish Ip2Service ip2service -p:PublishAot=true "$@"
# The AOT binary is checked where it can run (same architecture): a trimming or AOT defect shows here, not on a node.
case "$(uname -m):$(od -An -tx1 -j18 -N1 "$out/ip2service/ip2service" | tr -d ' ')" in
  x86_64:3e | aarch64:b7)
    "$out/ip2service/ip2service" --version >/dev/null || { echo "publish.sh: the NativeAOT ip2service does not run" >&2; exit 1; } ;;
esac
# iam4kube too: NativeAOT (issue 15, docs/benchmarks.md "Issue 15: iam4kube NativeAOT"): no JIT, no type loading
# from metadata and no generated-code heap, so it answers its first credentials request in a fraction of the
# ReadyToRun build's start and idles at a fraction of its memory. Same toolchain as ip2service (checked above). Here,
# not in the csproj: `dotnet build`, `dotnet run` and the tests stay JIT (the csproj runs the trim/AOT analyzers and
# the request delegate generator in every build, so what AOT cannot compile fails there first).
publish Iam4Kube iam4kube -p:PublishAot=true "$@"
case "$(uname -m):$(od -An -tx1 -j18 -N1 "$out/iam4kube/iam4kube" | tr -d ' ')" in
  x86_64:3e | aarch64:b7)
    "$out/iam4kube/iam4kube" --version >/dev/null || { echo "publish.sh: the NativeAOT iam4kube does not run" >&2; exit 1; } ;;
esac
