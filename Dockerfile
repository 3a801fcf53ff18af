# syntax=docker/dockerfile:1
# ccm image: the official Deno image compiles the binary from the committed lock file; a distroless, non-root
# image runs it. `deno compile` output links glibc and libgcc, hence distroless/cc rather than static.
ARG DENO_VERSION=2.9.6

FROM denoland/deno:${DENO_VERSION} AS build
ARG VERSION=v0.1.0-dev
# Set by BuildKit for the platform being built (amd64 or arm64).
ARG TARGETARCH=amd64
WORKDIR /src
COPY deno.json deno.lock ./
RUN deno install --frozen
COPY . .
RUN printf '/** Version of this build; written by the Dockerfile. */\nexport const VERSION = "%s";\n' "$VERSION" \
      > provider/version.ts \
 && case "$TARGETARCH" in \
      amd64) target=x86_64-unknown-linux-gnu ;; \
      arm64) target=aarch64-unknown-linux-gnu ;; \
      *) echo "unsupported TARGETARCH '$TARGETARCH'; use amd64 or arm64" >&2; exit 1 ;; \
    esac \
 && deno compile --allow-all --frozen --v8-flags="$(tr -d '[:space:]' < .ci/v8-flags)" --target "$target" \
      --include fake_api/console --output /out/cloud-provider-equinix-metal main.ts

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/cloud-provider-equinix-metal /cloud-provider-equinix-metal
WORKDIR /
USER nonroot:nonroot
# Upstream manifests run "./cloud-provider-equinix-metal --cloud-provider=..."; `run` is the default command.
ENTRYPOINT ["/cloud-provider-equinix-metal"]
