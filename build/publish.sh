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

# Both binaries are NativeAOT (issue 15): one native file each that needs no .NET runtime, no JIT and no type loading
# from metadata, so they start in a fraction of a JIT build's time and idle at a fraction of its memory
# (docs/benchmarks.md, "Issue 15: ip2service footprint" and "Issue 15: iam4kube NativeAOT"). Only the publish is
# AOT: `dotnet build`, `dotnet run` and the tests stay JIT, while the csproj files run the trim/AOT analyzers (and, for
# iam4kube, the request delegate generator) in every build, so what AOT cannot compile fails there first. One folder
# per binary, so their outputs never overwrite each other.
publish() {
  local project=$1 name=$2
  shift 2
  dotnet publish "src/$project/$project.csproj" \
    --configuration Release \
    --output "$out/$name" \
    -p:PublishAot=true \
    -p:DebugType=none \
    -p:PublishDocumentationFile=false \
    -p:IsWebConfigTransformDisabled=true \
    "$@"
  test -x "$out/$name/$name" || { echo "publish.sh: $out/$name/$name was not produced" >&2; exit 1; }
  # Checked where it can run (same architecture): a trimming or AOT defect shows here, not on a node.
  case "$(uname -m):$(od -An -tx1 -j18 -N1 "$out/$name/$name" | tr -d ' ')" in
    x86_64:3e | aarch64:b7)
      "$out/$name/$name" --version >/dev/null || { echo "publish.sh: the NativeAOT $name does not run" >&2; exit 1; } ;;
  esac
}

# NativeAOT needs a C toolchain (clang or gcc) and zlib's headers on the build machine.
if ! { command -v clang || command -v gcc; } >/dev/null 2>&1 || [ ! -e /usr/include/zlib.h ]; then
  echo "publish.sh: NativeAOT needs clang or gcc and zlib's headers; installing clang and zlib1g-dev (Debian packages)" >&2
  sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
  # A fresh machine has no package lists yet: install fails with "Unable to locate package" until they are read.
  $sudo apt-get update -qq && $sudo apt-get install -y -qq clang zlib1g-dev >/dev/null
fi
publish Ip2Service ip2service "$@"
publish Iam4Kube iam4kube "$@"
