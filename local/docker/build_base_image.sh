#!/usr/bin/env bash
# Builds an offline stand-in for public.ecr.aws/lambda/python:3.12-x86_64 when that image cannot be pulled
# (air-gapped machines, CI here). Reused when the tag already exists; FORCE=1 rebuilds.
#   Debian bookworm minbase (debootstrap, from the mirror apt already uses) + the shared libraries CPython needs
#   + this machine's Python 3.12 at /var/lang + awslambdaric and boto3 in /var/runtime + /var/runtime/bootstrap,
#   imported with Lambda's ENV/WORKDIR. SAM then adds its Runtime Interface Emulator on top, as it does for the
#   real image (`--skip-pull-image`).
set -euo pipefail
cd "$(dirname "$0")/../.."

IMAGE=${LAMBDA_BASE_IMAGE:-public.ecr.aws/lambda/python:3.12-x86_64}
PY=${PYTHON312:-$(.venv/bin/python -c 'import sys; print(sys._base_executable)')}
WORK=.local/docker-base
step() { echo "==> [image $1/5] $2"; }

if [ -z "${FORCE:-}" ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "==> base image $IMAGE already present (FORCE=1 rebuilds it)"
  exit 0
fi
if [ -z "${FORCE:-}" ] && timeout 60 docker pull -q "$IMAGE" >/dev/null 2>&1; then
  echo "==> pulled $IMAGE"
  exit 0
fi
echo "==> $IMAGE cannot be pulled here: building the offline stand-in"
if [ "$(uname -m)" != "x86_64" ]; then
  echo "ERROR: this stand-in is built for x86_64; this machine is $(uname -m)." >&2
  echo "  next: pull the real image (docker pull $IMAGE) on a machine with registry access" >&2
  exit 2
fi
if ! command -v debootstrap >/dev/null && [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then
  echo "==> installing debootstrap (apt)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap) >/dev/null 2>&1 || true
fi
command -v debootstrap >/dev/null || {
  echo "ERROR: debootstrap is missing.  next: apt-get install -y debootstrap (as root), then run again" >&2; exit 2; }

# The Debian mirror apt is configured with: the only one reachable on a locked-down machine.
MIRROR=$(apt-cache policy 2>/dev/null | grep -oE 'https?://[^ ]+ bookworm/main' | awk 'NR == 1 {print $1}' || true)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
started=$(date +%s)
rm -rf "$WORK" && mkdir -p "$WORK"
ROOTFS=$WORK/rootfs

step 1 "debootstrap bookworm (minbase) from $MIRROR (~30 s)"
debootstrap --variant=minbase \
  --include=libssl3,libsqlite3-0,libexpat1,libncursesw6,libreadline8,libffi8,liblzma5,libbz2-1.0,zlib1g,ca-certificates,tzdata \
  bookworm "$ROOTFS" "$MIRROR" > "$WORK/debootstrap.log" 2>&1 || {
  echo "ERROR: debootstrap failed (see $WORK/debootstrap.log).  next: check that $MIRROR is reachable" >&2; exit 2; }
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*

step 2 "copying Python $("$PY" -c 'import platform; print(platform.python_version())') to /var/lang"
PREFIX=$("$PY" -c 'import sys; print(sys.base_prefix)')
mkdir -p "$ROOTFS/var/lang"
cp -a "$PREFIX"/. "$ROOTFS/var/lang/"
rm -rf "$ROOTFS/var/lang/lib/python3.12/test" "$ROOTFS/var/lang/lib/python3.12/site-packages"/*
ln -sf /var/lang/bin/python3.12 "$ROOTFS/usr/bin/python3.12"

step 3 "installing awslambdaric and the runtime's boto3 into /var/runtime"
"$PY" -m pip install --disable-pip-version-check --root-user-action=ignore -q --target "$ROOTFS/var/runtime" \
  -r local/docker/runtime-requirements.txt 2>&1 | grep -v "is ignored: it is neither" || true
"$PY" -m compileall -q -j0 "$ROOTFS/var/runtime" "$ROOTFS/var/lang/lib/python3.12" >/dev/null 2>&1 || true

step 4 "writing /var/runtime/bootstrap"
cat > "$ROOTFS/var/runtime/bootstrap" <<'BOOT'
#!/bin/sh
# Lambda's Python bootstrap: the Runtime Interface Client serves the handler named in _HANDLER.
export PYTHONPATH="/var/task:/opt/python:/var/runtime${PYTHONPATH:+:$PYTHONPATH}"
exec /var/lang/bin/python3.12 -m awslambdaric "$_HANDLER"
BOOT
chmod +x "$ROOTFS/var/runtime/bootstrap"
mkdir -p "$ROOTFS/var/task" "$ROOTFS/opt"

step 5 "docker import as $IMAGE"
tar -C "$ROOTFS" -c . | docker import \
  -c 'ENV LANG=en_US.UTF-8 TZ=:/etc/localtime PATH=/var/lang/bin:/usr/local/bin:/usr/bin:/bin:/opt/bin' \
  -c 'ENV LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib' \
  -c 'ENV LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime' \
  -c 'WORKDIR /var/task' \
  -c 'ENTRYPOINT ["/var/runtime/bootstrap"]' \
  - "$IMAGE" >/dev/null
rm -rf "$WORK"
echo "    built $IMAGE in $(( $(date +%s) - started )) s ($(docker image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "%d MB", $1/1e6}'))"
