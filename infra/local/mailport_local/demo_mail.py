"""`make run`'s demo mail server: a private Dovecot on 127.0.0.1 with mail to import.

It lives in the local state dir (STATE/demo-mail: configuration, CA, users, maildirs and
Dovecot's indexes), so a restart keeps its mailboxes, UIDs and UIDVALIDITY, and its ports
(remembered in ports.json): what was imported from it stays consistent. ``--fresh`` removes it
with the rest of the state; it is seeded on the first start after that, once.

``drop-mail`` (``python -m mailport_local drop-mail``) delivers new mail into a demo mailbox
from another process while the stack runs: it writes into the maildir, then asks the running
Dovecot to resync (``doveadm``, which finds it through the same configuration file).
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import fcntl
import hashlib
import json
import logging
import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailport_local.demo_mail_content import (
    BASE_EPOCH,
    DEMO_MAIL_USERS,
    LARGE_MESSAGE,
    DemoUser,
    large_message_size,
    mailboxes,
    new_message,
    write_large_message,
)
from mailport_local.dovecot import Dovecot, DovecotError, dovecot_available
from mailport_local.dovecot_support import kill_session, session_pids

log = logging.getLogger(__name__)

DEMO_DIR = "demo-mail"
_SEEDED = "seeded"  # written once every mailbox is in place: seeding is not redone
_PORTS = "ports.json"
_PID = "dovecot.pid"  # the master's pid, to stop one a killed `make run` left behind
_DROPPED = "dropped"  # how many messages drop-mail delivered so far (numbers the next)
_MAX_RUN_DIR = 40  # bytes: longer state dirs put Dovecot's sockets under /tmp instead
MAX_DROP = 100


class DemoMailUnavailable(RuntimeError):
    """The demo mail server cannot run here (Dovecot missing, not root, ...)."""


def base_of(state_dir: Path) -> Path:
    """Where the demo mail server keeps everything."""
    return Path(state_dir).resolve() / DEMO_DIR


def user(name: str) -> DemoUser:
    """The demo user called ``name``."""
    for u in DEMO_MAIL_USERS:
        if u.name == name:
            return u
    known = ", ".join(u.name for u in DEMO_MAIL_USERS)
    raise ValueError(f"no demo mail user {name!r} (there are {known})")


def unavailable_reason() -> str | None:
    """Why the demo mail server can't run on this machine, or None when it can."""
    if not dovecot_available():
        return "Dovecot is not installed (`make run` installs dovecot-imapd dovecot-pop3d)"
    if os.geteuid() != 0:
        return "it runs as root (Dovecot hands the mail to uid 5000)"
    return None


def _run_dir(base: Path) -> Path:
    """Where the sockets go: BASE/run, or a short fixed path under /tmp when BASE is long
    (unix socket paths are limited to 108 bytes). Fixed, so drop-mail finds the same one.
    """
    if len(os.fsencode(base)) <= _MAX_RUN_DIR:
        return base / "run"
    digest = hashlib.sha256(os.fsencode(base)).hexdigest()[:12]
    return Path("/tmp") / f"mailport-dv-{digest}"  # noqa: S108 - root's, named for BASE


