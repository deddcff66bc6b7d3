#!/usr/bin/env python3
"""An independent safetensors reader (Python 3 + numpy only), to check that vaecl's
checkpoints are safetensors files other tools read as they are.

The `safetensors` package itself is not in Debian 12 (and PyTorch 1.13, python3-torch,
has no safetensors reader), so this follows the format's specification and the checks
of safetensors' own loader (Rust crate, `SafeTensors::deserialize` and `validate`):
  - 8 bytes: N, little-endian u64; N at most 100,000,000; 8 + N within the file;
  - N bytes: UTF-8 JSON starting with '{', an object; "__metadata__" (optional) maps
    strings to strings; every other key is a tensor {"dtype", "shape", "data_offsets"};
  - tensors sorted by their offsets must tile the byte buffer after the header exactly:
    the first starts at 0, each starts where the previous ended, end >= start,
    (end - start) == product(shape) * dtype size, and the last ends at the file's end.
vaecl adds: the data starts 8-byte aligned, no duplicate keys, dtype F32 only, and
metadata format/format_version/checksum (format 3: CRC-32 of the other metadata, the
tensor table and the data, as include/vaecl/checkpoint.h defines it).

Usage:
  safetensors_read.py FILE                 print the metadata and tensor summaries
  safetensors_read.py --writer PROG --fixture FILE
                                           run PROG (tests/checkpoint_sample.c) in a
                                           temporary directory and check what it wrote
Exit status 0 when all checks pass, 1 on a failed check, 77 (skipped) without numpy.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

try:
    import numpy as np
except ImportError:  # pragma: no cover - depends on the machine
    print("safetensors_read.py: numpy is not installed (Debian: python3-numpy); skipping")
    sys.exit(77)

HEADER_MAX = 100_000_000  # safetensors' N_MAX
DTYPES = {  # safetensors dtype -> numpy little-endian dtype
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
    "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?",
}


class FormatError(Exception):
    pass


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise FormatError("duplicate key in the JSON header")
    return dict(pairs)


def read_safetensors(path):
    """Returns (metadata dict, list of (name, numpy array)) in data order; raises
    FormatError on anything safetensors' loader would refuse."""
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8:
        raise FormatError("file shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", buf[:8])
    if n > HEADER_MAX:
        raise FormatError(f"header length {n} over safetensors' limit")
    if 8 + n > len(buf):
        raise FormatError(f"header length {n} runs past the end of a {len(buf)}-byte file")
    try:
        text = buf[8:8 + n].decode("utf-8")
    except UnicodeDecodeError as e:
        raise FormatError(f"header is not UTF-8: {e}")
    if not text.startswith("{"):
        raise FormatError("header does not start with '{'")
    header = json.loads(text, object_pairs_hook=_no_duplicates)
    if not isinstance(header, dict):
        raise FormatError("header is not a JSON object")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise FormatError("__metadata__ must map strings to strings")
    entries = []
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise FormatError(f"tensor {name}: needs exactly dtype, shape, data_offsets")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in DTYPES:
            raise FormatError(f"tensor {name}: unknown dtype {dtype!r}")
        if not (isinstance(shape, list) and all(
                isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
            raise FormatError(f"tensor {name}: bad shape {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(
                isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets)):
            raise FormatError(f"tensor {name}: bad data_offsets {offsets!r}")
        entries.append((name, dtype, shape, offsets[0], offsets[1]))
    entries.sort(key=lambda e: (e[3], e[4]))
    data = buf[8 + n:]
    end = 0
    tensors = []
    for name, dtype, shape, begin, stop in entries:
        if begin != end:
            raise FormatError(f"tensor {name}: starts at {begin}, previous ended at {end}")
        if stop < begin:
            raise FormatError(f"tensor {name}: ends before it begins")
        count = 1
        for d in shape:
            count *= d
        size = np.dtype(DTYPES[dtype]).itemsize
        if count * size != stop - begin:
            raise FormatError(f"tensor {name}: shape {shape} needs {count * size} bytes, "
                              f"offsets give {stop - begin}")
        array = np.frombuffer(data, dtype=DTYPES[dtype], count=count, offset=begin)
        tensors.append((name, array.reshape(shape)))
        end = stop
    if end != len(data):
        raise FormatError(f"tensors cover {end} bytes of a {len(data)}-byte buffer")
    return metadata, tensors, n


def checksum_v3(metadata, tensors, data):
    """Format 3's CRC-32: vaecl's metadata keys as "key\\0value\\0" in byte order,
    then "name\\0F32\\0d0,d1,...\\0" per tensor in data order, then the data."""
    parts = []
    covered = {"adam_steps", "batch", "epochs_done", "format", "format_version", "model", "seed",
               "validation"}
    for key in sorted(k for k in metadata if k in covered):  # code point = UTF-8 order
        parts += [key, metadata[key]]
    for name, array in tensors:
        parts += [name, "F32", ",".join(str(d) for d in array.shape)]
    prefix = b"".join(p.encode("utf-8") + b"\0" for p in parts)
    return zlib.crc32(prefix + data)


def check_vaecl(path, expected_path):
    """Checks one vaecl checkpoint against what the C writer says it wrote."""
    metadata, tensors, n = read_safetensors(path)
    with open(expected_path, encoding="utf-8") as f:
        want = json.load(f)
    problems = []
    if (8 + n) % 8 != 0:
        problems.append(f"data starts at {8 + n}, not 8-byte aligned")
    for key, value in want["metadata"].items():
        if metadata.get(key) != value:
            problems.append(f"metadata {key}: {metadata.get(key)!r}, want {value!r}")
    extra = set(metadata) - set(want["metadata"]) - {"checksum"}
    if extra:
        problems.append(f"unexpected metadata {sorted(extra)}")
    with open(path, "rb") as f:
        data = f.read()[8 + n:]
    crc = checksum_v3(metadata, tensors, data)
    if metadata.get("checksum") != f"{crc:08x}":
        problems.append(f"checksum {metadata.get('checksum')!r}, want {crc:08x}")
    names = [name for name, _ in tensors]
    want_names = [t["name"] for t in want["tensors"]]
    if names != want_names:
        problems.append(f"tensors in data order {names}, want {want_names}")
    with open(path, "rb") as f:
        (hn,) = struct.unpack("<Q", f.read(8))
        header_order = [k for k in json.loads(f.read(hn)) if k != "__metadata__"]
    if header_order != want_names:
        problems.append(f"tensors in header order {header_order}, want {want_names}")
    by_name = dict(tensors)
    for t in want["tensors"]:
        got = by_name.get(t["name"])
        if got is None:
            continue
        if got.dtype != np.dtype("<f4"):
            problems.append(f"{t['name']}: dtype {got.dtype}")
        if list(got.shape) != t["shape"]:
            problems.append(f"{t['name']}: shape {list(got.shape)}, want {t['shape']}")
        bits = got.reshape(-1).view("<u4").tolist()  # compares NaN payloads and -0 too
        if bits != t["bits"]:
            bad = next(i for i, (a, b) in enumerate(zip(bits, t["bits"])) if a != b) \
                if len(bits) == len(t["bits"]) else "length"
            problems.append(f"{t['name']}: values differ (first at {bad})")
    for p in problems:
        print(f"{path}: {p}")
    print(f"{path}: {len(tensors)} tensors, {sum(a.size for _, a in tensors)} floats, "
          f"{'OK' if not problems else 'FAILED'}")
    return not problems


def main(argv):
    if len(argv) == 2 and not argv[1].startswith("-"):
        metadata, tensors, _ = read_safetensors(argv[1])
        for key, value in metadata.items():
            print(f"{key}: {value if key != 'model' else repr(value[:60]) + '...'}")
        for name, array in tensors:
            print(f"{name} {list(array.shape)} sum={float(array.astype(np.float64).sum())!r}")
        return 0
    if len(argv) != 5 or argv[1] != "--writer" or argv[3] != "--fixture":
        print(__doc__)
        return 2
    with tempfile.TemporaryDirectory(prefix="vaecl-st-") as tmp:
        subprocess.run([argv[2], tmp, argv[4]], check=True)
        ok = True
        for name in ("sample", "converted"):
            try:
                ok &= check_vaecl(os.path.join(tmp, name + ".safetensors"),
                                  os.path.join(tmp, name + ".expected.json"))
            except FormatError as e:
                print(f"{name}.safetensors: not a valid safetensors file: {e}")
                ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
