FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BALIE_INTENTS_DIR=/app/intents \
    BALIE_CACHE_DIR=/app/cache \
    BALIE_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY actions ./actions
RUN pip install --no-cache-dir .
COPY intents ./intents
# Train at build time so a container answers as soon as it starts.
RUN balie nlu train

RUN useradd --system --home-dir /data balie && mkdir -p /data && chown balie /data
USER balie
VOLUME ["/data"]
EXPOSE 8443 8080
CMD ["balie", "run"]
