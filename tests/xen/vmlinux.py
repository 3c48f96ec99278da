#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Writes the ELF kernel inside an XZ-compressed bzImage (Debian's vmlinuz)
to OUT, as the kernel's scripts/extract-vmlinux does. Usage: vmlinux.py
BZIMAGE OUT.

libxenguest takes the ELF as it is: xl need not decompress 60 MiB in dom0
for each guest, which takes long under emulation.
"""
import lzma
import sys

data = open(sys.argv[1], "rb").read()
at = data.find(b"\xfd7zXZ\x00")
if at < 0:
    sys.exit("vmlinux.py: no XZ stream in " + sys.argv[1])
elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[at:])
if elf[:4] != b"\x7fELF":
    sys.exit("vmlinux.py: the XZ stream in {} is no ELF".format(sys.argv[1]))
with open(sys.argv[2], "wb") as f:
    f.write(elf)
