"""``python -m mailport_local run``: the whole system on 127.0.0.1, no AWS account (and a demo
mail server to import from); ``drop-mail``: new mail in a demo mailbox.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import signal
import sys
import threading
from pathlib import Path

from mailport_local.demo_mail import DemoMailUnavailable, drop
from mailport_local.demo_mail_content import DEMO_MAIL_USERS
from mailport_local.dovecot import DovecotError
from mailport_local.stack import DEMO_USERS, LocalStack, LocalStackConfig


def duration(text: str) -> float:
    """Parse ``30s``, ``2m``, ``1h`` or a number of seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smh]?)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 30s, 2m, 10m)")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``run`` (what `make run` starts) and ``drop-mail``."""
    parser = argparse.ArgumentParser(prog="mailport-local", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the local stack and serve the API")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000, help="API port (default 8000)")
    run.add_argument(
        "--poll-every",
        type=duration,
        default=None,
        help="POP schedule interval (default: the template's 10 minutes)",
    )
    run.add_argument(
        "--state-dir", type=Path, default=None, help="where local data is kept (default .local/)"
    )
    run.add_argument("--fresh", action="store_true", help="start with empty data")
    run.add_argument(
        "--trust-ca",
        type=Path,
        default=None,
        help="a CA certificate to trust for POP3/IMAP servers (a local test server)",
    )
    run.add_argument(
        "--no-demo-mail",
        dest="demo_mail",
        action="store_false",
        help="don't start the demo mail server (a private Dovecot with mail to import)",
    )
    run.add_argument(
        "--demo-microsoft",
        action="store_true",
        help="try Microsoft 365 sign-in and migration locally: a demo identity provider "
        "(not Microsoft) and the demo mail server standing in for Exchange Online",
    )
    run.add_argument("-v", "--verbose", action="store_true")
    drop = sub.add_parser(
        "drop-mail", help="deliver new mail into a demo mailbox (while `make run` runs)"
    )
    drop.add_argument("--user", default=DEMO_MAIL_USERS[0].name, help="taro (default) or alice")
    drop.add_argument("--count", type=int, default=1, help="how many messages (default 1)")
    drop.add_argument(
        "--state-dir", type=Path, default=None, help="the stack's state dir (default .local/)"
    )
    return parser


def config_from_args(args: argparse.Namespace) -> LocalStackConfig:
    """`make run`'s stack configuration from its options (the tests build it this way too)."""
    config = LocalStackConfig(
        host=args.host,
        api_port=args.port,
        poll_every=args.poll_every,
        fresh=args.fresh,
        mail_ca_file=str(args.trust_ca.resolve()) if args.trust_ca else None,
        demo_mail=args.demo_mail,
        demo_microsoft=args.demo_microsoft,
    )
    if args.state_dir is not None:
        config.state_dir = args.state_dir
    return config


def demo_mail_lines(stack: LocalStack) -> list[str]:
    """What `make run` says about the demo mail server."""
    if stack.demo_mail is None:
        if stack.demo_mail_problem:
            return [f"  demo mail: off ({stack.demo_mail_problem})"]
        return []
    info = stack.demo_mail.info()
    host, pop, imap = info["host"], info["pop3"]["port"], info["imap"]["port"]
    lines = [
        f"  demo mail server (Dovecot; its CA is trusted by this stack): host {host}, SSL on",
        f"    POP3 port {pop}, IMAP port {imap}; users (password):",
    ]
    for u in info["users"]:
        lines.append(f"      {u['username']} ({u['password']})  {u['display_name']}")
    lines.append(
        "    new mail: .venv/bin/python -m mailport_local drop-mail --user taro [--count 3]"
    )
    return lines


def demo_microsoft_lines(stack: LocalStack) -> list[str]:
    """What `make run --demo-microsoft` says about the Microsoft 365 demo."""
    if stack.demo_identity is None:
        if stack.demo_microsoft_problem:
            return [f"  Microsoft 365 demo: off ({stack.demo_microsoft_problem})"]
        if stack.demo_mail is not None:
            return ["  Microsoft 365 sign-in: try it locally with make run ARGS=--demo-microsoft"]
        return []
    mailboxes = ", ".join(stack.demo_identity.mailboxes)
    return [
        "  Microsoft 365 demo (a demo sign-in, not Microsoft; the demo mail server stands in",
        "    for Exchange Online): IMAP migration → Microsoft 365, mailbox address one of",
        f"      {mailboxes}",
        "    then Authenticate: pick the mailbox on the demo sign-in page and Accept.",
    ]


def drop_mail(args: argparse.Namespace) -> int:
    """``drop-mail``: new messages in a demo mailbox, from outside the running stack."""
    state_dir = args.state_dir or LocalStackConfig().state_dir
    try:
        subjects = drop(state_dir, args.user, args.count)
    except (ValueError, DemoMailUnavailable, DovecotError, OSError) as e:
        print(f"drop-mail: {e}", file=sys.stderr)
        return 1
    for subject in subjects:
        print(f"delivered to {args.user}: {subject}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    args = build_parser().parse_args(argv)
    if args.command == "drop-mail":
        return drop_mail(args)

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(message)s",
    )
    if not args.verbose:
        # botocore announces every client's endpoint at INFO; that's noise for a newcomer.
        for noisy in ("botocore", "boto3", "urllib3", "werkzeug", "waitress"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    config = config_from_args(args)
    stack = LocalStack(config)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    try:
        stack.start()
    except BaseException:
        # Dovecot runs in a session of its own: it would outlive this process. (Not
        # stack.stop(): that would save a half-started state over the good snapshot.)
        stack.stop_demos()
        raise
    print(f"mailport is running at {stack.api_url}  (AWS emulated at {stack.moto_url})", flush=True)
    print(f"  health:  curl {stack.api_url}/v1/health")
    tenant, email = DEMO_USERS[0][0], DEMO_USERS[0][1]
    login = json.dumps({"email": email, "tenant": tenant})
    print(f"  sign in: curl -s -X POST {stack.api_url}/v1/local/login -d '{login}'")
    print(f"  demo users: {', '.join(f'{e} ({t})' for t, e, _, _ in DEMO_USERS)}")
    for line in demo_mail_lines(stack) + demo_microsoft_lines(stack):
        print(line)
    if stack.restored:
        print(f"  restored from {config.state_dir}: {stack.restored}")
    print("Press Ctrl-C to stop.", flush=True)
    try:
        stopped.wait()
    finally:
        print("stopping…", flush=True)
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
