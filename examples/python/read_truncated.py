#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""read_truncated.py [LIBMCSAFE] - libmcsafe from Python through ctypes, no compiler needed.

A file is mapped MAP_SHARED with Python's own mmap module, then cut to one page under the
mapping. Reading across the cut with a slice of the mmap object kills the interpreter with
SIGBUS (shown first, in a child process: the control); mcsafe_copy through ctypes returns the
bytes before the cut and the fault instead. LIBMCSAFE is the path of libmcsafe.so (default: the
one the dynamic loader finds, libmcsafe.so.0). Exit 0 when both behave as described.
"""
import ctypes
import mmap
import os
import signal
import subprocess
import sys
import tempfile

MCSAFE_FAULT_BUS_ERROR = 2
MCSAFE_SIDE_SOURCE = 1


class Fault(ctypes.Structure):  # mcsafe_fault
    _fields_ = [("kind", ctypes.c_uint8), ("side", ctypes.c_uint8), ("address", ctypes.c_uint64),
                ("lsb", ctypes.c_uint32), ("si_code", ctypes.c_int32)]


class CopyResult(ctypes.Structure):  # mcsafe_copy_result
    _fields_ = [("copied", ctypes.c_size_t), ("fault", Fault)]


def truncated_mapping(path, page):
    """Two pages of `path` mapped with Python's mmap, then the file cut to one page."""
    with open(path, "wb") as f:
        f.write(bytes((i * 7 + 3) & 0xFF for i in range(2 * page)))
    fd = os.open(path, os.O_RDWR)
    m = mmap.mmap(fd, 2 * page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    os.ftruncate(fd, page)
    os.close(fd)
    return m


CONTROL = """
import mmap, os, sys
page, path = int(sys.argv[1]), sys.argv[2]
fd = os.open(path, os.O_RDWR)
m = mmap.mmap(fd, 2 * page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
os.ftruncate(fd, page)
print(len(m[page - 100:page + 200]))  # never printed: the slice dies of SIGBUS
"""


def main():
    lib = ctypes.CDLL(sys.argv[1] if len(sys.argv) > 1 else "libmcsafe.so.0")
    lib.mcsafe_copy.restype = CopyResult
    lib.mcsafe_copy.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    lib.mcsafe_fault_kind_string.restype = ctypes.c_char_p
    lib.mcsafe_fault_kind_string.argtypes = [ctypes.c_uint8]
    assert ctypes.sizeof(Fault) == 24 and ctypes.sizeof(CopyResult) == 32, "the layout of mcsafe.h"
    page = mmap.PAGESIZE
    ok = True
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "file")
        with open(path, "wb") as f:
            f.write(b"\0" * 2 * page)
        control = subprocess.run([sys.executable, "-c", CONTROL, str(page), path], capture_output=True)
        died = control.returncode == -signal.SIGBUS
        print(f"control: Python's mmap slice across the cut: "
              f"{'killed by SIGBUS' if died else f'exit status {control.returncode} (expected death by SIGBUS)'}")
        ok &= died

        m = truncated_mapping(path, page)
        base = ctypes.addressof(ctypes.c_char.from_buffer(m))
        buf = ctypes.create_string_buffer(300)
        r = lib.mcsafe_copy(buf, base + page - 100, 300)
        expected = bytes(((page - 100 + i) * 7 + 3) & 0xFF for i in range(100))
        good = (r.copied == 100 and r.fault.kind == MCSAFE_FAULT_BUS_ERROR and r.fault.side == MCSAFE_SIDE_SOURCE
                and r.fault.address == base + page and buf.raw[:100] == expected)
        print(f"mcsafe_copy through ctypes: copied {r.copied} of 300, fault "
              f"{lib.mcsafe_fault_kind_string(r.fault.kind).decode()} at page+{r.fault.address - (base + page)}: "
              f"{'OK' if good else 'FAILED'}")
        ok &= good
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
