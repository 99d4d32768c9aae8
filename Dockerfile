# The one image every housejobs Cloud Run Job runs: the container's command is `housejobs <job> ...`.
#
#   docker build -t housejobs .
#   docker run --rm housejobs quota-reset --dry-run        (no --env: the embedded sandbox)
#
# Dependencies come from uv.lock, pinned with hashes, without dev dependencies; scripts/smoke installs
# the wheel the same way outside Docker, so CI checks this recipe without a Docker daemon. Keep the
# two in step. Bump the base image by exact tag (or pin its digest) on purpose, never by drift.

# --- build: export the lock and build the wheel -------------------------------------------------
FROM python:3.11.14-slim-bookworm AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_NO_CACHE=1

RUN pip install --no-cache-dir uv==0.13.9

WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
COPY src/ src/
COPY jobs/ jobs/

# The wheel carries jobs/ as package data (housejobs/_jobs), so the image needs no checkout.
RUN uv build --wheel --out-dir /dist \
    && uv export --frozen --no-dev --no-emit-project --format requirements-txt --output-file /dist/requirements.txt

# --- runtime: a venv with the locked dependencies and the wheel, run as a non-root user ----------
FROM python:3.11.14-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/housejobs \
    PATH=/opt/housejobs/bin:$PATH \
    HOUSEJOBS_STATE_DIR=/tmp/housejobs

COPY --from=build /dist/ /tmp/dist/

# Every task of every job is a cold start, and a CLI's start-up is mostly imports: compile bytecode at
# build time (pip --compile for the venv; the base image ships its standard library without .pyc), since
# the non-root user cannot write .pyc files at run time.
RUN python -m venv /opt/housejobs \
    && /opt/housejobs/bin/pip install --no-cache-dir --compile --require-hashes -r /tmp/dist/requirements.txt \
    && /opt/housejobs/bin/pip install --no-cache-dir --compile --no-deps /tmp/dist/housejobs-*.whl \
    && python -m compileall -q -j 0 /usr/local/lib/python3.11 \
    && rm -rf /tmp/dist \
    && useradd --system --user-group --uid 10001 --create-home --home-dir /home/housejobs housejobs

USER 10001:10001
WORKDIR /home/housejobs

# Fail the build, not the first scheduled run, if the CLI cannot start or find its catalog.
RUN housejobs --version && housejobs list-jobs > /dev/null

ENTRYPOINT ["housejobs"]
CMD ["--help"]
