#!/usr/bin/env bash
# Debian packages the build and the tests need beyond Rust, gcc, make and python3:
#   libssl-dev, pkg-config  rdkafka's `ssl` feature links the system OpenSSL (Kafka TLS)
#   socat                   the TLS terminator in front of the test broker (tests/kafka_tls.rs)
# Installs what is missing when run as root with apt-get; otherwise says what to install and
# exits 0 (the build then fails with its own message, and the TLS test skips unless CI is set).
set -euo pipefail

missing=()
dpkg -s libssl-dev >/dev/null 2>&1 || missing+=(libssl-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v socat >/dev/null 2>&1 || missing+=(socat)
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 \
    || { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; }
else
  echo "nhid needs these Debian packages: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
fi
