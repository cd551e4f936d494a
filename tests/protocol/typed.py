#!/usr/bin/python3
"""typed.py CKPT NRANKS: a checkpoint of tests/protocol/typed.c as h5py sees it.

Every protected array of a predefined type must be a numpy array of the
matching dtype and shape holding what typed.c wrote; the struct must stay
opaque (numpy 'V' of its size). Prints PASS or "FAIL: why"."""
import sys

import h5py
import numpy as np


def fail(why):
    print("FAIL: " + why)
    sys.exit(1)


def main():
    path = sys.argv[1]
    with h5py.File(path, "r") as f:
        a = f["/arrays"]
        want = {
            "x": (np.dtype("<f8"), (20,), np.arange(20, dtype="<f8") + 0.25),
            "grid": (np.dtype("<i4"), (5, 7),
                     (100 * np.arange(5)[:, None] + np.arange(7)[None, :] - 300).astype("<i4")),
            "z": (np.dtype("<c16"), (8,),
                  np.arange(8) / 2 - 1j * (np.arange(8) + 1)),
            "u": (np.dtype("<u8"), (6,),
                  np.uint64(1 << 63) + np.arange(6, dtype="<u8")),
        }
        for name, (dt, shape, values) in want.items():
            d = a[name]
            if d.dtype != dt:
                fail(f"/arrays/{name}: dtype {d.dtype}, want {dt}")
            if d.shape != shape:
                fail(f"/arrays/{name}: shape {d.shape}, want {shape}")
            got = d[()]
            if not np.array_equal(got, values):
                fail(f"/arrays/{name}: values {got!r}, want {values!r}")
            print(f"/arrays/{name}: {d.dtype} {d.shape} ok")
        r = a["rec"]
        if r.dtype.kind != "V" or r.dtype.itemsize != 16 or r.shape != (6,):
            fail(f"/arrays/rec: dtype {r.dtype} shape {r.shape}, want opaque 16-byte x 6")
        # h5py reads opaque data only with the file's own type (tag
        # included) as the memory type: r[()] fails on the tag
        buf = np.empty(r.shape, dtype=r.dtype)
        r.id.read(h5py.h5s.ALL, h5py.h5s.ALL, buf, mtype=r.id.get_type())
        raw = buf.tobytes()
        for g in range(6):
            ia = int.from_bytes(raw[16 * g:16 * g + 4], "little", signed=True)
            fb = np.frombuffer(raw[16 * g + 8:16 * g + 16], "<f8")[0]
            if ia != 3 * g + 1 or fb != 1.5 * g:
                fail(f"/arrays/rec[{g}]: ({ia}, {fb}), want ({3 * g + 1}, {1.5 * g})")
        print("/arrays/rec: opaque ok")
    print("PASS")


main()
