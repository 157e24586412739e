# One image for the five Command Center services (and the topic-creation job).
# The module to run is the argument: `docker run IMAGE ingestor`, `... notifier`,
# `... cc.kafka.topics create --bootstrap kafka:9092`. docker-compose.yml and the Helm chart
# pass it as the command.
#
#   docker build -t command-center:local .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv

RUN pip install --no-cache-dir "uv==0.13.8"

WORKDIR /app

# The locked workspace: the libs and the five services, without the dev group.
COPY pyproject.toml uv.lock ./
COPY libs/ libs/
COPY services/ services/
RUN uv sync --frozen --all-packages --no-dev --no-cache

# Read at run time: the Avro contracts and topics table, the audit index template, the
# detector's thresholds, the planner's runbooks and policy, the auditor's compliance rules
# (each <SERVICE>_*_FILE setting can point at a mounted file instead).
COPY schemas/ schemas/
COPY deploy/elasticsearch/ deploy/elasticsearch/
COPY deploy/anomaly-detector/ deploy/anomaly-detector/
COPY deploy/remediation-planner/ deploy/remediation-planner/
COPY deploy/compliance-auditor/ deploy/compliance-auditor/

ENV PATH="/app/.venv/bin:${PATH}" \
    CC_SCHEMA_DIR=/app/schemas

RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin app
USER 10001:10001

# ingestor, anomaly-detector, remediation-planner, compliance-auditor, notifier
EXPOSE 18080 18082 18083 18084 18086

ENTRYPOINT ["python", "-m"]
CMD ["ingestor"]
