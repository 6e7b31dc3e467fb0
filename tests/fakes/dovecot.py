"""A real Dovecot IMAP server for tests: Debian's `dovecot-imapd` (2.3), started as root without
systemd (`dovecot -F -c <conf>`), with its config, sockets, state, log, pid file and maildirs
all in one temp dir, listening on 127.0.0.1 on a free port, `ssl = no`, plain passwords.

    server = Dovecot()                          # or Dovecot(users={"a@x.test": "pw", …})
    await server.start()                        # returns once the port greets with "* OK"
    uid = await server.append(raw_bytes)        # as another mail client would deliver it
    … point the client under test at server.host, server.port, server.username, server.password …
    await server.close()                        # stop() + remove the temp dir

`running_dovecot()` does the same as a context manager. The `dovecot` fixture in
tests/conftest.py shares one server per test module and gives each test a mailbox of its own
(`new_mailbox`: a new user with an empty INBOX, which the helpers and `username` then act as).
Both skip when Dovecot is missing or unusable, and fail instead when SUPPORTHUB_REQUIRE_DOVECOT
is set (CI sets it: never skipped there).

`stop()` then `start()` is a server restart: same port, same mail. `reset_uidvalidity(folder)`
is a server-side rebuild of one folder (Dovecot restarted around it): the messages stay, their
UIDs start again from 1 under a new UIDVALIDITY, and connected clients are disconnected.

The helpers (`append`, `flags`, `uids`, `uidvalidity`, `create_folder`) speak IMAP with the
stdlib `imaplib` in a thread, one short connection each, so they never share a connection (or
a library's bugs) with the client under test. They act as the first user unless `user=` names
another. Folder names are plain ASCII (letters, digits, space, `_`, `-`; `.` nests).

What Dovecot 2.3 needs here (learned running it):
- The mail user cannot be root: Dovecot refuses mail access for UID 0 whatever
  `first_valid_uid` says. Run as root, mail is owned by nobody (65534) and the temp dir is
  made world-traversable (0755) so nobody can reach its home and the `dovecot` user (the auth
  process) can read the passwd-file. `mkdtemp` under /tmp, not pytest's tmp_path: the UNIX
  sockets in `base_dir` must fit in 108 bytes.
- Without `ssl = no` the built-in default (`ssl = yes`) wants a certificate; the imaps
  listener is switched off with `port = 0`.
- IDLE pushes come from inotify within about half a second; `mailbox_idle_check_interval = 1
  secs` bounds them where inotify is missing (the default is 30 s).
- Deleting and recreating a folder (IMAP DELETE + CREATE, or its index files on disk) while a
  client has it selected or IDLEs on it gets that client an untagged "NO Internal error
  occurred" and then a closed connection ("Mailbox was deleted under us" in the log), so
  `reset_uidvalidity` restarts the server around the rebuild instead.
- INBOX cannot be deleted or renamed over IMAP ("INBOX can't be deleted"); `doveadm mailbox
  update --uid-validity` changes the number but keeps the UIDs, which would not catch a client
  that ignores UIDVALIDITY. Removing the folder's `dovecot-uidlist` and `dovecot.index*` while
  stopped renumbers from 1 and takes the next value of the `dovecot-uidvalidity` counter.
- `stop()` sends SIGTERM to the whole process group: each process shuts itself down, in ~30 ms
  (SIGTERM to the master alone takes 1 s, 6 s with a client connected: it waits for its
  children). With a client connected the master alone still lingers a second after its
  children are gone, so whatever is left after 0.3 s gets SIGKILL; `start` then removes the
  stale master.pid (Dovecot refuses to start while the PID in it is alive, whoever it is now).
  Children can outlive the master and are reaped by PID 1, so `stop()` waits until the group
  holds no live (non-zombie) process.
- `auth_failure_delay = 0 secs`: Dovecot otherwise answers a wrong password after 2 s.
- Dovecot 2.4 changed the config language (`dovecot_config_version`, `mail_driver`,
  `passwd_file_path`, …); this writes 2.3 syntax and says so instead of starting 2.4.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pytest

REQUIRE_ENV = "SUPPORTHUB_REQUIRE_DOVECOT"
HOST = "127.0.0.1"
NOBODY = 65534
START_TIMEOUT_S = 15.0
STOP_GRACE_S = 0.3
STOP_TIMEOUT_S = 5.0
DEFAULT_USERS: Mapping[str, str] = {"support@example.test": "imap-secret"}

_FOLDER = re.compile(r"[A-Za-z0-9 _.-]+")
_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]")
_T = TypeVar("_T")


class DovecotUnavailable(RuntimeError):
    """Dovecot cannot run here (not installed, not root, an unsupported version)."""


class DovecotError(RuntimeError):
    """Dovecot did not start or stop as expected; the message carries its log's tail."""


