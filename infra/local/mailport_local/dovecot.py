r"""A private Dovecot (IMAP + POP3) on 127.0.0.1: the tests' throw-away one, and `make run`'s
demo mail server (mailport_local.demo_mail).

Usage::

    base = Path(tempfile.mkdtemp(prefix="dv", dir="/tmp"))
    with Dovecot(base) as dv:
        dv.add_user("alice", "secret")
        dv.seed_maildir("alice", "INBOX", [(raw, {"\\\\Seen"}, 1700000000.0)])
        IMAPClient(dv.host, dv.imaps_port, ssl=True, ssl_context=dv.ssl_context())

Everything (config, TLS material, sockets, logs, mail) lives under BASE; the
caller owns BASE and removes it afterwards, or keeps it: a BASE started again
(``ports=``, ``keep_tls=True``, as the demo mail server does) keeps its users,
mail, UIDs and UIDVALIDITY, which Dovecot's indexes in the maildirs hold.

A failed login answers after up to 0.5 s (Dovecot 2.3 batches auth failures
on a 500 ms timer) but does not slow down later logins (the per-IP auth
penalty is disabled).

Written for Dovecot 2.3 running as root (the way the test machines run it);
see /work/shared/notes/mail-servers.md for the measured facts it builds on.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import ssl
import subprocess
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from mailport_local import dovecot_config
from mailport_local.dovecot_config import MAIL_GID, MAIL_UID
from mailport_local.dovecot_support import (
    dovecot_available,
    free_ports,
    imap_utf7_encode,
    kill_session,
    listening_inodes,
    make_tls,
    session_pids,
    socket_inodes,
    tail,
    which,
)

__all__ = [
    "MAIL_GID",
    "MAIL_UID",
    "Dovecot",
    "DovecotError",
    "dovecot_available",
    "imap_utf7_encode",
]
# Dovecot refuses to run mail processes as uid 0, and as root it needs no
# /etc/passwd entry for a numeric uid given by the userdb (MAIL_UID, MAIL_GID).

# Maildir info flags ("2," suffix) for the IMAP system flags.  \Recent cannot
# be stored: it is a session property, not a flag.
_SYSTEM_FLAGS = {
    "\\Draft": "D",
    "\\Flagged": "F",
    "\\Answered": "R",
    "\\Seen": "S",
    "\\Deleted": "T",
}
# Dovecot maps keywords to the lowercase letters a..z via dovecot-keywords.
_MAX_KEYWORDS = 26
_SAFE_NAME = re.compile(r"[A-Za-z0-9._@+-]+")
_MAX_RUN_DIR = 64  # bytes: sun_path's 108 less the deepest socket name Dovecot makes


def _sizes(path: Path) -> tuple[int, int]:
    """A file's size and virtual size (bare LFs counted as CRLF), read in chunks."""
    size = lfs = crlfs = 0
    last = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            size += len(chunk)
            lfs += chunk.count(b"\n")
            crlfs += chunk.count(b"\r\n") + (last == b"\r" and chunk[:1] == b"\n")
            last = chunk[-1:]
    return size, size + lfs - crlfs


class DovecotError(RuntimeError):
    """Dovecot failed to start, stop, or run a doveadm command."""


