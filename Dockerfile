# The release image: the static entrasync binary on distroless/static, which
# carries CA certificates and a non-root user and nothing else. goreleaser
# builds it from the binary of each platform (.goreleaser.yaml, dockers_v2);
# to build one by hand, put a CGO_ENABLED=0 linux binary at
# linux/<arch>/entrasync first.
FROM gcr.io/distroless/static-debian12:nonroot
ARG TARGETPLATFORM
COPY ${TARGETPLATFORM}/entrasync /usr/local/bin/entrasync
USER nonroot:nonroot
WORKDIR /spec
ENTRYPOINT ["/usr/local/bin/entrasync"]
