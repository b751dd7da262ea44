"""Start and stop the whole local stack."""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import requests

from mailport.adapters.clients import LazyClient
from mailport.adapters.dynamodb import DynamoDirectory
from mailport.domain.identity import Plan, Tenant, User
from mailport_local import calls, events, moto_patches
from mailport_local import metrics as local_metrics
from mailport_local.awsprocess import AwsProcess, Bridge
from mailport_local.awsserver import AwsServer
from mailport_local.demo_identity import MICROSOFT_DOMAIN, DemoIdentityProvider
from mailport_local.demo_mail import DemoMail, DemoMailUnavailable, stop_stale
from mailport_local.demo_mail_content import DEMO_MAIL_USERS
from mailport_local.dovecot import DovecotError
from mailport_local.gateway import Gateway, LocalAuth, user_id_for
from mailport_local.lambdas import LocalLambdas, container_of, isolate_containers
from mailport_local.provision import REGION, Provisioner
from mailport_local.snapshot import Snapshot
from mailport_local.sources import Schedule, SqsEventSource, rate_seconds
from mailport_local.template import REPO_ROOT, api_routes, functions, load_template

log = logging.getLogger(__name__)

_SQS_SIZES = ("BatchSize", "MaximumBatchingWindowInSeconds")

# Demo data: one advanced-plan tenant with two users and an admin, one basic-plan tenant.
DEMO_TENANTS = (
    Tenant("acme", "Acme Corporation", Plan.ADVANCED),
    Tenant("smallco", "Small Co.", Plan.BASIC),
)
DEMO_USERS = (
    ("acme", "alice@acme.example", "Alice Abe", False),
    ("acme", "bob@acme.example", "Bob Baba", False),
    ("acme", "carol@acme.example", "Carol Chiba (admin)", True),
    ("smallco", "dave@smallco.example", "Dave Doi", False),
)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class LocalStackConfig:
    """How to run the local stack."""

    host: str = "127.0.0.1"
    api_port: int = 8000
    poll_every: float | None = None  # None: the template's schedule
    state_dir: Path = REPO_ROOT / ".local"
    fresh: bool = False
    persist: bool = True
    seed: bool = True
    run_schedules: bool = True
    snapshot_every: float = 60.0
    concurrency: dict[str, int] = field(default_factory=dict)
    # A CA to trust for mail servers (a private Dovecot in tests and demos). Read only when
    # STAGE is local, which a deployed stack can never be (see provision.py).
    mail_ca_file: str | None = None
    # `make run`'s demo mail server (mailport_local.demo_mail): a private Dovecot with its
    # data under state_dir, its CA trusted along with mail_ca_file. Off for tests and benches.
    demo_mail: bool = False
    # `make run --demo-microsoft`: a demo identity provider (mailport_local.demo_identity)
    # stands in for Microsoft's, and the demo mail server for Exchange Online (XOAUTH2 with
    # its tokens). Needs demo_mail. Only the local stack has it: a deployed Settings refuses
    # an authority that is not Microsoft's.
    demo_microsoft: bool = False
    # Extra variables for every function (tests shrink chunk sizes and limits with them).
    environment: dict[str, str] = field(default_factory=dict)
    # moto in a process of its own (mailport_local.awsprocess): the emulator no longer shares
    # this interpreter's lock with the functions. Without persistence (see that module).
    aws_process: bool = False
    # Record each function's AWS calls for the least-privilege check (tests/conftest.py sets
    # MAILPORT_RECORD_CALLS); off for `make run`, whose sessions would keep every call.
    record_calls: bool = field(
        default_factory=lambda: os.environ.get("MAILPORT_RECORD_CALLS") == "1"
    )


def _install_recorders() -> None:
    """What the functions send CloudWatch, and which AWS calls each makes (idempotent)."""
    local_metrics.install()  # GET /v1/local/metrics: the figures CloudWatch would get
    calls.install()  # before any session is made: every client's calls are recorded


