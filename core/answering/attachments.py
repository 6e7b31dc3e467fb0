"""Turning the files of a customer's message into text the agent can use, within `[attachments]`.

Why a separate process: a converter given a hostile or merely huge file (a workbook that
unzips to gigabytes, a PDF page with a million glyphs) can run for minutes, and a thread
cannot be stopped. pebble's pool kills its worker after `timeout_s` and starts a fresh one.
The worker imports markitdown and builds its converter before it takes a task, so the timeout
measures the conversion, not the start-up (≈ 2 s).

Whose file converts next: `workers` processes (default 2) are shared out by `FairSlots`, the
customers waiting taking turns, and one customer's files never hold more than all but one of
them (of two or more). With a single first-come queue, one message of five slow spreadsheets held another
customer's 50-byte file for 110 s; now that file takes the free process at once. A message's
files together get `message_timeout_s` (waiting included): what is not read by then is named
as not read, so a message of slow files cannot hold its own answer for `max_files` timeouts.

`precheck` is cheap and runs in the caller's process (type, emptiness, size, signature). What
an office file unpacks to (`knowledge.archive_limits`) and page counts need the file opened, so
the worker checks them, under the same timeout, before converting. And whatever a file makes
a converter allocate, the worker's address space is capped (`worker_memory_mb`, with
`setrlimit`): a decompression bomb inside a PDF's streams ends in a MemoryError there, not in
the host swapping.
"""

from __future__ import annotations

import asyncio
import functools
import io
import itertools
import logging
import math
import mimetypes
import multiprocessing
import resource
import zipfile
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, NamedTuple

from pebble import ProcessExpired, ProcessPool

from core.file_sizes import size_text
from core.languages import N_, _
from core.messages import Attachment
from core.quoting import literal
from core.settings import AttachmentSettings
from core.turn_context import AttachmentText
from knowledge.archive_limits import ArchiveTooLarge, check_unpacked_size
from knowledge.file_signatures import check_signature

if TYPE_CHECKING:
    from markitdown import MarkItDown

log = logging.getLogger(__name__)

# Python's own table lacks these, and slim images have no /etc/mime.types to fill the gap.
_EXTENSIONS_BY_TYPE = {
    "text/markdown": ".md",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
}
_TOO_MANY = {
    ".pdf": N_("{name} has {count} pages; the limit is {limit}"),
    ".pptx": N_("{name} has {count} slides; the limit is {limit}"),
    ".xlsx": N_("{name} has {count} sheets; the limit is {limit}"),
}


def extension_of(attachment: Attachment) -> str:
    """The file's type as a lower-case extension (".pdf"): from the filename, else from the
    content type; "" when neither tells."""
    suffix = PurePosixPath(attachment.filename.replace("\\", "/")).suffix.lower()
    if suffix:
        return suffix
    mime = attachment.content_type.split(";", 1)[0].strip().lower()
    return _EXTENSIONS_BY_TYPE.get(mime) or mimetypes.guess_extension(mime) or ""


def cut(text: str, max_chars: int) -> str:
    """`text` cut to `max_chars`, saying so on a last line."""
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars].rstrip()}\n\n[… cut at {max_chars:,} characters]"


