"""The operating-system side of a private Dovecot: finding its programs, free ports, its
processes in /proc, its TLS material, and its configuration file.

Split from mailport_local.dovecot to keep each module readable; see that module.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import ipaddress
import os
import shutil
import signal
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Where Debian puts the daemon; a non-root PATH often lacks /usr/sbin.
_SBIN_PATH = os.pathsep.join(["/usr/sbin", "/sbin"])
_TCP_LISTEN = "0A"
_PRINTABLE_FIRST, _PRINTABLE_LAST = 0x20, 0x7E  # printable ASCII stays as it is in UTF-7
_STAT_SESSION = 3  # session id's index in /proc/PID/stat after the command name


def which(name: str) -> str | None:
    """Where program NAME is, looking in /usr/sbin and /sbin too."""
    path = os.environ.get("PATH", os.defpath) + os.pathsep + _SBIN_PATH
    return shutil.which(name, path=path)


def dovecot_available() -> bool:
    """True when the dovecot daemon is installed (Debian: dovecot-core)."""
    return which("dovecot") is not None


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
        if _PRINTABLE_FIRST <= ord(ch) <= _PRINTABLE_LAST:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def free_ports(count: int) -> list[int]:
    """COUNT distinct TCP ports free on 127.0.0.1 right now."""
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


def listening_inodes() -> dict[int, int]:
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


def socket_inodes(pid: int) -> set[int]:
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


def session_pids(sid: int) -> list[int]:
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
        if len(rest) > _STAT_SESSION and rest[0] != "Z" and int(rest[_STAT_SESSION]) == sid:
            pids.append(int(entry))
    return pids


def kill_session(sid: int) -> None:
    """SIGKILL every process left in Dovecot's session (last-resort cleanup)."""
    for pid in session_pids(sid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def tail(path: Path, lines: int = 25) -> str:
    """The last LINES lines of a log, for error messages."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"({path} not readable)"
    return "\n".join(text.splitlines()[-lines:]) or f"({path} is empty)"


def _still_valid(ca_pem: Path, cert_pem: Path, key_pem: Path) -> bool:
    """True when kept TLS material exists and stays valid for at least another day."""
    if not (ca_pem.is_file() and cert_pem.is_file() and key_pem.is_file()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.read_bytes())
        ca = x509.load_pem_x509_certificate(ca_pem.read_bytes())
    except ValueError:
        return False
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    return min(cert.not_valid_after_utc, ca.not_valid_after_utc) > soon


def make_tls(etc: Path, *, reuse: bool = False, days: int = 30) -> tuple[Path, Path, Path]:
    """Write a throw-away CA and a server cert for 127.0.0.1/localhost (``reuse``: keep
    the ones already in ``etc`` while they stay valid).

    The SAN carries 127.0.0.1 both as an IP and as a DNS name: Python matches
    an IP host against iPAddress entries, but some clients compare the host
    string against dNSName entries only.  trustme cannot emit the latter (it
    turns every IP-looking identity into an iPAddress), hence cryptography.
    EC P-256 keys keep generation in the low milliseconds.
    """
    ca_pem, cert_pem, key_pem = etc / "ca.pem", etc / "server.pem", etc / "server.key"
    if reuse and _still_valid(ca_pem, cert_pem, key_pem):
        return ca_pem, cert_pem, key_pem
    now = dt.datetime.now(dt.UTC)
    not_before, not_after = now - dt.timedelta(hours=1), now + dt.timedelta(days=days)

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

    ca_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    # Send the chain (leaf + CA) like a real server would.
    cert_pem.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + ca_cert.public_bytes(serialization.Encoding.PEM)
    )
    key_pem.touch(mode=0o600)
    key_pem.chmod(0o600)  # touch keeps an existing file's mode
    key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_pem, cert_pem, key_pem
