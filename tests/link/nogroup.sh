#!/bin/sh
# tests/link/nogroup.sh CC FLAGS SRCDIR BUILDDIR ENGINE_LIB CONNECTORS_LIB BASE_LIB
#   Links tests/link/link_engine.c with every object of the engine, then
#   the connectors' and base's archives, in layer order and without a
#   linker group, and runs it: an engine symbol the connectors need, or a
#   symbol of either that base needs, is left undefined and fails the test.
#   FLAGS: what the build's objects need at link time too (sanitizers).
#   TAP on stdout (the program's one case, or "not ok" when the link fails).
set -u
cc=$1 flags=$2 src=$3 build=$4 engine=$5 connectors=$6 base=$7
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
libs=$(pkg-config --libs libpq libmariadb libxxhash libzstd libfyaml jansson) || exit 1
# shellcheck disable=SC2086
if ! $cc $flags -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I"$src" -I"$build" -o "$tmp/link_engine" \
	"$src/tests/link/link_engine.c" -Wl,--no-undefined \
	-Wl,--whole-archive "$engine" -Wl,--no-whole-archive "$connectors" "$base" \
	$libs -pthread -lm > "$tmp/log" 2>&1; then
	echo "1..1"
	echo "not ok 1 - engine, connectors, base link in that order without a group"
	sed 's/^/# /' "$tmp/log"
	exit 1
fi
exec "$tmp/link_engine"
