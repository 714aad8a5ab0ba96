# syntax=docker/dockerfile:1
# One image, two binaries:
#   /app/iam4kube/iam4kube      the metadata API (deploy/base/iam4kube-deployment.yaml)
#   /app/ip2service/ip2service  the node router  (deploy/base/ip2service-daemonset.yaml)
# There is no ENTRYPOINT: each workload sets `command` to the binary it runs.
#
#   docker build -t iam4kube:dev .
#
# .NET 10 images are Ubuntu 24.04 ("noble") based; Microsoft publishes no Debian images for .NET 10. The tag
# names the distro so that a change of default cannot change the image under us.

# Build on the target's architecture (docker buildx --platform ...; emulated when it is not the builder's): ip2service
# and iam4kube are published with NativeAOT, which links a native binary with the C toolchain of the architecture it runs on.
FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS build
ARG TARGETARCH
# NativeAOT's linker and the zlib it links against (build/publish.sh, both binaries).
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src

# Restore first, from the project files alone, so that a change of source does not download packages again.
COPY global.json nuget.config Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Iam4Kube.Shared/Iam4Kube.Shared.csproj src/Iam4Kube.Shared/
COPY src/Iam4Kube/Iam4Kube.csproj src/Iam4Kube/
COPY src/Ip2Service/Ip2Service.csproj src/Ip2Service/
RUN dotnet restore src/Iam4Kube/Iam4Kube.csproj -a "$TARGETARCH" -p:PublishAot=true \
 && dotnet restore src/Ip2Service/Ip2Service.csproj -a "$TARGETARCH" -p:PublishAot=true

# The same script CI runs (build/publish.sh), so the image cannot build differently from CI.
# The build context has no .git folder: the commit that `--version` prints comes from this argument
# (docker build --build-arg SOURCE_REVISION=$(git rev-parse HEAD) .).
ARG SOURCE_REVISION=
COPY . .
RUN ./build/publish.sh /out -a "$TARGETARCH" ${SOURCE_REVISION:+-p:SourceRevisionId=$SOURCE_REVISION}

# Both binaries are NativeAOT (iam4kube since issue 15's session 6): no .NET runtime in the image, only what
# runtime-deps holds (glibc, OpenSSL for TLS to the API server and STS; ICU not even: invariant globalization).
FROM mcr.microsoft.com/dotnet/runtime-deps:10.0-noble AS runtime
# ip2service runs iptables-{nft,legacy}-{save,restore}; Ubuntu's iptables package ships both backends. nft lets
# `ip2service clean` remove the empty filter and nat tables iptables-nft created for it (iptables cannot).
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables nftables \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out /app
# Both binaries pick their listeners from their own flags (--listen, --admin-listen); the base image's default
# of port 8080 would only add a warning.
ENV ASPNETCORE_HTTP_PORTS=
# Non-root by default. The ip2service DaemonSet overrides this with uid 0 and only NET_ADMIN and NET_RAW: the
# iptables programs need those capabilities in their effective set, which Kubernetes cannot give a non-root
# process across exec (docs/operations.md, "Security").
USER 65532:65532
WORKDIR /app
