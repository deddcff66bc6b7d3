#!/usr/bin/env bash
# Regenerates the small Fashion-MNIST fixtures in data/fixtures/: the first N (1024)
# training images and labels, rewritten as valid IDX files with count N.
# Source: the Debian package dataset-fashion-mnist (or pass another directory).
# Usage: data/make_fixtures.sh [SOURCE_DIR]
set -euo pipefail

src="${1:-/usr/share/datasets/fashion-mnist}"
out="$(cd "$(dirname "$0")" && pwd)/fixtures"
mkdir -p "$out"

python3 - "$src" "$out" <<'PY'
import gzip, struct, sys

src, out, n = sys.argv[1], sys.argv[2], 1024

def read(name):
    with gzip.open(f"{src}/{name}", "rb") as f:
        return f.read()

def write(name, data):
    # mtime=0 and no file name in the gzip header: the output is byte-reproducible.
    with open(f"{out}/{name}", "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
            f.write(data)

images = read("train-images-idx3-ubyte.gz")
magic, count, rows, cols = struct.unpack(">IIII", images[:16])
assert magic == 0x803 and count >= n, (magic, count)
write("fashion-mnist-1024-images-idx3-ubyte.gz",
      struct.pack(">IIII", magic, n, rows, cols) + images[16:16 + n * rows * cols])

labels = read("train-labels-idx1-ubyte.gz")
magic, count = struct.unpack(">II", labels[:8])
assert magic == 0x801 and count >= n, (magic, count)
write("fashion-mnist-1024-labels-idx1-ubyte.gz", struct.pack(">II", magic, n) + labels[8:8 + n])
print(f"wrote {n} images ({rows}x{cols}) and labels to {out}")
PY
