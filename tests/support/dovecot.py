"""A private, throw-away Dovecot (IMAP + POP3) instance for tests.

Usage::

    base = Path(tempfile.mkdtemp(prefix="dv", dir="/tmp"))
    with Dovecot(base) as dv:
        dv.add_user("alice", "secret")
        dv.seed_maildir("alice", "INBOX", [(raw, {"\\\\Seen"}, 1700000000.0)])
        IMAPClient(dv.host, dv.imaps_port, ssl=True, ssl_context=dv.ssl_context())

Everything (config, TLS material, sockets, logs, mail) lives under BASE; the
caller owns BASE and removes it afterwards.  A failed login answers after up
to 0.5 s (Dovecot 2.3 batches auth failures on a 500 ms timer) but does not
slow down later logins (the per-IP auth penalty is disabled).

Written for Dovecot 2.3 running as root (the way the test machines run it);
see /work/shared/notes/mail-servers.md for the measured facts it builds on.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import ipaddress
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
import weakref
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["Dovecot", "DovecotError", "dovecot_available", "imap_utf7_encode"]

# Dovecot refuses to run mail processes as uid 0, and as root it needs no
# /etc/passwd entry for a numeric uid given by the userdb.
MAIL_UID = 5000
MAIL_GID = 5000

# Where Debian puts the daemon; a non-root PATH often lacks /usr/sbin.
_SBIN_PATH = os.pathsep.join(["/usr/sbin", "/sbin"])

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
_TCP_LISTEN = "0A"


class DovecotError(RuntimeError):
    """Dovecot failed to start, stop, or run a doveadm command."""


def _which(name: str) -> str | None:
    path = os.environ.get("PATH", os.defpath) + os.pathsep + _SBIN_PATH
    return shutil.which(name, path=path)


def dovecot_available() -> bool:
    """True when the dovecot daemon is installed (Debian: dovecot-core)."""
    return _which("dovecot") is not None


def imap_utf7_encode(name: str) -> str:
    """Encode a mailbox name in modified UTF-7 (RFC 3501 section 5.1.3).

    Dovecot's maildir++ layout stores folder names this way on disk.  It
    differs from RFC 2152 UTF-7: '&' is the shift character (a literal '&'
    is "&-"), ',' replaces '/' in the base64 alphabet, there is no padding,
    and every run of non-printable-ASCII characters is shifted, closed by '-'.
    """
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            b64 = base64.b64encode(raw).decode("ascii").rstrip("=")
            out.append("&" + b64.replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def _free_ports(count: int) -> list[int]:
    # Bind all sockets before closing any so the kernel hands out distinct
    # ports.  Another process could grab one before Dovecot binds it; that
    # race is accepted (start() then fails with the bind error from the log).
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def _listening_inodes() -> dict[int, int]:
    """Map port -> socket inode for TCP sockets listening on 127.0.0.1.

    Read from /proc/net/tcp instead of connecting: a probe that connects and
    closes before the greeting leaves a login process that delays Dovecot's
    shutdown by ~5 s.
    """
    found: dict[int, int] = {}
    with open("/proc/net/tcp", encoding="ascii") as fh:
        next(fh)  # header
        for line in fh:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            addr, _, port = local.partition(":")
            # 127.0.0.1 in host byte order (little-endian) hex.
            if state == _TCP_LISTEN and addr == "0100007F":
                found[int(port, 16)] = int(inode)
    return found


def _socket_inodes(pid: int) -> set[int]:
    """Inodes of the sockets process `pid` holds open."""
    inodes: set[int] = set()
    fd_dir = f"/proc/{pid}/fd"
    with contextlib.suppress(FileNotFoundError):
        for fd in os.listdir(fd_dir):
            with contextlib.suppress(OSError):
                target = os.readlink(f"{fd_dir}/{fd}")
                if target.startswith("socket:["):
                    inodes.add(int(target[8:-1]))
    return inodes


def _session_pids(sid: int) -> list[int]:
    """Pids of live processes whose session id is `sid` (field 6 of stat)."""
    pids: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path("/proc", entry, "stat").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        # comm (field 2) may contain spaces/parens; split after its last ')'.
        rest = stat[stat.rfind(")") + 2 :].split()
        # rest[0] is state (field 3), so session (field 6) is rest[3].
        if len(rest) > 3 and rest[0] != "Z" and int(rest[3]) == sid:
            pids.append(int(entry))
    return pids


def _kill_session(sid: int) -> None:
    """SIGKILL every process left in Dovecot's session (last-resort cleanup)."""
    for pid in _session_pids(sid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"({path} not readable)"
    return "\n".join(text.splitlines()[-lines:]) or f"({path} is empty)"


def _make_tls(etc: Path) -> tuple[Path, Path, Path]:
    """Write a throw-away CA and a server cert for 127.0.0.1/localhost.

    The SAN carries 127.0.0.1 both as an IP and as a DNS name: Python matches
    an IP host against iPAddress entries, but some clients compare the host
    string against dNSName entries only.  trustme cannot emit the latter (it
    turns every IP-looking identity into an iPAddress), hence cryptography.
    EC P-256 keys keep generation in the low milliseconds.
    """
    now = dt.datetime.now(dt.UTC)
    not_before, not_after = now - dt.timedelta(hours=1), now + dt.timedelta(days=30)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mailport test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName(
        [
            x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")),
            x509.DNSName("127.0.0.1"),
            x509.DNSName("localhost"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    ca_pem = etc / "ca.pem"
    cert_pem = etc / "server.pem"
    key_pem = etc / "server.key"
    ca_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    # Send the chain (leaf + CA) like a real server would.
    cert_pem.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + ca_cert.public_bytes(serialization.Encoding.PEM)
    )
    key_pem.touch(mode=0o600)
    key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_pem, cert_pem, key_pem


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
    ) -> None:
        self.base = Path(base).resolve()
        # "INBOX." puts every folder under INBOX, as Courier-IMAP, Cyrus (classic namespace)
        # and many shared hosts do: the folders stay where they are on disk.
        self.namespace_prefix = namespace_prefix
        # With a URL, XOAUTH2/OAUTHBEARER logins are checked by that token introspection
        # endpoint (RFC 7662-like POST), as Exchange Online checks Entra tokens.
        self.oauth2_introspection_url = oauth2_introspection_url
        # Unix sockets live under BASE/run; sun_path is 108 bytes including
        # the NUL, and Dovecot's deepest socket name adds ~30 bytes.
        if len(os.fsencode(self.base)) > 60:
            raise ValueError(f"BASE too long for unix socket paths: {self.base}")
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
        self.ca_pem, self._cert_pem, self._key_pem = _make_tls(self.etc)

    # -- lifecycle ---------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if self._proc is not None:
            raise DovecotError("already started")
        dovecot = _which("dovecot")
        if dovecot is None:
            raise DovecotError("dovecot is not installed")
        self.imap_port, self.imaps_port, self.pop3_port, self.pop3s_port = _free_ports(4)
        self.conf.write_text(self._config(), encoding="utf-8")
        with open(self._stderr_path, "wb") as err:
            # -F keeps the master in the foreground so it is our child and its
            # pid is known without racing on master.pid; a new session lets
            # stop() find and reap every process Dovecot forked.
            self._proc = subprocess.Popen(
                [dovecot, "-F", "-c", str(self.conf)],
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._finalizer = weakref.finalize(self, _kill_session, self._proc.pid)
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
        # _free_ports() may have been taken by another process meanwhile,
        # and then Dovecot exits with "Address already in use".
        assert self._proc is not None
        listening = _listening_inodes()
        if not ports <= listening.keys():
            return False
        return {listening[p] for p in ports} <= _socket_inodes(self._proc.pid)

    def _fail(self, what: str) -> None:
        msg = (
            f"{what}\n--- {self.log_path} (tail) ---\n{_tail(self.log_path)}"
            f"\n--- {self._stderr_path} (tail) ---\n{_tail(self._stderr_path)}"
        )
        self.stop()
        raise DovecotError(msg)

    def stop(self, timeout: float = 10.0) -> None:
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
                if time.monotonic() > grace_end and _session_pids(sid) == [sid]:
                    break
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        # Anything still in the session was orphaned (e.g. a wedged child).
        deadline = time.monotonic() + timeout
        while pids := _session_pids(sid):
            if time.monotonic() > deadline:
                raise DovecotError(f"dovecot processes survived stop: {pids}")
            _kill_session(sid)
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
        """Write messages straight into FOLDER's cur/ and resync Dovecot (``resync`` False:
        the caller resyncs once, ``resync_all``, after seeding many folders: a resync scans
        every folder of the user).

        Each message is (raw bytes, IMAP flags, internal date as epoch).
        Flags are the system flags (\\Seen \\Answered \\Flagged \\Deleted
        \\Draft) or keywords.  Returns the written paths.  Far faster than
        IMAP APPEND (5,000 messages in ~2-3 s versus ~10 s).
        """
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

        keywords = self._keyword_letters(folder_dir, messages)
        written: list[Path] = []
        for raw, flags, when in messages:
            letters = sorted(_SYSTEM_FLAGS[f] if f in _SYSTEM_FLAGS else keywords[f] for f in flags)
            self._seq += 1
            secs, usecs = int(when), int((when % 1) * 1_000_000)
            # Virtual size = size with bare LFs counted as CRLF; it is what
            # IMAP RFC822.SIZE and POP3 LIST report.  Giving S= and W= in the
            # name (Dovecot's own convention) spares it a read of each file.
            vsize = len(raw) + raw.count(b"\n") - raw.count(b"\r\n")
            base = f"{secs}.M{usecs}P{os.getpid()}Q{self._seq}.mailport"
            name = f"{base},S={len(raw)},W={vsize}:2,{''.join(letters)}"
            path = folder_dir / "cur" / name
            with open(path, "xb") as fh:
                fh.write(raw)
            os.chown(path, MAIL_UID, MAIL_GID)
            path.chmod(0o600)
            # Dovecot's maildir takes INTERNALDATE from the file's mtime.
            os.utime(path, (when, when))
            written.append(path)

        if self.running and resync:
            # Tell Dovecot to rescan now rather than trusting dir mtimes that
            # may not have changed within the same second.
            self.resync_all(user)
        # Not running: the files are picked up when the mailbox is first
        # opened (doveadm needs the auth socket, so it cannot run yet).
        return written

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
        doveadm = _which("doveadm")
        if doveadm is None:
            raise DovecotError("doveadm is not installed")
        res = subprocess.run(
            [doveadm, "-c", str(self.conf), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if check and res.returncode != 0:
            raise DovecotError(
                f"doveadm {' '.join(args)} failed ({res.returncode}): {res.stderr.strip()}"
                f"\n--- {self.log_path} (tail) ---\n{_tail(self.log_path)}"
            )
        return res

    def _auth_config(self) -> str:
        password_db = f"""passdb {{
  driver = passwd-file
  args = scheme=PLAIN {self.users_dir}/%u
  mechanisms = plain login
}}"""
        if not self.oauth2_introspection_url:
            return "auth_mechanisms = plain login\n" + password_db
        oauth_conf = self.etc / "oauth2.conf.ext"
        oauth_conf.write_text(
            "introspection_mode = post\n"
            f"introspection_url = {self.oauth2_introspection_url}\n"
            "username_attribute = username\n"
            "active_attribute = active\n"
            "active_value = true\n",
            encoding="utf-8",
        )
        # The password passdb is limited to plain/login: otherwise a password would also be
        # accepted as a bearer token (and the reverse).
        return f"""auth_mechanisms = plain login xoauth2 oauthbearer
{password_db}
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {oauth_conf}
}}"""

    def _config(self) -> str:
        b = self.base
        # Both passdb and userdb read BASE/etc/users/<user> (see add_user).
        return f"""\
# Generated by tests/support/dovecot.py; private test instance.
base_dir = {b}/run
# Keeps Dovecot from registering in /var/lib/dovecot/instances.
state_dir = {b}/state
instance_name = mailport-test-{b.name}
log_path = {self.log_path}
protocols = imap pop3
listen = 127.0.0.1

ssl = yes
ssl_cert = <{self._cert_pem}
ssl_key = <{self._key_pem}

# Tests log in with plain passwords on the unencrypted ports too.
disable_plaintext_auth = no
# A failed login would otherwise stall 2 s (anti brute force).  Dovecot 2.3
# still batches failure replies on a 500 ms timer, so a wrong password costs
# up to 0.5 s even so.
auth_failure_delay = 0
# Disable the per-IP auth penalty: after one failed login from 127.0.0.1 the
# next login from anywhere on 127.0.0.1 waits 4 s (up to 15 s, remembered for
# 29 s), which would couple unrelated tests.  login_trusted_networks does not
# exempt 127.0.0.1 in 2.3.19; a listener with mode 0 is not created, so the
# auth process cannot reach anvil and turns penalties off.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
auth_verbose = yes
{self._auth_config()}
userdb {{
  driver = passwd-file
  args = {self.users_dir}/%u
}}
first_valid_uid = {MAIL_UID}
first_valid_gid = {MAIL_GID}

mail_location = maildir:{self.mail_root}/%u/Maildir
# Gmail-like special-use folders (RFC 6154), present only for users that have them.
namespace inbox {{
  inbox = yes
  separator = .
  prefix = {self.namespace_prefix}
  mailbox "All Mail" {{
    special_use = \\All
  }}
  mailbox Starred {{
    special_use = \\Flagged
  }}
}}
# Default is 10; parallel test clients share one user and one IP.
mail_max_userip_connections = 100
# Default 100 processes a service (one a session): bench.pop_sessions holds 250 POP sessions
# at once, as 250 providers would.
default_process_limit = 400
# UID + UIDVALIDITY in hex, the format most POP3 servers and clients expect.
pop3_uidl_format = %08Xu%08Xv

service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {self.pop3s_port}
    ssl = yes
  }}
}}
"""
