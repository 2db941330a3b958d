#!/usr/bin/env python3
"""Crafts the hostile inputs of issue #19's reproductions (used by reproduce.sh).

Each subcommand writes one file; the TIFFs are built as crates/dispr/tests/cli/cli_promises.rs
builds them (hand-written IFDs where tifffile would refuse to write such a file).

    bomb OUT                  500 pages of 8192x8192 uint8 sharing one deflate strip
    shared-strip OUT COMP     4 pages of 64x64 sharing one deflate strip, Compression tag COMP
                              (8: a good file; 1: the tag overwritten to "none")
    cube OUT [inf|nan]        8x8x8 float32 cube (one +inf or NaN voxel at [0,0,0])
    poison-volume IN OUT V    IN (a 3D shape) as float32 with voxel [0,0,0] set to V (inf, nan)
    gray-mask LIKE OUT        a grayscale 2D image (y*W+x) % 251, the shape of LIKE
    full-mask LIKE OUT        every pixel 255, the shape of LIKE
    nan-mask LIKE OUT         LIKE as float32 with one NaN pixel
    edit-header CKPT FIELD    edits one field of a checkpoint's JSON header line in place,
                              keeping its length (grid, step or schedule: linear <-> cosine)
    flip-sha256 FILE          changes the first hex digit of FILE (a .sha256 file)
"""

import re
import struct
import sys
import zlib

import numpy as np
import tifffile


def shared_strip_tiff(pages, h, w, compression, strip):
    """A little-endian 8-bit grayscale TIFF whose `pages` pages all point at `strip`."""
    out = bytearray(b"II*\0")
    strip_offset = 8
    first_ifd = 8 + len(strip)
    out += struct.pack("<I", first_ifd)
    out += strip
    entries = [
        (256, 4, w),
        (257, 4, h),
        (258, 3, 8),
        (259, 3, compression),
        (262, 3, 1),
        (273, 4, strip_offset),
        (277, 3, 1),
        (278, 4, h),
        (279, 4, len(strip)),
    ]
    ifd_len = 2 + 12 * len(entries) + 4
    for page in range(pages):
        out += struct.pack("<H", len(entries))
        for tag, kind, value in entries:
            out += struct.pack("<HHI", tag, kind, 1)
            out += struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        nxt = first_ifd + ifd_len * (page + 1) if page + 1 < pages else 0
        out += struct.pack("<I", nxt)
    return bytes(out)


def cube(kind):
    v = np.zeros((8, 8, 8), np.float32)
    v[2:6, 2:6, 2:6] = 1.0
    if kind == "inf":
        v[0, 0, 0] = np.inf
    elif kind == "nan":
        v[0, 0, 0] = np.nan
    return v


def edit_header(path, field):
    """Edits `field` of the header of a checkpoint (its JSON line) or of an exported
    safetensors model (the escaped JSON in its metadata), keeping every length."""
    data = bytearray(open(path, "rb").read())
    if data.startswith(b"DISPR-CHECKPOINT"):
        begin = data.index(b"{")
        end = data.index(b"\n", begin)
    else:
        begin = 8
        end = 8 + struct.unpack("<Q", bytes(data[:8]))[0]
    region = data[begin:end].decode("latin-1")
    q = r'\\?"'  # a quote, escaped or not
    pattern = {
        "grid": q + "grid" + q + r":\[(\d+),",
        "step": q + "step" + q + r":(\d+)",
        "schedule": q + "schedule" + q + ":" + q + "(linear|cosine)",
    }.get(field)
    if pattern is None:
        sys.exit(f"unknown header field {field}")
    m = re.search(pattern, region)
    if m is None:
        sys.exit(f"{path}: no {field} in the header")
    start, stop = m.span(1)
    old = region[start:stop]
    if field == "schedule":
        new = "cosine" if old == "linear" else "linear"
    else:
        # The same number of digits, all nines (eights if it was all nines).
        new = ("9" if set(old) != {"9"} else "8") * len(old)
    data[begin + start : begin + stop] = new.encode()
    open(path, "wb").write(bytes(data))
    before = m.group(0).replace("\\", "")
    after = (region[m.start() : start] + new + region[stop : m.end()]).replace("\\", "")
    print(f"{before} -> {after}")


def main(argv):
    cmd = argv[1]
    if cmd == "bomb":
        strip = zlib.compress(bytes(8192 * 8192), 9)
        open(argv[2], "wb").write(shared_strip_tiff(500, 8192, 8192, 8, strip))
    elif cmd == "shared-strip":
        strip = zlib.compress(bytes([7]) * (64 * 64), 9)
        open(argv[2], "wb").write(shared_strip_tiff(4, 64, 64, int(argv[3]), strip))
    elif cmd == "cube":
        tifffile.imwrite(argv[2], cube(argv[3] if len(argv) > 3 else ""))
    elif cmd == "poison-volume":
        v = tifffile.imread(argv[2]).astype(np.float32)
        v[0, 0, 0] = np.float32(argv[4])
        tifffile.imwrite(argv[3], v)
    elif cmd == "gray-mask":
        h, w = tifffile.imread(argv[2]).shape
        y, x = np.mgrid[0:h, 0:w]
        tifffile.imwrite(argv[3], ((y * w + x) % 251).astype(np.uint8))
    elif cmd == "full-mask":
        shape = tifffile.imread(argv[2]).shape
        tifffile.imwrite(argv[3], np.full(shape, 255, np.uint8))
    elif cmd == "nan-mask":
        m = tifffile.imread(argv[2]).astype(np.float32)
        ys, xs = np.nonzero(m)
        m[ys[len(ys) // 2], xs[len(xs) // 2]] = np.nan
        tifffile.imwrite(argv[3], m)
    elif cmd == "edit-header":
        edit_header(argv[2], argv[3])
    elif cmd == "flip-sha256":
        s = open(argv[2]).read()
        open(argv[2], "w").write(("1" if s[0] == "0" else "0") + s[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
