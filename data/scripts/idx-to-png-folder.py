#!/usr/bin/env python3
"""Writes an IDX data set (images + labels, plain or .gz) as a folder of PNG images with
one subfolder per class: the layout `vaecl train --data FOLDER` reads for a user's own
images. Python 3 standard library only.

  idx-to-png-folder.py IMAGES LABELS OUT [--limit N] [--rgb32] [--names a,b,...]

--rgb32 makes a 32x32 RGB data set from 28x28 grey images (padded by 2 pixels and tinted
by a colour per class), to try RGB models such as data/models/rgb32-conv-vae.vae.
--names gives the class folder names (default: Fashion-MNIST's ten class names when
there are ten classes, else the label numbers).
"""
import argparse
import gzip
import os
import struct
import sys
import zlib

FASHION = ["t-shirt", "trouser", "pullover", "dress", "coat",
           "sandal", "shirt", "sneaker", "bag", "ankle-boot"]
TINTS = [(255, 80, 80), (80, 200, 80), (80, 120, 255), (240, 200, 60), (200, 90, 220),
         (60, 210, 210), (250, 140, 40), (150, 150, 150), (170, 110, 60), (255, 255, 255)]


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] or data[1] or data[2] != 0x08:
        sys.exit(f"{path}: not an IDX file of unsigned bytes")
    dims = struct.unpack(">" + "I" * data[3], data[4:4 + 4 * data[3]])
    return dims, data[4 + 4 * data[3]:]


def png_bytes(width, height, channels, rows):
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body +
                struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    colour_type = {1: 0, 3: 2}[channels]
    raw = b"".join(b"\0" + row for row in rows)  # filter type 0 on every row
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("images")
    ap.add_argument("labels")
    ap.add_argument("out")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--rgb32", action="store_true")
    ap.add_argument("--names", default="")
    a = ap.parse_args()
    (n, h, w), pixels = read_idx(a.images)
    (nl,), labels = read_idx(a.labels)
    if nl != n:
        sys.exit(f"{a.labels}: {nl} labels for {n} images")
    if a.limit:
        n = min(n, a.limit)
    classes = max(labels[:n]) + 1
    names = a.names.split(",") if a.names else (FASHION if classes == 10 else
                                                 [str(c) for c in range(classes)])
    if len(names) < classes:
        sys.exit(f"--names gives {len(names)} names for {classes} classes")
    for c in range(classes):
        os.makedirs(os.path.join(a.out, names[c]), exist_ok=True)
    for i in range(n):
        img = pixels[i * h * w:(i + 1) * h * w]
        rows = [img[r * w:(r + 1) * w] for r in range(h)]
        width, height, channels = w, h, 1
        if a.rgb32:
            pad = (32 - w) // 2
            tint = TINTS[labels[i] % len(TINTS)]
            blank = bytes(3 * 32)
            body = [bytes(3 * pad) + bytes(v * t // 255 for v in row for t in tint) +
                    bytes(3 * (32 - w - pad)) for row in rows]
            rows = [blank] * ((32 - h) // 2) + body + [blank] * (32 - h - (32 - h) // 2)
            width, height, channels = 32, 32, 3
        path = os.path.join(a.out, names[labels[i]], f"{i:05d}.png")
        with open(path, "wb") as f:
            f.write(png_bytes(width, height, channels, rows))
    print(f"wrote {n} {width}x{height} {'RGB' if channels == 3 else 'grey'} images "
          f"in {classes} class folders under {a.out}")


if __name__ == "__main__":
    main()