@dataclass
class LocalStack:
    """moto + the template's resources + in-process functions and their event sources."""

    config: LocalStackConfig = field(default_factory=LocalStackConfig)
    lambdas: LocalLambdas = field(default_factory=LocalLambdas)
    physical: dict[str, Any] = field(default_factory=dict)
    sqs_sources: dict[str, SqsEventSource] = field(default_factory=dict)
    schedules: dict[str, Schedule] = field(default_factory=dict)
    event_bus: events.EventBus = field(default_factory=events.EventBus)
    api_url: str = ""
    moto_url: str = ""
    gateway: Gateway | None = None
    auth: LocalAuth | None = None
    restored: dict[str, int] = field(default_factory=dict)
    _moto: AwsServer | AwsProcess | None = None
    _bridge: Bridge | None = None
    _snapshot: Snapshot | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _snap_thread: threading.Thread | None = None
    _types: dict[str, str] = field(default_factory=dict)
    provisioner: Provisioner | None = None  # resolves the template's names to this stack's
    demo_mail: DemoMail | None = None
    demo_mail_problem: str | None = None  # why the demo mail server is not running, if asked
    demo_identity: DemoIdentityProvider | None = None  # --demo-microsoft's
    demo_microsoft_problem: str | None = None  # why it is not running, if asked

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LocalStack:
        """Start everything; return self once the API answers."""
        cfg = self.config
        _install_recorders()
        if cfg.aws_process:
            if cfg.persist:
                raise ValueError("aws_process runs without persistence: set persist=False")
            self._bridge = Bridge(self.lambdas, self.event_bus, cfg.host)
            self._bridge.start()
            self._moto = AwsProcess(cfg.host, self._bridge.url)
        else:
            moto_patches.install()
            self._moto = AwsServer(cfg.host)
        self._moto.start()
        moto_port = self._moto.port
        self.moto_url = f"http://{cfg.host}:{moto_port}"
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        _point_boto_at(self.moto_url, moto_port)
        requests.post(
            f"{self.moto_url}/moto-api/config",
            json={"stepfunctions": {"execute_state_machine": True}},
            timeout=10,
        ).raise_for_status()
        if not cfg.aws_process:  # the child installs its own hooks, calling the bridge
            self.lambdas.install_moto_hook()

        self._prepare_state_dir()
        session = boto3.session.Session()
        self._snapshot = Snapshot(cfg.state_dir, session)
        restoring = cfg.persist and self._snapshot.exists()

        template = load_template()
        provisioner = Provisioner(template, session=session)
        self._watch_calls(template, provisioner)
        if restoring:
            provisioner.adopt_key = self._snapshot.adopt_key
        provisioner.after_create.append(lambda lid, kind, _p: self._types.__setitem__(lid, kind))
        self.physical = provisioner.provision_all()
        self._register_demo_app(session)

        shared_env = self._register_functions(template, provisioner)
        os.environ.update(shared_env)

        if restoring:
            tables, buckets, _keys = self._persisted()
            self.restored = self._snapshot.restore(tables, buckets)
            log.info("restored %s", self.restored)

        directory = DynamoDirectory(
            shared_env["TABLE_NAME"], client=LazyClient("dynamodb", session)
        )
        if cfg.seed:
            _seed(directory)
        self.auth = LocalAuth(secret=_secret(cfg.state_dir), directory=directory)
        self.gateway = Gateway(
            api_routes(template), self.lambdas, self.auth, demo_mail=self.demo_mail
        )
        port = self.gateway.serve(cfg.host, cfg.api_port)
        self.api_url = f"http://{cfg.host}:{port}"

        self._start_sources(template, session, provisioner)
        if cfg.persist and cfg.snapshot_every > 0:
            self._snap_thread = threading.Thread(
                target=self._snapshot_loop, name="snapshot", daemon=True
            )
            self._snap_thread.start()
        return self

    def stop(self) -> None:
        """Stop everything this stack started; save a snapshot first."""
        self._stop.set()
        if self.gateway is not None:
            self.gateway.shutdown()
        for schedule in self.schedules.values():
            schedule.stop()
        for source in self.sqs_sources.values():
            source.stop()
        events.remove_listener(self.event_bus.put)
        self.event_bus.stop()
        if self._snap_thread is not None:
            self._snap_thread.join(timeout=60)
        if self.config.persist and self._snapshot is not None:
            try:
                self._snapshot.save(*self._persisted())
            except Exception:
                log.exception("could not save the local state")
        self.stop_demos()
        if self._moto is not None:
            self._moto.stop()
        if self._bridge is not None:
            self._bridge.stop()

    def stop_demos(self) -> None:
        """Stop the demo mail server (it runs in a session of its own: it would outlive this
        process) and the demo identity provider. Also what a failed start calls.
        """
        if self.demo_mail is not None:
            self.demo_mail.stop()
        if self.demo_identity is not None:
            self.demo_identity.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ helpers
    def physical_id(self, logical_id: str) -> str:
        """``Ref`` of a template resource in this stack."""
        return str(self.physical[logical_id].ref)

    def container(self, logical_id: str) -> Any:
        """The wiring container of one of this stack's functions (once it has run)."""
        return container_of(self.lambdas.stack, logical_id)

    @property
    def aws_pid(self) -> int | None:
        """The emulator's process id when it runs in a process of its own."""
        return self._moto.pid if isinstance(self._moto, AwsProcess) else None

    def token(self, email: str, tenant: str, admin: bool = False) -> str:
        """A signed token for a user (tests and demos)."""
        assert self.auth is not None
        return self.auth.sign(user_id_for(tenant, email), email, tenant, admin)

    def _prepare_state_dir(self) -> None:
        """Empty it for --fresh, make it, start the demo mail server (its data is there)."""
        cfg = self.config
        if cfg.demo_mail:
            stop_stale(cfg.state_dir)  # one a killed run left holds the state dir
        if cfg.fresh:
            shutil.rmtree(cfg.state_dir, ignore_errors=True)
        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        if cfg.demo_microsoft and not cfg.demo_mail:
            self.demo_microsoft_problem = "it needs the demo mail server (not --no-demo-mail)"
        elif cfg.demo_microsoft:
            self.demo_identity = DemoIdentityProvider(
                cfg.state_dir / "demo-identity",
                client_id="mailport-demo",
                interactive=True,
                mailboxes=demo_microsoft_mailboxes(),
            ).start()
        if cfg.demo_mail:
            self._start_demo_mail()
        if self.demo_identity is not None and self.demo_mail is None:
            self.demo_identity.stop()
            self.demo_identity = None
            self.demo_microsoft_problem = "it needs the demo mail server, which is off"

    def _start_demo_mail(self) -> None:
        """Start the demo mail server; without it the stack still runs (and says why)."""
        idp = self.demo_identity
        try:
            self.demo_mail = DemoMail(
                self.config.state_dir,
                oauth2_introspection_url=idp.introspection_url if idp else None,
                microsoft=_microsoft_info(idp) if idp else None,
            ).start()
        except (DemoMailUnavailable, DovecotError, OSError) as e:
            log.warning("the demo mail server is off: %s", e)
            self.demo_mail, self.demo_mail_problem = None, str(e).splitlines()[0]

    def _demo_microsoft_environment(self) -> dict[str, str]:
        """--demo-microsoft: the demo identity provider as Microsoft's, the demo mail server
        as Exchange Online (the settings honour these only where STAGE is local).
        """
        idp, mail = self.demo_identity, self.demo_mail
        if idp is None or mail is None:
            return {}
        d = mail.dovecot
        return {
            "M365_AUTHORITY": idp.authority,
            "OAUTH_EXTRA_CA_FILE": idp.ca_file,
            "M365_IMAP_HOST": d.host,
            "M365_IMAP_PORT": str(d.imaps_port),
            "M365_POP_HOST": d.host,
            "M365_POP_PORT": str(d.pop3s_port),
        }

    def _register_demo_app(self, session: boto3.session.Session) -> None:
        """--demo-microsoft: the app registration (the demo's client) in the stack's secret."""
        idp = self.demo_identity
        if idp is None or self.demo_mail is None or "Microsoft365AppSecret" not in self.physical:
            return
        app = {"client_id": idp.client_id, "client_secret": idp.client_secret}
        session.client("secretsmanager").put_secret_value(
            SecretId=self.physical_id("Microsoft365AppSecret"), SecretString=json.dumps(app)
        )

    def _mail_ca_file(self) -> str | None:
        """The CA file the functions trust for mail servers: --trust-ca's, the demo server's,
        or both in one bundle (MAIL_EXTRA_CA_FILE names one file).
        """
        given = self.config.mail_ca_file
        if self.demo_mail is None:
            return given
        if not given:
            return str(self.demo_mail.ca_file)
        bundle = self.config.state_dir / "mail-ca-bundle.pem"
        parts = [Path(given).read_bytes(), self.demo_mail.ca_file.read_bytes()]
        bundle.write_bytes(b"\n".join(parts))
        return str(bundle)

    def _persisted(self) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
        def of(kind: str) -> dict[str, str]:
            return {lid: self.physical_id(lid) for lid, t in self._types.items() if t == kind}

        return of("AWS::DynamoDB::Table"), of("AWS::S3::Bucket"), of("AWS::KMS::Key")

    def _snapshot_loop(self) -> None:
        assert self._snapshot is not None
        while not self._stop.wait(self.config.snapshot_every):
            try:
                self._snapshot.save(*self._persisted())
            except Exception:
                log.exception("periodic snapshot failed")

    def _watch_calls(self, template: dict[str, Any], provisioner: Provisioner) -> None:
        """Record who calls AWS, for the tests to check against template.yaml's roles."""
        calls.RECORDER.enabled = calls.RECORDER.enabled or self.config.record_calls
        isolate_containers()  # each function wires its own adapters, as on Lambda
        self.provisioner = provisioner
        calls.RESOLVERS[self.lambdas.stack] = provisioner.resolve
        machines = [
            lid
            for lid, r in template["Resources"].items()
            if r.get("Type") == "AWS::Serverless::StateMachine"
        ]
        self.lambdas.state_machine = machines[0] if len(machines) == 1 else None

    def _register_functions(
        self, template: dict[str, Any], provisioner: Provisioner
    ) -> dict[str, str]:
        """Register every function; return the environment they all share."""
        shared: dict[str, str] = {}
        # Mail servers on this machine (a private Dovecot) are what the local stack talks to.
        extra: dict[str, str] = {"ALLOW_PRIVATE_MAIL_HOSTS": "1"}
        if self.config.poll_every:
            # The dispatcher spreads accounts over the schedule's period: keep them in it.
            extra["SCHEDULE_WINDOW_SECONDS"] = str(max(1, int(self.config.poll_every)))
        if ca_file := self._mail_ca_file():
            extra["MAIL_EXTRA_CA_FILE"] = ca_file
        extra.update(self._demo_microsoft_environment())
        extra.update(self.config.environment)
        for spec in functions(template):
            env = {k: str(v) for k, v in provisioner.resolve(spec.environment).items()}
            env.update(extra)
            fn = self.lambdas.add(
                spec,
                self.physical_id(spec.logical_id),
                concurrency=self.config.concurrency.get(spec.logical_id, 1),
                environment=env,
            )
            for key, value in env.items():
                if key != "POWERTOOLS_SERVICE_NAME" and shared.setdefault(key, value) != value:
                    log.debug("%s differs per function; %s keeps its own", key, fn.name)
        return {k: v for k, v in shared.items() if k != "POWERTOOLS_SERVICE_NAME"}

    def _start_sources(
        self, template: dict[str, Any], session: boto3.session.Session, provisioner: Provisioner
    ) -> None:
        for spec in functions(template):
            fn = self.lambdas[spec.logical_id]
            for event_name, event in spec.events.items():
                props = event.get("Properties", {})
                if event["Type"] == "SQS":
                    # Sizes may be parameters (FetchBatchSize): their template defaults here.
                    sizes = provisioner.resolve({k: v for k, v in props.items() if k in _SQS_SIZES})
                    queue_logical = props["Queue"]["Fn::GetAtt"][0]
                    source = SqsEventSource(
                        function=fn,
                        queue_url=self.physical_id(queue_logical),
                        queue_arn=self.physical[queue_logical].attrs["Arn"],
                        batch_size=int(sizes.get("BatchSize", 10)),  # Lambda's default
                        report_batch_item_failures="ReportBatchItemFailures"
                        in props.get("FunctionResponseTypes", []),
                        pollers=fn.concurrency,
                        batching_window_s=float(sizes.get("MaximumBatchingWindowInSeconds", 0)),
                        session=session,
                    )
                    self.sqs_sources[f"{spec.logical_id}.{event_name}"] = source
                    source.start()
                elif event["Type"] in ("Schedule", "ScheduleV2"):
                    interval = self.config.poll_every or rate_seconds(
                        props.get("Schedule") or props["ScheduleExpression"]
                    )
                    schedule = Schedule(fn, interval, f"{spec.logical_id}-{event_name}")
                    self.schedules[f"{spec.logical_id}.{event_name}"] = schedule
                    if self.config.run_schedules:
                        schedule.start()
                elif event["Type"] in ("EventBridgeRule", "CloudWatchEvent") and "Pattern" in props:
                    used = {k: v for k, v in props.items() if k in events.RULE_PROPERTIES}
                    rule = events.Rule.from_event(
                        f"{spec.logical_id}-{event_name}", provisioner.resolve(used), fn
                    )
                    if rule is not None:
                        self.event_bus.rules.append(rule)
        # Service events (Step Functions' status changes) reach rules like the ones above
        # (from moto's engine here, or through the bridge from its own process).
        self.event_bus.start()
        if not self.config.aws_process:
            events.add_listener(self.event_bus.put)