class Dovecot:
    """A private Dovecot listening on 127.0.0.1 high ports, rooted at BASE."""

    host = "127.0.0.1"

    def __init__(
        self,
        base: Path,
        *,
        start_timeout: float = 10.0,
        oauth2_introspection_url: str | None = None,
        namespace_prefix: str = "",
        run_dir: Path | None = None,
        ports: tuple[int, int, int, int] | None = None,
        keep_tls: bool = False,
        username_format: str | None = None,
    ) -> None:
        """``run_dir``: where the sockets go (default BASE/run), so that a BASE kept in a
        long path (the local stack's state dir) still works. ``ports``: (imap, imaps, pop3,
        pop3s) to listen on instead of free ones, so a kept BASE keeps its addresses.
        ``keep_tls``: reuse BASE's CA and certificate while they stay valid, so clients that
        trust the CA keep trusting it across restarts. ``username_format``: Dovecot's
        ``auth_username_format`` (and the oauth2 passdb's). Users already in BASE are known.
        """
        self.base = Path(base).resolve()
        # "INBOX." puts every folder under INBOX, as Courier-IMAP, Cyrus (classic namespace)
        # and many shared hosts do: the folders stay where they are on disk.
        self.namespace_prefix = namespace_prefix
        # With a URL, XOAUTH2/OAUTHBEARER logins are checked by that token introspection
        # endpoint (RFC 7662-like POST), as Exchange Online checks Entra tokens.
        self.oauth2_introspection_url = oauth2_introspection_url
        # Dovecot's auth_username_format (default %Lu): the demo's "%Ln" lets a login as
        # taro@<any domain> (a Microsoft 365 address, XOAUTH2) reach the user taro.
        self.username_format = username_format
        # Unix sockets live under BASE/run (or run_dir); sun_path is 108 bytes including
        # the NUL, and Dovecot's deepest socket name adds ~30 bytes.
        self.run_dir = Path(run_dir).resolve() if run_dir else self.base / "run"
        if len(os.fsencode(self.run_dir)) > _MAX_RUN_DIR:
            raise ValueError(f"too long for unix socket paths: {self.run_dir}")
        self.fixed_ports = ports
        self.start_timeout = start_timeout
        self.etc = self.base / "etc"
        self.conf = self.etc / "dovecot.conf"
        self.users_dir = self.etc / "users"
        self.mail_root = self.base / "mail"
        self.log_path = self.base / "log" / "dovecot.log"
        self._stderr_path = self.base / "log" / "master.out"
        self.imap_port = 0
        self.imaps_port = 0
        self.pop3_port = 0
        self.pop3s_port = 0
        self._users: dict[str, str] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[[int], Dovecot] | None = None
        self._seq = 0

        for d in (self.etc, self.users_dir, self.log_path.parent, self.mail_root):
            d.mkdir(parents=True, exist_ok=True)
        # mkdtemp makes BASE 0700; the auth process (user "dovecot") must read
        # the passwd-files and mail processes (uid 5000) must reach BASE/mail.
        for d in (self.base, self.etc, self.users_dir, self.mail_root):
            d.chmod(0o755)
        # Kept material lives a year: a restart (or drop-mail) seldom has to make new.
        days = 365 if keep_tls else 30
        self.ca_pem, self._cert_pem, self._key_pem = make_tls(self.etc, reuse=keep_tls, days=days)
        for path in sorted(self.users_dir.iterdir()):
            # A BASE kept from an earlier run: its users (name:{PLAIN}password:...).
            name, _, rest = path.read_text(encoding="utf-8").partition(":")
            if name == path.name and rest.startswith("{PLAIN}"):
                self._users[name] = rest.removeprefix("{PLAIN}").split(":", 1)[0]

    # -- lifecycle ---------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while the master process lives."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The master's process id while it runs (it leads a session of its own)."""
        return self._proc.pid if self.running and self._proc is not None else None

    def start(self) -> None:
        """Write the configuration and start Dovecot; return once it listens."""
        if self._proc is not None:
            raise DovecotError("already started")
        dovecot = which("dovecot")
        if dovecot is None:
            raise DovecotError("dovecot is not installed")
        ports = self.fixed_ports or tuple(free_ports(4))
        self.imap_port, self.imaps_port, self.pop3_port, self.pop3s_port = ports
        self.conf.write_text(dovecot_config.render(self), encoding="utf-8")
        with open(self._stderr_path, "wb") as err:
            # -F keeps the master in the foreground so it is our child and its
            # pid is known without racing on master.pid; a new session lets
            # stop() find and reap every process Dovecot forked.
            self._proc = subprocess.Popen(  # noqa: S603 - Debian's dovecot, our config
                [dovecot, "-F", "-c", str(self.conf)],
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._finalizer = weakref.finalize(self, kill_session, self._proc.pid)
        wanted = {self.imap_port, self.imaps_port, self.pop3_port, self.pop3s_port}
        deadline = time.monotonic() + self.start_timeout
        while not self._listening(wanted):
            if self._proc.poll() is not None:
                self._fail(f"dovecot exited with status {self._proc.returncode} during start")
            if time.monotonic() > deadline:
                self._fail(f"dovecot not listening on {sorted(wanted)} after {self.start_timeout}s")
            time.sleep(0.01)

    def _listening(self, ports: set[int]) -> bool:
        # The sockets must be the master's own: a port picked by
        # free_ports() may have been taken by another process meanwhile,
        # and then Dovecot exits with "Address already in use".
        assert self._proc is not None
        listening = listening_inodes()
        if not ports <= listening.keys():
            return False
        return {listening[p] for p in ports} <= socket_inodes(self._proc.pid)

    def _fail(self, what: str) -> None:
        msg = (
            f"{what}\n--- {self.log_path} (tail) ---\n{tail(self.log_path)}"
            f"\n--- {self._stderr_path} (tail) ---\n{tail(self._stderr_path)}"
        )
        self.stop()
        raise DovecotError(msg)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop Dovecot and every process it forked."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        sid = proc.pid
        if proc.poll() is None:
            # SIGTERM to the master alone (what `doveadm stop` does) takes
            # ~1.05 s: the master stops its services, then polls at 100 ms
            # steps for up to a second until its log process gives up.
            # Signalling the whole process group (the master leads it, see
            # start()) makes every process exit at once, usually in 10-100 ms.
            # If a login/mail process was itself exiting at that moment, the
            # master sometimes still sits out its full second with no child
            # left; once it is alone there is nothing left for it to clean up
            # in a throw-away BASE, so it is killed after a short grace.
            deadline = time.monotonic() + timeout
            grace_end = time.monotonic() + 0.3
            while proc.poll() is None and time.monotonic() < deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(sid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(0.05)
                if time.monotonic() > grace_end and session_pids(sid) == [sid]:
                    break
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        # Anything still in the session was orphaned (e.g. a wedged child).
        deadline = time.monotonic() + timeout
        while pids := session_pids(sid):
            if time.monotonic() > deadline:
                raise DovecotError(f"dovecot processes survived stop: {pids}")
            kill_session(sid)
            time.sleep(0.01)
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- TLS -----------------------------------------------------------------

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that verifies the server against this CA only."""
        return ssl.create_default_context(cafile=str(self.ca_pem))

    # -- users ---------------------------------------------------------------

    def add_user(self, name: str, password: str) -> None:
        """Create (or change the password of) a user; works while running.

        Each user gets its own passwd-file (the passdb path contains %u), not
        one shared file: Dovecot 2.3 stats a passwd-file at most once per
        second of its ioloop clock and only re-reads it when mtime (seconds)
        or size changed, so a user appended to a shared file in the same
        second as an earlier login would be "unknown" for up to a second.  A
        new per-user file has no cached copy, so it is seen immediately.
        Changing a password while running waits for the next second (<= 1 s).
        """
        if not _SAFE_NAME.fullmatch(name) or name.startswith("."):
            raise ValueError(f"unsupported user name: {name!r}")
        if any(c in password for c in ":\r\n\0"):
            raise ValueError("password may not contain ':', CR, LF or NUL (passwd-file)")
        changed = name in self._users and self._users[name] != password
        self._users[name] = password
        self._write_user(name, password, "", changed)

    def refuse_logins(self, name: str, reason: str) -> None:
        """From now on, refuse ``name``'s logins (right password or not) with ``reason``,
        which Dovecot sends to the client as its refusal (passdb ``nologin reason=``).
        passwd-file splits extra fields at spaces, so ``reason`` is one word.
        """
        if any(c in reason for c in ": \t\r\n\0"):
            raise ValueError("reason may not contain ':' or white space (passwd-file)")
        self._write_user(name, self._users[name], f"nologin reason={reason}", True)

    def _write_user(self, name: str, password: str, extra: str, changed: bool) -> None:
        home = self.mail_root / name
        home.mkdir(exist_ok=True)
        os.chown(home, MAIL_UID, MAIL_GID)
        home.chmod(0o700)
        line = f"{name}:{{PLAIN}}{password}:{MAIL_UID}:{MAIL_GID}::{home}::{extra}\n"
        path = self.users_dir / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(line, encoding="utf-8")
        tmp.chmod(0o644)
        if path.exists():
            # Dovecot notices a rewrite only by a different mtime (seconds)
            # or size; same-length passwords written within one second
            # would otherwise never be re-read.
            stamp = max(time.time(), path.stat().st_mtime + 1)
            os.utime(tmp, (stamp, stamp))
        os.replace(tmp, path)
        if changed and self.running:
            # The auth process may have stat()ed the file earlier in this
            # second and would serve the old password until the second ends;
            # from the next second on it re-stats and sees the new mtime.
            time.sleep(1.02 - time.time() % 1)

    # -- seeding -------------------------------------------------------------

    def maildir_path(self, user: str, folder: str = "INBOX") -> Path:
        """Where FOLDER of USER lives on disk (maildir++: subfolders are dot-directories)."""
        root = self.mail_root / user / "Maildir"
        if folder.upper() == "INBOX":
            return root
        if "/" in folder or folder.startswith(".") or folder.endswith("."):
            # maildir++ keeps the hierarchy in one directory name joined by
            # '.', the IMAP separator; '/' cannot appear in it.
            raise ValueError(f"unsupported folder name for maildir++: {folder!r}")
        return root / ("." + imap_utf7_encode(folder))

    def seed_maildir(
        self,
        user: str,
        folder: str,
        messages: list[tuple[bytes, set[str], float]],
        *,
        resync: bool = True,
    ) -> list[Path]:
        r"""Write messages straight into FOLDER's cur/ and resync Dovecot (``resync`` False:
        the caller resyncs once, ``resync_all``, after seeding many folders: a resync scans
        every folder of the user).

        Each message is (raw bytes, IMAP flags, internal date as epoch).
        Flags are the system flags (\\Seen \\Answered \\Flagged \\Deleted
        \\Draft) or keywords.  Returns the written paths.  Far faster than
        IMAP APPEND (5,000 messages in ~2-3 s versus ~10 s).
        """
        folder_dir = self._folder_dir(user, folder)
        keywords = self._keyword_letters(folder_dir, messages)
        written: list[Path] = []
        for raw, flags, when in messages:
            letters = sorted(_SYSTEM_FLAGS[f] if f in _SYSTEM_FLAGS else keywords[f] for f in flags)
            # Virtual size = size with bare LFs counted as CRLF; it is what
            # IMAP RFC822.SIZE and POP3 LIST report.  Giving S= and W= in the
            # name (Dovecot's own convention) spares it a read of each file.
            vsize = len(raw) + raw.count(b"\n") - raw.count(b"\r\n")
            path = folder_dir / "cur" / self._file_name(when, len(raw), vsize, letters)
            with open(path, "xb") as fh:
                fh.write(raw)
            self._settle(path, when)
            written.append(path)

        if self.running and resync:
            # Tell Dovecot to rescan now rather than trusting dir mtimes that
            # may not have changed within the same second.
            self.resync_all(user)
        # Not running: the files are picked up when the mailbox is first
        # opened (doveadm needs the auth socket, so it cannot run yet).
        return written

    def seed_file(
        self,
        user: str,
        folder: str,
        write: Callable[[BinaryIO], None],
        flags: set[str],
        when: float,
    ) -> Path:
        """One message that ``write`` streams into a file (a big one need never be held in
        memory); system flags only. Not resynced: call ``resync_all`` when running.
        """
        folder_dir = self._folder_dir(user, folder)
        self._seq += 1
        tmp = folder_dir / "tmp" / f"{os.getpid()}.{self._seq}.mailport"
        with open(tmp, "xb") as fh:
            write(fh)
        size, vsize = _sizes(tmp)
        letters = sorted(_SYSTEM_FLAGS[f] for f in flags)
        path = folder_dir / "cur" / self._file_name(when, size, vsize, letters)
        os.replace(tmp, path)
        self._settle(path, when)
        return path

    def _folder_dir(self, user: str, folder: str) -> Path:
        """FOLDER's maildir, made (with its cur/new/tmp) if need be."""
        if user not in self._users:
            raise ValueError(f"unknown user {user!r}; call add_user() first")
        folder_dir = self.maildir_path(user, folder)
        root = self.mail_root / user / "Maildir"
        for d in (root, folder_dir):
            for sub in ("", "cur", "new", "tmp"):
                p = d / sub
                if not p.exists():
                    p.mkdir(mode=0o700, parents=True)
                    os.chown(p, MAIL_UID, MAIL_GID)
        if folder_dir != root:
            # Dovecot writes this marker into every maildir++ subfolder it
            # creates (it tells the LDA the dir is a folder); mirror it.
            marker = folder_dir / "maildirfolder"
            if not marker.exists():
                marker.touch(mode=0o600)
                os.chown(marker, MAIL_UID, MAIL_GID)
        return folder_dir

    def _file_name(self, when: float, size: int, vsize: int, letters: list[str]) -> str:
        self._seq += 1
        secs, usecs = int(when), int((when % 1) * 1_000_000)
        base = f"{secs}.M{usecs}P{os.getpid()}Q{self._seq}.mailport"
        return f"{base},S={size},W={vsize}:2,{''.join(letters)}"

    @staticmethod
    def _settle(path: Path, when: float) -> None:
        os.chown(path, MAIL_UID, MAIL_GID)
        path.chmod(0o600)
        # Dovecot's maildir takes INTERNALDATE from the file's mtime.
        os.utime(path, (when, when))

    def resync_all(self, user: str) -> None:
        """Make Dovecot rescan every folder of ``user`` now."""
        self._doveadm(["force-resync", "-u", user, "*"])

    def _keyword_letters(
        self, folder_dir: Path, messages: list[tuple[bytes, set[str], float]]
    ) -> dict[str, str]:
        """Map keywords to maildir letters, extending dovecot-keywords."""
        kw_file = folder_dir / "dovecot-keywords"
        existing: list[str] = []
        if kw_file.exists():
            for line in kw_file.read_text(encoding="utf-8").splitlines():
                idx, _, kw = line.partition(" ")
                if idx.isdigit() and kw:
                    while len(existing) <= int(idx):
                        existing.append("")
                    existing[int(idx)] = kw
        wanted = sorted({f for _, flags, _ in messages for f in flags} - set(_SYSTEM_FLAGS))
        for kw in wanted:
            if kw.startswith("\\"):
                raise ValueError(f"unsupported system flag {kw!r}")
            if kw not in existing:
                existing.append(kw)
        if len(existing) > _MAX_KEYWORDS:
            raise ValueError(f"maildir supports at most {_MAX_KEYWORDS} keywords per folder")
        if wanted:
            kw_file.write_text(
                "".join(f"{i} {kw}\n" for i, kw in enumerate(existing) if kw),
                encoding="utf-8",
            )
            os.chown(kw_file, MAIL_UID, MAIL_GID)
        return {kw: chr(ord("a") + i) for i, kw in enumerate(existing) if kw}

    # -- helpers ---------------------------------------------------------

    def doveadm(self, args: list[str]) -> str:
        """Run `doveadm -c CONF ARGS...` and return its stdout."""
        return self._doveadm(args).stdout

    def _doveadm(self, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        doveadm = which("doveadm")
        if doveadm is None:
            raise DovecotError("doveadm is not installed")
        res = subprocess.run(  # noqa: S603 - Debian's doveadm, our config
            [doveadm, "-c", str(self.conf), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if check and res.returncode != 0:
            raise DovecotError(
                f"doveadm {' '.join(args)} failed ({res.returncode}): {res.stderr.strip()}"
                f"\n--- {self.log_path} (tail) ---\n{tail(self.log_path)}"
            )
        return res
