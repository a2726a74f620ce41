#!/usr/bin/env bash
# Regenerates Sources/ONNXProto/onnx.pb.swift from scripts/onnx/onnx.proto (taken from the onnx
# 1.17.0 Python wheel). Run by hand when the proto changes, never by the build: it needs protoc
# (Debian's protobuf-compiler) and protoc-gen-swift built from apple/swift-protobuf 1.39.0, e.g.
#   git clone https://github.com/apple/swift-protobuf && cd swift-protobuf && git checkout 1.39.0
#   swift build -c release --product protoc-gen-swift
#   PROTOC_GEN_SWIFT=$PWD/.build/release/protoc-gen-swift scripts/onnx/generate.sh
set -euo pipefail
cd "$(dirname "$0")"
plugin=${PROTOC_GEN_SWIFT:?set PROTOC_GEN_SWIFT to the protoc-gen-swift binary}
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Public --swift_out=../../Sources/ONNXProto onnx.proto
echo "wrote Sources/ONNXProto/onnx.pb.swift"
