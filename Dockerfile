# The one image every housejobs Cloud Run Job runs: the container's command is `housejobs <job> ...`.
#
#   docker build -t housejobs .
#   docker run --rm housejobs quota-reset --dry-run        (no --env: the embedded sandbox)
#
# Dependencies come from uv.lock, pinned with hashes, without dev dependencies, installed by a pinned uv;
# scripts/dev/smoke installs the wheel the same way outside Docker, so CI checks this recipe without a Docker
# daemon. Keep the two in step. The build needs only the base image and the package index. Bump the base image by exact tag (or pin its digest) on purpose, never by drift.

# --- build: the wheel, and the venv with the locked dependencies --------------------------------
FROM python:3.11.14-slim-bookworm AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_NO_CACHE=1

# uv, pinned with hashes. It does every install below, so the build never depends on the pip release the
# base image happens to bundle (pip 23 mishandles an extra of a hashed requirement, google-auth[pyopenssl],
# once a newer google-auth is on the index); uv stays in this stage.
COPY scripts/dev/uv-requirements.txt /tmp/uv-requirements.txt
RUN pip install --no-cache-dir --require-hashes -r /tmp/uv-requirements.txt

WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
COPY src/ src/
COPY jobs/ jobs/

# The wheel carries jobs/ as package data (housejobs/_jobs), so the image needs no checkout.
RUN uv build --wheel --out-dir /dist \
    && uv export --frozen --no-dev --no-emit-project --format requirements-txt --output-file /dist/requirements.txt

# Every task of every job is a cold start, and a CLI's start-up is mostly imports: compile bytecode now,
# since the non-root user cannot write .pyc files at run time. The venv's interpreter is the base image's
# /usr/local/bin/python3, the same path in the runtime stage, so the venv is copied as it is.
RUN uv venv --python /usr/local/bin/python3 /opt/housejobs \
    && uv pip install --python /opt/housejobs/bin/python --compile-bytecode --require-hashes \
       -r /dist/requirements.txt \
    && uv pip install --python /opt/housejobs/bin/python --compile-bytecode --no-deps /dist/housejobs-*.whl

# --- runtime: the venv and the base image's Python, run as a non-root user ------------------------
FROM python:3.11.14-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/housejobs \
    PATH=/opt/housejobs/bin:$PATH \
    HOUSEJOBS_STATE_DIR=/tmp/housejobs

COPY --from=build /opt/housejobs /opt/housejobs

# The base image ships its standard library without .pyc files.
RUN python -m compileall -q -j 0 /usr/local/lib/python3.11 \
    && useradd --system --user-group --uid 10001 --create-home --home-dir /home/housejobs housejobs

USER 10001:10001
WORKDIR /home/housejobs

# Fail the build, not the first scheduled run, if the CLI cannot start or find its catalog.
RUN housejobs --version && housejobs list-jobs > /dev/null

ENTRYPOINT ["housejobs"]
CMD ["--help"]