class AttachmentReader:
    """Reads customers' files into markdown in a worker process; `aclose` stops the worker."""

    def __init__(self, settings: AttachmentSettings) -> None:
        self.settings = settings
        self._allowed = tuple(dict.fromkeys("." + t.lower().lstrip(".") for t in settings.allowed_types))
        self._pool: ProcessPool | None = None
        self._slots = FairSlots(settings.workers, per_key=max(1, settings.workers - 1))

    def precheck(self, attachment: Attachment) -> str | None:
        """Why the file will be refused, in words for the customer; None when it may be read.
        Converts nothing."""
        name, extension, size = literal(attachment.filename), extension_of(attachment), attachment.size
        if extension not in self._allowed:
            allowed = ", ".join(self._allowed)
            if extension:
                return _(
                    "{name}: files of type {type} are not supported (allowed: {allowed})",
                    name=name,
                    type=extension,
                    allowed=allowed,
                )
            return _("{name}: files of this type are not supported (allowed: {allowed})", name=name, allowed=allowed)
        if size == 0:
            return _("{name} is empty", name=name)
        if size > self.settings.max_bytes:
            return _(
                "{name} is {size}, over the {limit} limit",
                name=name,
                size=size_text(size, round_up=True),
                limit=size_text(self.settings.max_bytes),
            )
        try:
            check_signature(extension, attachment.data)
        except ValueError as exc:
            return _("{name} looks broken ({reason})", name=name, reason=exc)
        return None

    async def read(self, attachment: Attachment, *, contact: str = "", deadline: float = math.inf) -> AttachmentText:
        """The file's text, or the problem that kept it unread; never raises for a bad file.
        It waits its turn among `contact`'s files and other contacts'; `deadline` (the event
        loop's clock) ends its message's budget."""
        name = attachment.filename
        problem = self.precheck(attachment)
        if problem is not None:
            return AttachmentText(name, None, problem)
        extension, shown = extension_of(attachment), literal(name)
        try:
            text = await self._extract(attachment.data, extension, contact=contact, deadline=deadline)
        except _OutOfBudget:
            log.warning("attachment %s: not read within its message's %s s", name, self.settings.message_timeout_s)
            problem = _(
                "{name} was not read: the files of one message may take {seconds} seconds in all",
                name=shown,
                seconds=f"{self.settings.message_timeout_s:g}",
            )
        except TimeoutError:
            log.warning("attachment %s: reading it took over %s s, stopped", name, self.settings.timeout_s)
            problem = _("{name} took too long to read", name=shown)
        except _TooManyPages as exc:
            problem = _(_TOO_MANY[extension], name=shown, count=exc.count, limit=self.settings.max_pages)
        except ArchiveTooLarge as exc:
            problem = _("{name} was not read: {reason}", name=shown, reason=exc)
        except MemoryError:
            log.warning(
                "attachment %s: reading it needed more than the converter's %s MB", name, self.settings.worker_memory_mb
            )
            problem = _("{name} is too large to read", name=shown)
        except ProcessExpired as exc:  # a C library that cannot allocate aborts instead of raising
            log.warning(
                "attachment %s: the converter died reading it (exit code %s; its cap is %s MB)",
                name,
                exc.exitcode,
                self.settings.worker_memory_mb,
            )
            problem = _("{name} is too large to read", name=shown)
        except Exception as exc:  # noqa: BLE001 — whatever a converter or the pool raises, the turn goes on
            log.warning("attachment %s could not be read: %s: %s", name, type(exc).__name__, exc)
            problem = _("{name} could not be read (it looks damaged or password-protected)", name=shown)
        else:
            if text:
                return AttachmentText(name, text)
            problem = _("{name} has no readable text (a scanned image?)", name=shown)
        return AttachmentText(name, None, problem)

    async def read_all(self, attachments: Sequence[Attachment], *, contact: str) -> tuple[AttachmentText, ...]:
        """Every file of a message from `contact`, in order, within `message_timeout_s`; those
        past `max_files` are not read."""
        limit = self.settings.max_files
        deadline = asyncio.get_running_loop().time() + self.settings.message_timeout_s
        read = await asyncio.gather(*(self.read(a, contact=contact, deadline=deadline) for a in attachments[:limit]))
        only = (
            N_("{name} was not read: only the first file of a message is read")
            if limit == 1
            else N_("{name} was not read: only the first {limit} files of a message are read")
        )
        skipped = (AttachmentText(a.filename, None, _(only, name=a.filename, limit=limit)) for a in attachments[limit:])
        return (*read, *skipped)

    async def aclose(self) -> None:
        """Stop the workers, killing conversions under way. Call after the last `read`."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.stop()  # type: ignore[no-untyped-call]  # pebble's stop() has no annotations
            await asyncio.to_thread(pool.join)

    async def _extract(self, data: bytes, extension: str, *, contact: str, deadline: float) -> str:
        """The conversion on a worker once `contact`'s turn comes, stopped at `timeout_s` or
        at `deadline`, whichever is first (`_OutOfBudget` for the deadline)."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(deadline if deadline < math.inf else None):
                await self._slots.take(contact)
        except TimeoutError:
            raise _OutOfBudget from None
        try:
            left = deadline - loop.time()
            if left <= 0:
                raise _OutOfBudget
            limits = _Limits(self.settings.max_pages, self.settings.max_chars, self.settings.max_unpacked_bytes)
            future = self._started_pool().schedule(
                _extract, args=(data, extension, limits), timeout=min(self.settings.timeout_s, left)
            )
            try:
                return await asyncio.wrap_future(future)
            except TimeoutError:
                if left < self.settings.timeout_s:  # the message's budget stopped it, not its own timeout
                    raise _OutOfBudget from None
                raise
        finally:
            self._slots.give_back(contact)

    def _started_pool(self) -> ProcessPool:
        if self._pool is None:
            # spawn, not fork: forking a process that runs torch and chromadb threads can
            # leave the child holding a lock no thread will release
            self._pool = ProcessPool(
                max_workers=self.settings.workers,
                initializer=_start_worker,
                initargs=(self.settings.worker_memory_mb * 1024 * 1024,),
                context=multiprocessing.get_context("spawn"),
            )
        return self._pool


class _OutOfBudget(Exception):
    """The message's files ran out of `message_timeout_s` before this one was read."""