def demo_microsoft_mailboxes() -> dict[str, str]:
    """--demo-microsoft's mailboxes: each demo mail user as <name>@MICROSOFT_DOMAIN."""
    return {f"{u.name}@{MICROSOFT_DOMAIN}": u.display_name for u in DEMO_MAIL_USERS}


def _microsoft_info(idp: DemoIdentityProvider) -> dict[str, Any]:
    """What ``GET /v1/local/demo-mail`` says about the Microsoft 365 demo."""
    return {
        "demo": True,
        "sign_in": idp.authorize_url,
        "mailboxes": [
            {"address": address, "display_name": name} for address, name in idp.mailboxes.items()
        ],
    }


def _point_boto_at(url: str, port: int) -> None:
    """Every boto3 client in this process talks to moto (botocore honours AWS_ENDPOINT_URL)."""
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            # moto's Step Functions engine calls Lambda at localhost:MOTO_PORT.
            "MOTO_PORT": str(port),
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_DEV": "false",
        }
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(name, None)


def _seed(directory: DynamoDirectory) -> None:
    for tenant in DEMO_TENANTS:
        if directory.get_tenant(tenant.tenant_id) is None:
            directory.put_tenant(tenant)
    for tenant_id, email, name, admin in DEMO_USERS:
        user_id = user_id_for(tenant_id, email)
        if directory.get_user(tenant_id, user_id) is None:
            directory.put_user(User(user_id, tenant_id, email, name, admin))


def _secret(state_dir: Path) -> bytes:
    """The token-signing secret, kept with the state so tokens survive a restart."""
    path = state_dir / "token-secret"
    if not path.exists():
        path.write_bytes(secrets.token_bytes(32))
        path.chmod(0o600)
    return path.read_bytes()
