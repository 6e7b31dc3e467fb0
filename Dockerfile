# Production image: `supporthub serve` on 0.0.0.0:8080, data in the /data volume.
# Run it with SUPPORTHUB_API__TOKEN set: on 0.0.0.0 `serve` refuses to open the REST API without
# one (exit 2, naming the key), unless SUPPORTHUB_API__PUBLIC=true says so on purpose.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    SUPPORTHUB_DATA_DIR=/data \
    SUPPORTHUB_SERVER__HOST=0.0.0.0

WORKDIR /app
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY core core
COPY channels channels
COPY knowledge knowledge
COPY handoff handoff
RUN pip install .
COPY config config

RUN useradd --create-home --uid 1000 supporthub && mkdir -p /data && chown supporthub /data
USER supporthub
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/healthz')" || exit 1
CMD ["sh", "-c", "supporthub reindex && exec supporthub serve"]
