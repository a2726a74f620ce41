#!/usr/bin/env bash
# Rebuilds the Fashion-MNIST subset bundled as a package resource: the first 2,000 training and
# first 500 test images (IDX files are a header then fixed-size records, so a subset is the
# header with a new count followed by the first records). Needs dataset-fashion-mnist.
set -euo pipefail
src=${1:-/usr/share/datasets/fashion-mnist}
dst="$(dirname "$0")/../Sources/AutoPrune/Resources/fashion-mnist-subset"
mkdir -p "$dst"

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

# subset FILE COUNT RECORD_BYTES HEADER_BYTES
subset() {
  local name=$1 count=$2 record=$3 header=$4
  gzip -dc "$src/$name.gz" > "$tmp"
  {
    dd if="$tmp" bs=4 count=1 status=none
    printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((count >> 24 & 255)) $((count >> 16 & 255)) $((count >> 8 & 255)) $((count & 255)))"
    dd if="$tmp" iflag=skip_bytes,count_bytes skip=8 count=$((header - 8)) status=none
    dd if="$tmp" bs=1M iflag=skip_bytes,count_bytes skip="$header" count=$((count * record)) status=none
  } | gzip -9n > "$dst/$name.gz"
}
subset train-images-idx3-ubyte 2000 784 16
subset train-labels-idx1-ubyte 2000 1 8
subset t10k-images-idx3-ubyte 500 784 16
subset t10k-labels-idx1-ubyte 500 1 8
ls -l "$dst"
