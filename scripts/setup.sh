#!/usr/bin/env bash
# Installs what building and testing WasmIR needs beyond the Rust toolchain: LLVM's FileCheck
# and `not` (Debian's llvm-19-tools) for the FileCheck suite. Safe to re-run.
set -euo pipefail

have_filecheck() {
  [ -x /usr/lib/llvm-19/bin/FileCheck ] && [ -x /usr/lib/llvm-19/bin/not ]
}

if ! have_filecheck; then
  echo "setup: installing llvm-19-tools (FileCheck, not)"
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq llvm-19-tools >/dev/null
fi
have_filecheck || { echo "setup: FileCheck is still missing" >&2; exit 1; }
