# syntax=docker/dockerfile:1
# podsleuth image: the watcher (`podsleuth watch`) and the node agent (`podsleuth node serve`).
#   deploy/build-image REGISTRY     (tags REGISTRY/podsleuth:<package version>; docs/deploy.md)
# Debian bookworm base: the node agent's kernel-log fallback uses util-linux `dmesg`, which the
# slim image already has. No runc in here: podsleuth reads runtime errors, it never runs one.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG VERSION=0.1.0
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# Build the wheel, then install it with its dependencies into a venv that the runtime stage
# copies whole: same base image, same interpreter path, no compiler or build deps shipped.
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /dist . \
 && python -m venv /opt/podsleuth \
 && /opt/podsleuth/bin/pip install --no-cache-dir /dist/podsleuth-*.whl \
 && test "$(/opt/podsleuth/bin/podsleuth --version)" = "podsleuth, version ${VERSION}"

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="podsleuth" \
      org.opencontainers.image.description="Kubernetes pod failure watcher and root-cause finder" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /opt/podsleuth /opt/podsleuth
ENV PATH=/opt/podsleuth/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# The watcher runs as this user under readOnlyRootFilesystem; the node agent's DaemonSet
# overrides it with runAsUser 0 (it reads other processes' /proc entries).
USER 65532:65532
WORKDIR /tmp
ENTRYPOINT ["podsleuth"]
CMD ["--help"]
