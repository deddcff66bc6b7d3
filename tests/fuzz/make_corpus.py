#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora (tests/fuzz/corpus/<target>/) from the repository's
fixtures and model files. Small files: libFuzzer mutates them faster. The checkpoint seeds
also need a vaecl binary:  make_corpus.py [--vaecl build/vaecl]"""
import argparse, gzip, os, shutil, struct, subprocess, sys, tempfile, zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")


def put(target, name, data):
    os.makedirs(os.path.join(OUT, target), exist_ok=True)
    with open(os.path.join(OUT, target, name), "wb") as f:
        f.write(data)


def fixture_images(n):
    """The first n 28x28 Fashion-MNIST images and labels of data/fixtures."""
    fx = os.path.join(ROOT, "data", "fixtures")
    with gzip.open(os.path.join(fx, "fashion-mnist-1024-images-idx3-ubyte.gz")) as f:
        images = f.read()[16:16 + n * 784]
    with gzip.open(os.path.join(fx, "fashion-mnist-1024-labels-idx1-ubyte.gz")) as f:
        labels = f.read()[8:8 + n]
    return images, labels


def gz(data):
    return gzip.compress(data, mtime=0)


def idx_corpus():
    images, labels = fixture_images(2)
    idx3 = struct.pack(">IIII", 0x803, 2, 28, 28) + images
    lab = struct.pack(">II", 0x801, 2) + labels
    idx4 = struct.pack(">IIIII", 0x804, 1, 2, 3, 3) + bytes(range(18))
    for name, data in [("images-idx3", idx3), ("labels-idx1", lab), ("rgb-idx4", idx4),
                       ("one-label", struct.pack(">II", 0x801, 1) + b"\x05")]:
        put("fuzz_idx", name, data)
        put("fuzz_idx", name + ".gz", gz(data))


def png(width, height, colour, depth, rows, interlace=0, extra=b""):
    """A PNG from raw rows (bytes, without filter bytes)."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace)
    raw = b"".join(b"\0" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def png_corpus():
    images, _ = fixture_images(1)
    grey = [images[y * 28:(y + 1) * 28] for y in range(28)]
    put("fuzz_png", "grey-28x28.png", png(28, 28, 0, 8, grey))
    put("fuzz_png", "grey-4x4.png", png(4, 4, 0, 8, [bytes(range(y * 4, y * 4 + 4)) for y in range(4)]))
    put("fuzz_png", "rgb-3x2.png", png(3, 2, 2, 8, [bytes(range(9)), bytes(range(9, 18))]))
    put("fuzz_png", "rgba-2x2.png", png(2, 2, 6, 8, [bytes(range(8)), bytes(range(8, 16))]))
    put("fuzz_png", "grey-alpha-16bit.png", png(2, 1, 4, 16, [bytes(range(8))]))
    put("fuzz_png", "grey-1bit.png", png(8, 2, 0, 1, [b"\xa5", b"\x5a"]))
    plte = struct.pack(">I", 6) + b"PLTE" + b"\0\0\0\xff\xff\xff"
    plte += struct.pack(">I", zlib.crc32(b"PLTE\0\0\0\xff\xff\xff"))
    put("fuzz_png", "palette-2x2.png", png(2, 2, 3, 8, [b"\0\1", b"\1\0"], extra=plte))


def model_corpus():
    models = os.path.join(ROOT, "data", "models")
    for name in sorted(os.listdir(models)):
        if name.endswith(".vae"):
            shutil.copy(os.path.join(models, name), os.path.join(OUT, "fuzz_model_spec", name))


TINY_MODEL = """vaecl-model 1
input 4 4 1
encoder
conv2d filters=2 kernel=3 stride=2 padding=same activation=relu
flatten
latent 1
decoder
dense units=8 activation=leaky_relu alpha=0.1
reshape 2 2 2
conv2d_transpose filters=1 kernel=2 stride=2 activation=sigmoid
output bernoulli
"""


def checkpoint_corpus(vaecl):
    put("fuzz_checkpoint", "format1-small.ckpt",
        open(os.path.join(ROOT, "data", "fixtures", "format1-small.ckpt"), "rb").read())
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        os.makedirs(data)
        for i in range(2):
            with open(os.path.join(data, "%d.png" % i), "wb") as f:
                f.write(png(4, 4, 0, 8, [bytes((i * 60 + y * 16 + x * 4) % 256 for x in range(4)) for y in range(4)]))
        model = os.path.join(tmp, "tiny.vae")
        with open(model, "w") as f:
            f.write(TINY_MODEL)
        out = os.path.join(tmp, "tiny.ckpt")
        subprocess.run([vaecl, "--backend", "cpu", "train", "--model", model, "--data", data,
                        "--epochs", "1", "--batch", "2", "--no-plots", "--out", out],
                       check=True, stdout=subprocess.DEVNULL)
        put("fuzz_checkpoint", "tiny-safetensors.ckpt", open(out, "rb").read())
    os.makedirs(os.path.join(OUT, "fuzz_model_spec"), exist_ok=True)
    with open(os.path.join(OUT, "fuzz_model_spec", "tiny.vae"), "w") as f:
        f.write(TINY_MODEL)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--vaecl", default=os.path.join(ROOT, "build", "vaecl"))
    args = ap.parse_args()
    idx_corpus()
    png_corpus()
    os.makedirs(os.path.join(OUT, "fuzz_model_spec"), exist_ok=True)
    model_corpus()
    checkpoint_corpus(args.vaecl)


if __name__ == "__main__":
    sys.exit(main())
