#!/usr/bin/env bash
# Makes an image-folder copy of Fashion-MNIST (train/CLASS/N.jpg, val/CLASS/N.jpg; 64 × 64 RGB
# JPEG by default, class folders 0…9) for the ImageNet networks' tests and timings:
#   scripts/make-fmnist-folder.sh OUT_DIR [SIZE] [FORMAT] [extra make-image-folder options]
# Reads Debian's /usr/share/datasets/fashion-mnist (scripts/install-deps.sh installs it), or the
# bundled 2,000/500-image subset where it is absent; AUTOPRUNE_DATA=DIR reads another directory.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: scripts/make-fmnist-folder.sh OUT_DIR [SIZE] [png|jpeg|mixed] [options]" >&2; exit 2; }
out=$1
size=${2:-64}
format=${3:-jpeg}
shift $(( $# < 3 ? $# : 3 ))
data=${AUTOPRUNE_DATA:-/usr/share/datasets/fashion-mnist}
[ -d "$data" ] || data=bundled
scripts/install-deps.sh
swift build -c release --product autoprune >/dev/null
"$(swift build -c release --show-bin-path)/autoprune" make-image-folder --data "$data" --out-dir "$out" --size "$size" --format "$format" "$@"
