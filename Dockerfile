# Parley: a static binary on distroless (issue 6, docs/OPERATIONS.md).
#
#   docker build -t parley .
#   docker run -p 8080:8080 -v parley-data:/data -e PARLEY_JWT_SECRET=$(openssl rand -hex 32) parley
#
# SQLite is modernc's pure-Go driver, so CGO_ENABLED=0 builds everything.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/parley ./server \
 && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/probe ./server/probe \
 && mkdir -p /out/data/uploads

# static-debian12 holds CA certificates (S3, GCS, the SMS webhook), tzdata
# and the nonroot user (65532); no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/parley /out/probe /usr/local/bin/
COPY --from=build --chown=65532:65532 /out/data /data
ENV PARLEY_ADDR=:8080 \
    PARLEY_DATA_DIR=/data \
    PARLEY_UPLOAD_DIR=/data/uploads \
    PARLEY_PRODUCTION=true
# SQLite database, uploads (without PARLEY_STORAGE_URL).
VOLUME /data
# 8080: the API. 9090: /metrics when PARLEY_METRICS_ADDR=:9090.
EXPOSE 8080 9090
USER nonroot:nonroot
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["/usr/local/bin/probe"]
ENTRYPOINT ["/usr/local/bin/parley"]
