"""Decompression bombs built in a test, a megabyte at a time: a real office file padded with a
member that deflates about 1,000:1, a member whose declared size is a lie, a deflated stream."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

MB = 1024 * 1024


def padded(package: bytes, unpacked_bytes: int) -> bytes:
    """The zip `package` (a .docx, .xlsx, .pptx) with one more member, `word/padding.xml`:
    `unpacked_bytes` of spaces that deflate to about a thousandth of that."""
    buffer = io.BytesIO(package)
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive, archive.open("word/padding.xml", "w") as member:
        for _ in range(unpacked_bytes // MB):
            member.write(b" " * MB)
    return buffer.getvalue()


def understated(package: bytes, member: str, size: int) -> bytes:
    """`package` with `member`'s uncompressed size declared as `size` in its central directory
    header (the one readers go by)."""
    out = bytearray(package)
    central = out.index(b"PK\x01\x02")
    while out[central + 46 : central + 46 + struct.unpack_from("<H", out, central + 28)[0]] != member.encode():
        central = out.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", out, central + 24, size)
    return bytes(out)


def deflated_spaces(size: int) -> bytes:
    """`size` bytes of spaces, deflated (about 1,000:1)."""
    compressor = zlib.compressobj(9)
    megabyte = b" " * MB
    return b"".join([*(compressor.compress(megabyte) for _ in range(size // MB)), compressor.flush()])