def _master_alive(base: Path) -> int | None:
    """The pid of a Dovecot master still running on BASE's configuration, if any."""
    try:
        pid = int((base / _PID).read_text(encoding="ascii").strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if os.fsencode(base / "etc" / "dovecot.conf") in cmdline else None


def stop_stale(state_dir: Path) -> None:
    """Stop a demo Dovecot that a killed `make run` left running on this state dir."""
    base = base_of(state_dir)
    pid = _master_alive(base)
    if pid is not None:
        log.warning("stopping the demo mail server a previous run left behind (pid %s)", pid)
        deadline = time.monotonic() + 10
        while session_pids(pid) and time.monotonic() < deadline:
            kill_session(pid)  # it leads its own session (Dovecot.start)
            time.sleep(0.05)
    (base / _PID).unlink(missing_ok=True)
    # Dovecot refuses to start while master.pid names a live process, and a killed master
    # may linger as a zombie where nothing reaps it.
    (_run_dir(base) / "master.pid").unlink(missing_ok=True)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        # As Dovecot binds: a port that only has connections closing (TIME_WAIT) is free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class DemoMail:
    """The demo mail server of one state dir."""

    state_dir: Path
    # `--demo-microsoft`: XOAUTH2 logins checked by the demo identity provider's introspection
    # (mailport_local.demo_identity), as <user>@<its domain>; ``microsoft`` is what
    # ``info()`` says about that sign-in.
    oauth2_introspection_url: str | None = None
    microsoft: dict[str, Any] | None = None
    base: Path = field(init=False)
    dovecot: Dovecot = field(init=False)

    def __post_init__(self) -> None:
        self.base = base_of(self.state_dir)
        self.base.mkdir(parents=True, exist_ok=True)
        self.dovecot = Dovecot(
            self.base,
            run_dir=_run_dir(self.base),
            ports=self._remembered_ports(),
            keep_tls=True,
            oauth2_introspection_url=self.oauth2_introspection_url,
            username_format="%Ln" if self.oauth2_introspection_url else None,
        )

    @property
    def ca_file(self) -> Path:
        """The CA that signed the server's certificate (the stack trusts it)."""
        return self.dovecot.ca_pem

    @property
    def seeded(self) -> bool:
        """True once the mailboxes have been seeded (kept across restarts)."""
        return (self.base / _SEEDED).exists()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> DemoMail:
        """Seed the mailboxes if this is the first start, then start Dovecot."""
        reason = unavailable_reason()
        if reason:
            raise DemoMailUnavailable(reason)
        for parent in self.base.parents:
            if not parent.stat().st_mode & 0o001:
                # Dovecot's own users (dovecot, uid 5000) read the configuration and the mail.
                raise DemoMailUnavailable(f"{parent} must be searchable by other users (o+x)")
        stop_stale(self.state_dir)
        if not self.seeded:
            self._seed()
        ports = self.dovecot.fixed_ports
        if ports is not None and not all(_port_free(p) for p in ports):
            log.warning("the demo mail server's ports %s are taken: it moves to new ones", ports)
            self.dovecot.fixed_ports = None
        run_dir = self.dovecot.run_dir
        run_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
        self.dovecot.start()
        (self.base / _PID).write_text(str(self.dovecot.pid), encoding="ascii")
        d = self.dovecot
        chosen = {"imap": d.imap_port, "imaps": d.imaps_port, "pop3": d.pop3_port}
        chosen["pop3s"] = d.pop3s_port
        (self.base / _PORTS).write_text(json.dumps(chosen), encoding="utf-8")
        return self

    def stop(self) -> None:
        """Stop Dovecot (its data stays)."""
        self.dovecot.stop()
        (self.base / _PID).unlink(missing_ok=True)
        if self.dovecot.run_dir != self.base / "run":
            shutil.rmtree(self.dovecot.run_dir, ignore_errors=True)

    def _remembered_ports(self) -> tuple[int, int, int, int] | None:
        try:
            saved = json.loads((self.base / _PORTS).read_text(encoding="utf-8"))
            return (saved["imap"], saved["imaps"], saved["pop3"], saved["pop3s"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _seed(self) -> None:
        """Every demo user and their mailboxes (a half-seeded BASE is redone whole)."""
        started = time.monotonic()
        shutil.rmtree(self.dovecot.mail_root, ignore_errors=True)
        self.dovecot.mail_root.mkdir(mode=0o755)
        for u in DEMO_MAIL_USERS:
            self.dovecot.add_user(u.name, u.password)
            for folder, messages in mailboxes(u).items():
                self.dovecot.seed_maildir(u.name, folder, messages, resync=False)
        owner, folder = LARGE_MESSAGE
        big = user(owner)
        self.dovecot.seed_file(owner, folder, write_large_message(big), set(), float(BASE_EPOCH))
        (self.base / _SEEDED).write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ\n", time.gmtime()))
        log.info("seeded the demo mailboxes in %.1f s", time.monotonic() - started)

    # ------------------------------------------------------------------ use
    def info(self) -> dict[str, Any]:
        """The servers and users, as ``GET /v1/local/demo-mail`` answers them."""
        d = self.dovecot
        return {
            "host": d.host,
            "pop3": {"port": d.pop3s_port, "ssl": True},
            "imap": {"port": d.imaps_port, "ssl": True},
            "ca_trusted": True,
            "ca_file": str(self.ca_file),
            "users": [
                {
                    "username": u.name,
                    "password": u.password,
                    "display_name": u.display_name,
                    "language": u.language,
                }
                for u in DEMO_MAIL_USERS
            ],
            "large_message": {
                "username": LARGE_MESSAGE[0],
                "folder": LARGE_MESSAGE[1],
                "bytes": large_message_size(),
            },
            "drop_command": "python -m mailport_local drop-mail --user taro",
            **({"microsoft": self.microsoft} if self.microsoft else {}),
        }

    def drop(self, name: str = DEMO_MAIL_USERS[0].name, count: int = 1) -> list[str]:
        """Deliver ``count`` new messages into ``name``'s INBOX; their subjects."""
        return drop(self.state_dir, name, count, self.dovecot)


def _next_numbers(base: Path, count: int) -> range:
    """Numbers for the next ``count`` dropped messages (locked: two drops may race)."""
    path = base / _DROPPED
    with open(path, "a+", encoding="ascii") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        done = int(fh.read().strip() or 0)
        fh.seek(0)
        fh.truncate()
        fh.write(str(done + count))
    return range(done + 1, done + count + 1)


def drop(state_dir: Path, name: str, count: int, dovecot: Dovecot | None = None) -> list[str]:
    """Deliver ``count`` new messages to demo user ``name``; works from another process than
    the one running Dovecot, and with Dovecot stopped (it finds them when it next opens the
    mailbox). Returns the subjects.
    """
    if not 1 <= count <= MAX_DROP:
        raise ValueError(f"count must be between 1 and {MAX_DROP}")
    who = user(name)
    base = base_of(state_dir)
    if not (base / _SEEDED).exists():
        raise DemoMailUnavailable(
            f"no demo mail server in {state_dir}: start `make run` first (without --no-demo-mail)"
        )
    dv = dovecot or Dovecot(base, run_dir=_run_dir(base), keep_tls=True)
    now = time.time()
    made = [(n, new_message(who, n, now)) for n in _next_numbers(base, count)]
    dv.seed_maildir(who.name, "INBOX", [(raw, set(), now) for _, raw in made], resync=False)
    if dv.running or _master_alive(base):
        # Dovecot trusts the maildir's mtimes within a second; tell it to look now.
        with contextlib.suppress(DovecotError):
            dv.resync_all(who.name)
    return [_subject(raw) for _, raw in made]


def _subject(raw: bytes) -> str:
    return str(email.message_from_bytes(raw, policy=email.policy.default)["Subject"])