def find_dovecot() -> str | None:
    return shutil.which("dovecot") or next(
        (path for path in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(path, os.X_OK)), None
    )


def unavailable_reason() -> str | None:
    """Why the Dovecot fixture cannot run on this machine, or None when it can."""
    binary = find_dovecot()
    if binary is None:
        return "IMAP tests need Dovecot (apt-get install -y dovecot-imapd)"
    if os.geteuid() != 0:
        return "IMAP tests start Dovecot, which needs root here (its mail and login users)"
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    if not re.match(r"2\.[23]\.", version):
        return f"IMAP tests write a Dovecot 2.3 config; {binary} is {version or 'of unknown version'}"
    return None


class Dovecot:
    """One Dovecot instance with its own temp dir, users and port. Not thread-safe; one loop."""

    def __init__(self, *, users: Mapping[str, str] = DEFAULT_USERS, spare_mailboxes: int = 0) -> None:
        if not users:
            raise ValueError("Dovecot needs at least one user")
        for name, password in users.items():
            if not name or any(c in name + password for c in ":\r\n\0") or any(c in name for c in " /%"):
                raise ValueError(f"user {name!r}: no ':', spaces, '/', '%' or line breaks in a passwd-file entry")
        self.users = dict(users)
        self.host = HOST
        self.port = 0
        """Set by the first `start`; kept across restarts."""
        self.root: Path | None = None
        """The temp dir holding everything (config, sockets, log, mail); set by the first `start`."""
        self._process: subprocess.Popen[bytes] | None = None
        self._mailboxes = spare_mailboxes
        self._spares = [(f"support-{i}@example.test", f"imap-secret-{i}") for i in range(1, spare_mailboxes + 1)]
        """Users in the passwd-file that `new_mailbox` hands out, in order."""

    @property
    def username(self) -> str:
        return next(iter(self.users))

    @property
    def password(self) -> str:
        return self.users[self.username]

    @property
    def running(self) -> bool:
        return self._process is not None

    @property
    def log_path(self) -> Path:
        return self._root / "dovecot.log"

    def log(self) -> str:
        """Dovecot's own log (logins, errors), for assertions and failure messages."""
        parts = [
            path.read_text(errors="replace") for path in (self._root / "stderr.log", self.log_path) if path.exists()
        ]
        return "".join(parts)

    async def start(self) -> None:
        """Start Dovecot (again) and return once its IMAP port greets a client."""
        if self._process is not None:
            raise RuntimeError("Dovecot is already running")
        binary = find_dovecot()
        if binary is None:
            raise DovecotUnavailable("dovecot is not installed")
        first = self.root is None
        if first:
            self._prepare()
        (self._root / "run" / "master.pid").unlink(missing_ok=True)  # left by a SIGKILL
        for attempt in range(3):
            if first:
                self.port = _free_port()
                self._write_config()
            self._process = self._spawn(binary)
            try:
                await self._wait_ready(self._process)
                return
            except DovecotError as error:
                await self.stop()
                if not (first and "Address already in use" in str(error) and attempt < 2):
                    raise  # a port another process took between _free_port and bind: try another

    async def stop(self, *, kill: bool = False) -> None:
        """Stop Dovecot, keeping mail and port for `start`: SIGTERM to its whole process group
        (connected clients get "* BYE Server shutting down."), SIGKILL to whatever is left after
        0.3 s. `kill=True` SIGKILLs the group at once, as a crash would: clients just lose the line."""
        process, self._process = self._process, None
        if process is None:
            return
        group = process.pid  # start_new_session: the master leads its own group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL if kill else signal.SIGTERM)
        if not await _until(lambda: process.poll() is not None and not live_processes(group), STOP_GRACE_S):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        if not await _until(lambda: process.poll() is not None and not live_processes(group), STOP_TIMEOUT_S):
            raise DovecotError(f"Dovecot processes {live_processes(group)} survived SIGKILL")

    async def close(self) -> None:
        """Stop Dovecot and remove the temp dir."""
        await self.stop()
        if self.root is not None and self.root.exists():
            shutil.rmtree(self.root)

    async def new_mailbox(self) -> str:
        """Make the next spare user (an empty INBOX, in the passwd-file since the start) the one
        `username`, `password` and the helpers act as: a test's own mailbox on a server shared
        by several tests. Spares, because Dovecot sees a changed passwd-file only once its
        modification second has changed. Starts the server if a test left it stopped."""
        if not self._spares:
            raise DovecotError(f"no spare mailbox left of the {self._mailboxes} this server was started with")
        name, password = self._spares.pop(0)
        self.users = {name: password, **self.users}
        if not self.running:
            await self.start()
        return name

    async def __aenter__(self) -> Dovecot:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- helpers: what other mail clients and the server's operator do ---

    async def append(
        self, raw: bytes, folder: str = "INBOX", flags: Iterable[str] = (), *, user: str | None = None
    ) -> int:
        """Deliver `raw` into `folder` (IMAP APPEND; bare LF becomes CRLF) and return its UID."""
        flag_list = "(" + " ".join(flags) + ")"

        def run(imap: imaplib.IMAP4) -> int:
            typ, data = imap.append(_quote(folder), flag_list if flag_list != "()" else None, None, raw)
            found = _APPENDUID.search(_joined(data)) if typ == "OK" else None
            if found is None:
                raise DovecotError(f"APPEND to {folder!r} failed: {typ} {data!r}")
            return int(found.group(2))

        return await self._imap(run, user)

    async def flags(self, uid: int, folder: str = "INBOX", *, user: str | None = None) -> frozenset[str]:
        """The flags of message `uid` (e.g. {"\\\\Seen"}), read without changing them."""

        def run(imap: imaplib.IMAP4) -> frozenset[str]:
            _examine(imap, folder)
            typ, data = imap.uid("FETCH", str(uid), "(FLAGS)")
            line = _joined(data)
            if typ != "OK" or b"FLAGS" not in line:
                raise LookupError(f"no message with UID {uid} in {folder!r}: {typ} {data!r}")
            return frozenset(flag.decode() for flag in imaplib.ParseFlags(line))

        return await self._imap(run, user)

    async def uids(self, folder: str = "INBOX", *, user: str | None = None) -> list[int]:
        """The UIDs of the messages in `folder`, ascending."""

        def run(imap: imaplib.IMAP4) -> list[int]:
            _examine(imap, folder)
            typ, data = imap.uid("SEARCH", "ALL")
            if typ != "OK":
                raise DovecotError(f"UID SEARCH in {folder!r} failed: {data!r}")
            return sorted(int(uid) for uid in _joined(data).split())

        return await self._imap(run, user)

    async def uidvalidity(self, folder: str = "INBOX", *, user: str | None = None) -> int:
        def run(imap: imaplib.IMAP4) -> int:
            _examine(imap, folder)
            _, data = imap.response("UIDVALIDITY")
            return int(_joined(data))

        return await self._imap(run, user)

    async def create_folder(self, folder: str, *, user: str | None = None) -> None:
        def run(imap: imaplib.IMAP4) -> None:
            typ, data = imap.create(_quote(folder))
            if typ != "OK":
                raise DovecotError(f"CREATE {folder!r} failed: {data!r}")

        await self._imap(run, user)

    async def reset_uidvalidity(self, folder: str = "INBOX", *, user: str | None = None) -> int:
        """Rebuild `folder` as a server migration would, in about 0.2 s: Dovecot is stopped
        (clients get BYE and lose the line), the folder's UID list and indexes are removed, Dovecot
        starts again on the same port. Its messages stay, renumbered from UID 1, under a new
        UIDVALIDITY, which is returned."""
        before = await self.uidvalidity(folder, user=user)
        maildir = self._maildir(folder, user)
        await self.stop()
        for path in [*maildir.glob("dovecot-uidlist*"), *maildir.glob("dovecot.index*")]:
            path.unlink()
        await self.start()
        after = await self.uidvalidity(folder, user=user)
        if after == before:
            raise DovecotError(f"UIDVALIDITY of {folder!r} stayed {before} after the rebuild")
        return after

    # --- internals ---

    @property
    def _root(self) -> Path:
        if self.root is None:
            raise RuntimeError("Dovecot was never started")
        return self.root

    def _maildir(self, folder: str, user: str | None) -> Path:
        name = user or self.username
        if name not in self.users:
            raise KeyError(f"no user {name!r}")
        maildir = self._root / "home" / name / "Maildir"
        if folder.upper() == "INBOX":
            return maildir
        return maildir / ("." + _checked(folder))

    def _prepare(self) -> None:
        root = Path(tempfile.mkdtemp(prefix="dovecot-"))
        root.chmod(0o755)  # nobody reaches the maildirs, the dovecot user reads the passwd-file
        (root / "home").mkdir()
        os.chown(root / "home", NOBODY, NOBODY)
        entries = [*self.users.items(), *self._spares]
        (root / "users").write_text("".join(f"{name}:{{PLAIN}}{password}::::::\n" for name, password in entries))
        self.root = root

    def _write_config(self) -> None:
        root = self._root
        (root / "dovecot.conf").write_text(f"""\
# Written by tests/fakes/dovecot.py: everything lives in {root}.
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = {HOST}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
auth_failure_delay = 0 secs
first_valid_uid = 1
mail_location = maildir:~/Maildir
mailbox_idle_check_interval = 1 secs
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/users
}}
userdb {{
  driver = static
  args = uid={NOBODY} gid={NOBODY} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = {HOST}
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
""")

    def _spawn(self, binary: str) -> subprocess.Popen[bytes]:
        with open(self._root / "stderr.log", "ab") as stderr:
            return subprocess.Popen(
                [binary, "-F", "-c", str(self._root / "dovecot.conf")],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, for stop()
            )

    async def _wait_ready(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise DovecotError(f"dovecot exited with {process.returncode}:\n{self._log_tail()}")
            with contextlib.suppress(OSError, asyncio.TimeoutError):
                reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), 1)
                try:
                    greeting = await asyncio.wait_for(reader.readline(), 2)
                finally:
                    writer.close()
                    with contextlib.suppress(OSError):
                        await writer.wait_closed()
                if greeting.startswith(b"* OK"):
                    return
            await asyncio.sleep(0.05)
        raise DovecotError(
            f"Dovecot did not greet on {self.host}:{self.port} within {START_TIMEOUT_S} s:\n{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    async def _imap(self, run: Callable[[imaplib.IMAP4], _T], user: str | None) -> _T:
        name = user or self.username
        if name not in self.users:
            raise KeyError(f"no user {name!r}")
        if self._process is None:
            raise RuntimeError("Dovecot is not running")

        def session() -> _T:
            with imaplib.IMAP4(self.host, self.port, timeout=10) as imap:
                imap.login(name, self.users[name])
                return run(imap)

        return await asyncio.to_thread(session)


def live_processes(pgid: int) -> list[int]:
    """The processes of group `pgid` that are not zombies (Linux /proc)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": state ppid pgrp …
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(entry.name))
    return alive


def require_dovecot() -> None:
    """Skip the test where Dovecot cannot run; fail it instead when REQUIRE_ENV is set (CI)."""
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get(REQUIRE_ENV):  # CI sets it: never skipped there
            pytest.fail(f"{reason} ({REQUIRE_ENV} is set)")
        pytest.skip(reason)


@contextlib.asynccontextmanager
async def running_dovecot(*, users: Mapping[str, str] = DEFAULT_USERS) -> AsyncIterator[Dovecot]:
    """A started Dovecot, skipping the test where it cannot run (failing if REQUIRE_ENV is set)."""
    require_dovecot()
    async with Dovecot(users=users) as server:
        yield server


async def _until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _checked(folder: str) -> str:
    if not _FOLDER.fullmatch(folder) or folder.startswith(".") or ".." in folder:
        raise ValueError(f"folder {folder!r}: plain ASCII letters, digits, space, '_', '-' and '.' only")
    return folder


def _quote(folder: str) -> str:
    return '"' + (folder if folder.upper() == "INBOX" else _checked(folder)) + '"'


def _examine(imap: imaplib.IMAP4, folder: str) -> None:
    typ, data = imap.select(_quote(folder), readonly=True)
    if typ != "OK":
        raise DovecotError(f"EXAMINE {folder!r} failed: {data!r}")


def _joined(data: list[Any]) -> bytes:
    """imaplib's response data as one bytes line (literals' headers only)."""
    parts = [item[0] if isinstance(item, tuple) else item for item in data if item is not None]
    return b" ".join(part for part in parts if isinstance(part, bytes))
