#!/usr/bin/env bash
# scripts/deps.sh
#   Installs the Debian packages tally needs to build, test and run the
#   demo, when any is missing. Safe to run again: it does nothing when all
#   are present. Needs root (or sudo) only when something must be installed.
set -euo pipefail

# The tests read what tally writes with real consumers: python3-jsonschema
# validates every report.json against docs/report.schema.json,
# python3-prometheus-client parses --metrics files, headless chromium
# loads report.html (fonts-dejavu-core gives its screenshot glyphs),
# systemd-analyze verifies the units in docs/, and scdoc builds the man
# page from docs/tally.1.scd.
# clang builds the sanitized suite and the fuzzers (scripts/test.sh
# --sanitize, --fuzz). libclang-rt-14-dev holds libFuzzer and the
# AddressSanitizer and UndefinedBehaviorSanitizer runtimes of clang 14
# (libclang_rt.fuzzer-x86_64.a, .asan-, .ubsan_standalone-): clang only
# recommends it, and recommends are not installed. llvm-14 brings
# llvm-symbolizer, which puts function names and lines in their reports.
packages=(
	gcc libc6-dev pkg-config meson ninja-build
	libpq-dev libmariadb-dev libxxhash-dev libzstd-dev libfyaml-dev
	libjansson-dev libcmocka-dev
	clang libclang-rt-14-dev llvm-14
	postgresql postgresql-client mariadb-server mariadb-client
	zstd xxhash tzdata python3 python3-yaml util-linux procps
	python3-jsonschema python3-prometheus-client
	chromium fonts-dejavu-core scdoc systemd
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps.sh: installing ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || { echo "deps.sh: need root to install ${missing[*]}" >&2; exit 2; }
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
# Installing the server packages must not start the distribution's own
# servers: tally starts throwaway ones of its own (scripts/servers.sh).
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
	"${sudo[@]}" chmod +x /usr/sbin/policy-rc.d
	trap '"${sudo[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
fi
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
