"""Does a zip-based file (docx, xlsx, pptx) unpack to a size a converter can hold? The check
shared by knowledge ingest and customers' attachments; standard library only, like
`knowledge.file_signatures`.

Why: office files are zip packages, and a converter unpacks them whole. A 1 MB .docx whose
members unpack to 1 GB took the server and its converter to 7.1 GB resident. So before any
conversion the members are checked three ways:
- the sizes the package declares, added up, against `max_unpacked_bytes`;
- each large member's compression ratio: deflate's ceiling is about 1,032:1, bombs sit near
  it, and office files do not (the sample help centre's worst member is 32:1, a text-heavy
  .docx);
- what the members actually unpack to: Python's zipfile, which every converter here reads
  with, stops a member at its declared size, so a member whose data unpacks to more than it
  declares fails its CRC, and the package is refused as damaged. The declared sizes hold.
"""

from __future__ import annotations

import io
import zipfile

ZIP_FORMATS = frozenset({".docx", ".xlsx", ".pptx"})
DEFAULT_MAX_UNPACKED_BYTES = 200 * 1024 * 1024
"""For the help centre's own files; customers' attachments have their own, lower limit."""
MAX_COMPRESSION_RATIO = 200
_RATIO_FLOOR = 1024 * 1024
"""Members smaller than this unpack to little whatever their ratio; only larger ones are rated."""


class ArchiveTooLarge(ValueError):
    """The package unpacks past a limit; `str()` says which, in words for a person."""


def check_unpacked_size(
    suffix: str, data: bytes, *, max_unpacked_bytes: int, max_ratio: int = MAX_COMPRESSION_RATIO
) -> None:
    """Raise `ArchiveTooLarge` when the zip package in `data` (`suffix` ".docx", ".xlsx" or
    ".pptx") would unpack past `max_unpacked_bytes` or holds a member compressed more than
    `max_ratio`:1, and `zipfile.BadZipFile` when it is not a sound zip (a bad CRC included).
    Other formats always pass. Memory stays bounded: members are unpacked 1 MiB at a time."""
    if suffix not in ZIP_FORMATS:
        return
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        members = package.infolist()
        declared = sum(member.file_size for member in members)
        if declared > max_unpacked_bytes:
            raise ArchiveTooLarge(
                f"it unpacks to {_megabytes(declared)}, over the {_megabytes(max_unpacked_bytes)} limit"
            )
        for member in members:
            if member.file_size > _RATIO_FLOOR and member.file_size > max_ratio * max(member.compress_size, 1):
                raise ArchiveTooLarge(f"it is compressed over {max_ratio}:1, which only a zip bomb is")
        damaged = package.testzip()  # unpacks every member, 1 MiB at a time, checking its CRC
        if damaged is not None:
            raise zipfile.BadZipFile("a member does not unpack to what the package declares")


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):,.1f} MB".replace(".0 MB", " MB")
