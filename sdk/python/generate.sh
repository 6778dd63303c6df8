#!/bin/sh
# Regenerates the Python code in sluice_plugin/_proto from the protocol
# (../internal/pluginpb/classifier.proto, shared with the Go sdk) and from
# the two go-plugin services a plugin serves (proto/). generate_test.go
# fails when the committed code is stale.
#
#   sh sdk/python/generate.sh
#
# Needs, as on Debian 12:
#   protoc 3.21 (apt-get install protobuf-compiler) for the messages: its
#     output runs on python3-protobuf 3.21 and on newer protobuf releases;
#   grpc_tools (apt-get install python3-grpc-tools) for the service stubs.
# OUT (default: this directory) is where sluice_plugin/_proto/ is written;
# PYTHON (default: /usr/bin/python3) is the interpreter that has grpc_tools.
set -eu
cd "$(dirname "$0")"
OUT=${OUT:-$(pwd)}
PYTHON=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The generated modules import each other by the path of their .proto
# below the include directory, so the protos are laid out as the package.
mkdir -p "$tmp/sluice_plugin/_proto" "$OUT/sluice_plugin/_proto"
cp ../internal/pluginpb/classifier.proto proto/health.proto proto/grpc_controller.proto "$tmp/sluice_plugin/_proto/"
cd "$tmp"
for p in classifier health grpc_controller; do
	protoc -I. --python_out="$OUT" "sluice_plugin/_proto/$p.proto"
	"$PYTHON" -m grpc_tools.protoc -I. --grpc_python_out="$OUT" "sluice_plugin/_proto/$p.proto"
done
