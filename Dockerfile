# One image for all four Shouwang services; docker-compose.yml picks the service with `command`.
#   docker build -t shouwang .
#   docker run --rm -e JWT_SECRET=... shouwang                       (the API, the default)
#   docker run --rm -e PSEUDONYM_KEY=... shouwang python -m services.ingest
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BIND_HOST=0.0.0.0 \
    POLICY_DIR=/app/policy \
    SCORING_DATA_DIR=/app/state/scoring

RUN groupadd --system --gid 10001 shouwang \
 && useradd --system --uid 10001 --gid shouwang --home-dir /app --no-create-home --shell /usr/sbin/nologin shouwang

WORKDIR /app

# Pinned dependency versions come from pyproject.toml.
COPY pyproject.toml ./
COPY services ./services
RUN pip install --no-cache-dir /app \
 && rm -rf /app/build /app/*.egg-info

COPY policy ./policy

# The scoring worker's data dir and the API's region uploads; owned by the service user so a named volume mounted
# here inherits it.
RUN mkdir -p /app/state/scoring /app/state/regions && chown -R shouwang:shouwang /app/state

USER shouwang

EXPOSE 8000 8001

CMD ["python", "-m", "services.api"]
