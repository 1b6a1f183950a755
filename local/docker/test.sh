#!/usr/bin/env bash
# make test-docker: the real `sam local invoke` and `sam local start-api` path, offline.
set -euo pipefail
cd "$(dirname "$0")/../.."
started=$(date +%s)
trap 'bash local/docker/engine.sh stop; echo "==> Docker stage took $(( $(date +%s) - started )) s"' EXIT
trap 'exit 130' INT TERM
bash local/docker/engine.sh start
bash local/docker/build_base_image.sh
# The sample events carry this token; the integration suite takes whatever run.py seeds.
LOCAL_API_TOKEN=sample-events-token .venv/bin/python local/run.py --sam "$PWD/.venv-sam/bin/sam" --mode docker \
  --exec bash -c '.venv/bin/python local/docker/invoke_events.py && .venv/bin/python -m pytest tests/integration -q -p no:cacheprovider'