class FairSlots:
    """`size` slots (converter processes) taken in turn by keys (contacts): a freed slot goes
    to the waiting key served least recently among those holding fewer than `per_key`, so one
    key's many waiters never hold another key's one behind them. Within a key, first come
    first served."""

    def __init__(self, size: int, *, per_key: int) -> None:
        self._free = size
        self._per_key = per_key
        self._held: Counter[str] = Counter()
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}
        self._turns = itertools.count(1)
        self._last_turn: dict[str, int] = {}
        """When each key holding or awaiting a slot was last given one."""

    async def take(self, key: str) -> None:
        """Wait for a slot for `key`; a caller cancelled while waiting takes none."""
        granted = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, deque()).append(granted)
        self._hand_out()
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():  # granted just as it was cancelled
                self.give_back(key)
            raise

    def give_back(self, key: str) -> None:
        self._held[key] -= 1
        if not self._held[key]:
            del self._held[key]
            if key not in self._waiting:
                del self._last_turn[key]
        self._free += 1
        self._hand_out()

    def _hand_out(self) -> None:
        while self._free:
            ready = [key for key in self._waiting if self._held[key] < self._per_key]
            if not ready:
                return
            key = min(ready, key=lambda k: self._last_turn.get(k, 0))  # the first of equals: the earliest in line
            line = self._waiting[key]
            granted = line.popleft()
            if not line:
                del self._waiting[key]
            if granted.cancelled():
                if not self._held[key] and key not in self._waiting:
                    self._last_turn.pop(key, None)
                continue
            self._held[key] += 1
            self._free -= 1
            self._last_turn[key] = next(self._turns)
            granted.set_result(None)


# In the worker process from here on.


class _TooManyPages(Exception):
    def __init__(self, count: int) -> None:
        super().__init__(count)  # the args are what pickling carries back to the caller
        self.count = count


class _Unreadable(Exception):
    """A conversion failed; the message names exception types only."""


class _Limits(NamedTuple):
    max_pages: int
    max_chars: int
    max_unpacked_bytes: int


def _start_worker(address_space_bytes: int) -> None:
    """Cap the worker's address space, then load the converter once, before any task."""
    resource.setrlimit(resource.RLIMIT_AS, (address_space_bytes, address_space_bytes))
    _markitdown()


@functools.cache  # once per worker process: loading Magika's model takes a while
def _markitdown() -> MarkItDown:
    from markitdown import MarkItDown

    return MarkItDown(enable_plugins=False)


def _extract(data: bytes, extension: str, limits: _Limits) -> str:
    """The file's markdown, stripped and cut to `max_chars` ("" when it has no text)."""
    from markitdown import StreamInfo

    with _content_free_errors():
        check_unpacked_size(extension, data, max_unpacked_bytes=limits.max_unpacked_bytes)
        pages = _count_pages(data, extension)
    if pages > limits.max_pages:
        raise _TooManyPages(pages)
    with _content_free_errors():
        result = _markitdown().convert_stream(io.BytesIO(data), stream_info=StreamInfo(extension=extension))
    return cut((result.markdown or "").strip(), limits.max_chars)


def _count_pages(data: bytes, extension: str) -> int:
    """Pages of a PDF, slides of a deck, sheets of a workbook; 0 for a format without pages.

    Opening the file also checks that it is what its name says, which matters for a .docx:
    markitdown reads a plain zip named .docx as a zip archive, converting every file inside.
    """
    stream = io.BytesIO(data)
    if extension == ".docx":
        with zipfile.ZipFile(stream) as package:
            package.getinfo("word/document.xml")  # KeyError: a zip, not a document
        return 0
    if extension == ".pdf":
        from pdfminer.pdfdocument import PDFDocument
        from pdfminer.pdfpage import PDFPage
        from pdfminer.pdfparser import PDFParser

        return sum(1 for _ in PDFPage.create_pages(PDFDocument(PDFParser(stream))))
    if extension == ".pptx":
        from pptx import Presentation

        return len(Presentation(stream).slides)
    if extension == ".xlsx":
        from openpyxl import load_workbook

        workbook = load_workbook(stream, read_only=True)  # reads the sheet list, not the cells
        try:
            return len(workbook.sheetnames)
        finally:
            workbook.close()
    return 0


@contextmanager
def _content_free_errors() -> Iterator[None]:
    """Re-raise any failure as `_Unreadable` naming its types: converters' messages quote the
    file (a bad byte, a token), and they end up in the caller's log. A file over a size limit
    and running out of memory pass as they are: they say nothing of the content."""
    from markitdown import FileConversionException

    try:
        yield
    except (ArchiveTooLarge, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001
        causes = (
            [a.exc_info[0] for a in exc.attempts if a.exc_info and a.exc_info[0]]
            if (isinstance(exc, FileConversionException) and exc.attempts)
            else []
        )
        if any(issubclass(cause, MemoryError) for cause in causes):
            raise MemoryError from None  # markitdown wraps what its converters raise
        names = type(exc).__name__ + (" (" + ", ".join(cause.__name__ for cause in causes) + ")" if causes else "")
        raise _Unreadable(names) from None
