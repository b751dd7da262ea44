"""``python -m mailport_local run``: the whole system on 127.0.0.1, no AWS account."""

from __future__ import annotations

import argparse
import json
import logging
import re
import signal
import sys
import threading
from pathlib import Path

from mailport_local.stack import DEMO_USERS, LocalStack, LocalStackConfig


def duration(text: str) -> float:
    """Parse ``30s``, ``2m``, ``1h`` or a number of seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smh]?)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 30s, 2m, 10m)")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
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
    run.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(message)s",
    )
    if not args.verbose:
        # botocore announces every client's endpoint at INFO; that's noise for a newcomer.
        for noisy in ("botocore", "boto3", "urllib3", "werkzeug", "waitress"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    config = LocalStackConfig(
        host=args.host,
        api_port=args.port,
        poll_every=args.poll_every,
        fresh=args.fresh,
        mail_ca_file=str(args.trust_ca.resolve()) if args.trust_ca else None,
    )
    if args.state_dir is not None:
        config.state_dir = args.state_dir
    stack = LocalStack(config)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stack.start()
    print(f"mailport is running at {stack.api_url}  (AWS emulated at {stack.moto_url})", flush=True)
    print(f"  health:  curl {stack.api_url}/v1/health")
    tenant, email = DEMO_USERS[0][0], DEMO_USERS[0][1]
    login = json.dumps({"email": email, "tenant": tenant})
    print(f"  sign in: curl -s -X POST {stack.api_url}/v1/local/login -d '{login}'")
    print(f"  demo users: {', '.join(f'{e} ({t})' for t, e, _, _ in DEMO_USERS)}")
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
