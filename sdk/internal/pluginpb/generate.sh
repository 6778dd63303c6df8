#!/bin/sh
# Regenerates the Go code for classifier.proto. Needs protoc (Debian:
# apt-get install protobuf-compiler); the two Go generators are installed at
# the versions pinned below when missing. generate_test.go fails when the
# committed code is stale.
#
#   cd sdk && go generate ./internal/pluginpb
#
# OUT (default: the repository root) is where the generated tree is written;
# PROTOC_GEN_BIN (default: $(go env GOPATH)/bin) is where the generators are.
set -eu
cd "$(dirname "$0")/../../.."
OUT=${OUT:-.}
BIN=${PROTOC_GEN_BIN:-$(go env GOPATH)/bin}
if [ ! -x "$BIN/protoc-gen-go" ] || [ ! -x "$BIN/protoc-gen-go-grpc" ]; then
	GOBIN=$BIN GOFLAGS= go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
	GOBIN=$BIN GOFLAGS= go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
fi
PATH=$BIN:$PATH protoc --proto_path=. \
	--go_out="$OUT" --go_opt=paths=source_relative \
	--go-grpc_out="$OUT" --go-grpc_opt=paths=source_relative \
	sdk/internal/pluginpb/classifier.proto
