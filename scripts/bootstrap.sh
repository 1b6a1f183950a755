#!/usr/bin/env bash
# Creates (or refreshes) the project's virtualenvs from pinned requirements; a no-op when nothing changed.
#   .venv      Python 3.12: functions' dependencies + test tools
#   .venv-sam  Python 3.12: aws-sam-cli, kept apart because it pins its own boto3/pydantic
#   .venv-checkov  checkov, apart for the same reason
#   .local/lambda-runtime  boto3 as the Lambda runtime provides it, for the Docker-free workers
#   .local/wheelhouse  the functions' wheels (this machine, x86_64 and arm64 Lambda): sam build runs offline
set -euo pipefail
cd "$(dirname "$0")/.."
exec 1>&2  # progress goes to stderr: $(make -s api-url) and $(make -s token ...) capture only their answer

find_python312() {
  local candidate
  for candidate in "${PYTHON312:-}" "$(command -v python3.12 2>/dev/null || true)" \
                   "$(PYENV_VERSION=3.12.1 pyenv which python3.12 2>/dev/null || true)" \
                   "$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12.*/bin/python3.12 2>/dev/null | sort -V | tail -n1)"; do
    # the base interpreter, never a virtualenv's (this script may be about to delete that virtualenv)
    if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
      "$candidate" -c 'import sys; print(getattr(sys, "_base_executable", sys.executable))'; return 0
    fi
  done
  return 1
}

PY=$(find_python312) || {
  echo "ERROR: Python 3.12 (the Lambda runtime's version) was not found." >&2
  echo "  next: install it (e.g. 'pyenv install 3.12' or your OS package), or set PYTHON312=/path/to/python3.12" >&2
  exit 2
}

# pip on this kind of machine warns about missing local index folders on every package: keep the output readable.
quiet_pip() { "$@" 2>&1 | grep -v "is ignored: it is neither a file nor a directory" || true; return "${PIPESTATUS[0]}"; }

make_venv() {  # name, requirements file, step label, other files the requirements include
  local venv=$1 requirements=$2 step=$3 stamp hash
  hash=$(cat "$requirements" "${@:4}" | sha256sum | cut -c1-16)
  stamp="$venv/.requirements-$hash"
  if [ -f "$stamp" ]; then
    echo "==> [$step] $venv is up to date"
    return
  fi
  echo "==> [$step] creating $venv from $requirements (first time: about a minute)"
  rm -rf "$venv"
  "$PY" -m venv "$venv"
  quiet_pip "$venv/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip
  if ! quiet_pip "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$requirements"; then
    echo "ERROR: installing $requirements into $venv failed." >&2
    echo "  next: check that PyPI is reachable (pip config list), then run 'make clean-venv' and retry" >&2
    exit 2
  fi
  touch "$stamp"
  echo "    done: $("$venv/bin/python" --version) in $venv"
}

make_venv .venv requirements-dev.txt "setup 1/5" functions/*/requirements.txt local/lambda-runtime.txt
make_venv .venv-sam requirements-sam.txt "setup 2/5"
make_venv .venv-checkov requirements-checkov.txt "setup 3/5"

# What the Lambda runtime adds to the standard library (boto3), for the Docker-free local workers.
runtime=.local/lambda-runtime
stamp="$runtime/.requirements-$(sha256sum local/lambda-runtime.txt | cut -c1-16)"
if [ -f "$stamp" ]; then
  echo "==> [setup 4/5] $runtime is up to date"
else
  echo "==> [setup 4/5] installing the Lambda runtime's boto3 into $runtime"
  rm -rf "$runtime"
  if ! quiet_pip .venv/bin/python -m pip install --disable-pip-version-check -q --target "$runtime" -r local/lambda-runtime.txt; then
    echo "ERROR: installing local/lambda-runtime.txt failed." >&2
    echo "  next: check that PyPI is reachable, then run 'make setup' again" >&2
    exit 2
  fi
  .venv/bin/python scripts/precompile.py "$runtime" >/dev/null  # the real runtime ships compiled bytecode too
  touch "$stamp"
fi

# The functions' dependencies as wheels, so that `sam build` (make build, make local, make test) never needs the
# network after set-up: the Makefile and local/run.py point pip at this folder with PIP_NO_INDEX.
wheelhouse=.local/wheelhouse
requirements=(functions/invoke/requirements.txt functions/authorizer/requirements.txt)
stamp="$wheelhouse/.requirements-$(cat "${requirements[@]}" | sha256sum | cut -c1-16)"
if [ -f "$stamp" ]; then
  echo "==> [setup 5/5] $wheelhouse is up to date"
else
  echo "==> [setup 5/5] downloading the functions' wheels into $wheelhouse (this machine, x86_64 and arm64)"
  rm -rf "$wheelhouse"
  reqs=(); for r in "${requirements[@]}"; do reqs+=(-r "$r"); done
  download() { quiet_pip .venv/bin/python -m pip download --disable-pip-version-check -q -d "$wheelhouse" "${reqs[@]}" "$@"; }
  lambda_tags() { echo --only-binary=:all: --implementation cp --python-version 3.12 --abi cp312 --platform "manylinux2014_$1" --platform "manylinux_2_28_$1"; }
  # shellcheck disable=SC2046
  if ! download || ! download $(lambda_tags x86_64) || ! download $(lambda_tags aarch64); then
    echo "ERROR: downloading the functions' wheels failed." >&2
    echo "  next: check that PyPI is reachable, then run 'make setup' again" >&2
    exit 2
  fi
  touch "$stamp"
  echo "    done: $(ls "$wheelhouse" | wc -l) wheels"
fi
