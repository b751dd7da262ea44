"""Capacity and cost: what a given workload needs of AWS per month, and where the limits are.

    .venv/bin/python -m bench.capacity                # the tables, and bench/results/capacity.json
    .venv/bin/python -m bench.capacity --item-sizes   # first re-measure DynamoDB item sizes

The model multiplies three kinds of figures, and every line of the output says which:

* **measured**: AWS API calls per run counted by the benchmarks (``bench/results/pop3.json``,
  ``imap.json``), the dispatcher's calls for 100,000 accounts, the state transitions and Lambda
  invocations of a migration, the worker's CPU seconds, the corpus's message sizes;
* **derived from code**: what the benchmarks do not count, read from the code path (the .eml
  ingest path's calls, the per-message DynamoDB items and their sizes, the state machine's
  transitions per chunk and per pause, SQS receives and deletes by the event source);
* **assumed**: the workload (``Workload``), durations on AWS (the benchmarks ran against a local
  emulator on 2 cores, so their wall times say nothing about Lambda's) and prices (``PRICES``).
  Where a figure is assumed it is a low/high pair, and so is everything computed from it.

Item sizes (``bench/results/item_sizes.json``) are measured by building the real items with the
adapters' own code (``DynamoMailbox._message_item``, ``DynamoAccountStore.account_item``...) for
the benchmark corpus, and sizing them by DynamoDB's rules (attribute names + values).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.corpus import messages as corpus
from mailport.adapters import keys
from mailport.adapters.dynamo_table import to_ddb
from mailport.adapters.dynamodb_accounts import DynamoAccountStore
from mailport.adapters.dynamodb_mailbox import DynamoMailbox
from mailport.adapters.dynamodb_runs import DynamoRunLedger
from mailport.adapters.dynamodb_uploads import file_item
from mailport.domain.accounts import (
    FetchRun,
    PopAccount,
    Preset,
    RunCounts,
    RunStatus,
    RunTrigger,
    new_run_id,
)
from mailport.domain.mailbox import Flags, Owner, Source, SourceType, StoredMessage, message_id_for
from mailport.domain.mime import fingerprint, summarize
from mailport.domain.uploads import UploadFile
from mailport.usecases.importing import raw_key

RESULTS = Path(__file__).resolve().parent / "results"
MONTH_S = 30 * 86_400
KB = 1024
MB = 1024 * KB
GB = 1024 * MB


# ------------------------------------------------------------------------------------ ranges
@dataclass(frozen=True, slots=True)
class Range:
    """A figure known only within bounds (low, high); exact figures have low == high."""

    low: float
    high: float

    @staticmethod
    def of(value: float) -> Range:
        """An exact figure."""
        return Range(value, value)

    def __add__(self, other: Range | float) -> Range:
        if isinstance(other, Range):
            return Range(self.low + other.low, self.high + other.high)
        return Range(self.low + other, self.high + other)

    __radd__ = __add__

    def __mul__(self, other: Range | float) -> Range:
        if isinstance(other, Range):
            return Range(self.low * other.low, self.high * other.high)
        return Range(self.low * other, self.high * other)

    __rmul__ = __mul__

    def __truediv__(self, other: float) -> Range:
        return Range(self.low / other, self.high / other)

    def ordered(self) -> Range:
        """Low first (a rate from a duration swaps them)."""
        return Range(min(self.low, self.high), max(self.low, self.high))

    def to_json(self) -> dict[str, float]:
        return {"low": self.low, "high": self.high}


ZERO = Range(0.0, 0.0)


def total(ranges: Iterable[Range]) -> Range:
    out = ZERO
    for r in ranges:
        out = out + r
    return out


# ------------------------------------------------------------------------------------ prices
# us-east-1, on-demand list prices, Lambda on arm64. Recorded from the AWS pricing pages named
# in ``source``, as published in 2025 (after DynamoDB's on-demand price cut of 1 Nov 2024).
# They were NOT re-checked on the day these figures were generated: verify before use.
PRICES_AS_OF = "2025 list prices (us-east-1); not re-checked 2026-11-28: verify before use"


@dataclass(frozen=True, slots=True)
class Price:
    """USD per ``per`` units of a meter."""

    usd: float
    per: float
    unit: str
    source: str

    @property
    def each(self) -> float:
        return self.usd / self.per


PRICES: dict[str, Price] = {
    "lambda.requests": Price(0.20, 1e6, "requests", "AWS Lambda pricing"),
    # arm64, first tier; tiers (per month, account-wide): next 11.25 B GB-s at 0.0000120001,
    # over 18.75 B at 0.0000106667 (see LAMBDA_GB_S_TIERS). The free tier is ignored.
    "lambda.gb_s": Price(0.0000133334, 1, "GB-seconds (arm64)", "AWS Lambda pricing"),
    "sfn.transitions": Price(
        0.025, 1000, "state transitions (Standard)", "AWS Step Functions pricing"
    ),
    "ddb.wru": Price(
        0.625, 1e6, "write request units (on-demand)", "Amazon DynamoDB pricing, on-demand"
    ),
    "ddb.rru": Price(
        0.125, 1e6, "read request units (on-demand)", "Amazon DynamoDB pricing, on-demand"
    ),
    "ddb.gb": Price(
        0.25,
        1,
        "GB added in the month (table + PITR, priced per GB-month)",
        "Amazon DynamoDB pricing, on-demand",
    ),
    "ddb.pitr_gb": Price(
        0.20, 1, "GB-month of continuous backup (PITR)", "Amazon DynamoDB pricing, on-demand"
    ),
    "s3.put": Price(0.005, 1000, "PUT/COPY/POST/LIST requests", "Amazon S3 pricing, S3 Standard"),
    "s3.get": Price(0.0004, 1000, "GET and all other requests", "Amazon S3 pricing, S3 Standard"),
    # First 50 TB/month tier; 0.022 next 450 TB, 0.021 over 500 TB (ignored: <= 9 % lower).
    "s3.gb": Price(
        0.023,
        1,
        "GB added in the month (Standard, priced per GB-month)",
        "Amazon S3 pricing, S3 Standard",
    ),
    "sqs.requests": Price(
        0.40, 1e6, "requests (64 KB chunks), standard queue", "Amazon SQS pricing"
    ),
    "kms.requests": Price(0.03, 10_000, "requests (symmetric)", "AWS KMS pricing"),
    "kms.keys": Price(1.00, 1, "customer managed key-months", "AWS KMS pricing"),
    "logs.gb": Price(
        0.50, 1, "GB ingested (Standard log class)", "Amazon CloudWatch pricing, Logs"
    ),
    "xray.traces": Price(5.00, 1e6, "traces recorded", "AWS X-Ray pricing"),
    # Schedule rules (template Type: Schedule) and AWS service events on the default bus are
    # not charged; EventBridge Scheduler would be $1.00 per million after 14 M free a month.
    "events.invocations": Price(
        0.0, 1, "scheduled rule and AWS service events", "Amazon EventBridge pricing"
    ),
}
LAMBDA_GB_S_TIERS = ((7.5e9, 0.0000133334), (11.25e9, 0.0000120001), (math.inf, 0.0000106667))

SERVICES = {
    "lambda": "Lambda",
    "sfn": "Step Functions",
    "ddb": "DynamoDB",
    "s3": "S3",
    "sqs": "SQS",
    "kms": "KMS",
    "logs": "CloudWatch Logs",
    "xray": "X-Ray",
    "events": "EventBridge",
}


def lambda_compute_usd(gb_s: float) -> float:
    """Lambda duration charge for a month's GB-seconds, with arm64's volume tiers."""
    usd, left = 0.0, gb_s
    for size, rate in LAMBDA_GB_S_TIERS:
        part = min(left, size)
        usd += part * rate
        left -= part
        if left <= 0:
            break
    return usd


# ------------------------------------------------------------------------------ assumptions
@dataclass(frozen=True, slots=True)
class Workload:
    """What is assumed (the issue's scale, and choices where it says nothing). Each field says
    why; change them with ``--set name=value`` to see another scale.
    """

    users: int = 100_000
    pop_accounts_per_user: int = 10  # the figure: 1,000,000 accounts
    poll_interval_s: int = 600  # template.yaml: rate(10 minutes), spread over the window
    days: int = 30
    # New mail per POP account per day. 20 is a personal mailbox's inflow (not counting spam
    # the provider filters); the messages are the benchmark corpus's mix (measured size).
    new_mail_per_account_day: float = 20.0
    concurrent_migrations: int = 1000  # the figure: always running
    mailbox_messages: int = 100_000
    # 5 GiB: heavier than the corpus (~25 KB a message) because real mailboxes keep years of
    # attachments: 100,000 messages of ~52 KB.
    mailbox_bytes: int = 5 * GB
    # Gmail's documented IMAP download allowance (domain.migration.GMAIL): it sets how long a
    # migration runs, hence how many start a month with 1,000 always running.
    provider_daily_bytes: int = 2500 * MB
    uploads_per_month: int = 10_000_000  # .eml files: e.g. 10 % of users bring 1,000 each
    peak_over_mean: float = 3.0  # new mail and uploads arrive by day, not flat (limits only)
    storage_months: int = 12  # for the cumulative storage figure

    @property
    def accounts(self) -> int:
        return self.users * self.pop_accounts_per_user

    @property
    def polls_per_day(self) -> float:
        return 86_400 / self.poll_interval_s

    @property
    def migration_days(self) -> float:
        """How long one migration runs: the provider's daily allowance paces it."""
        return max(1.0, self.mailbox_bytes / self.provider_daily_bytes)

    @property
    def migrations_per_month(self) -> float:
        return self.concurrent_migrations * self.days / self.migration_days


@dataclass(frozen=True, slots=True)
class Durations:
    """Assumed durations and sizes on AWS (low, high). The benchmarks' wall times are against
    moto in one Python process on 2 cores, so only their CPU seconds carry over.
    """

    # A POP poll that finds nothing new: TLS handshake, USER/PASS, LIST, UIDL, QUIT against the
    # provider (5-8 round trips of 30-100 ms), plus KMS and two DynamoDB writes (~10 ms each).
    pop_idle_poll_s: Range = Range(0.3, 1.0)
    # A batch of 10 polls side by side lasts this many times one poll: 1.5 if they only
    # waited; bench.pop_batch measured 2.4-2.8 (idle, 40 ms a server answer, 2 cores).
    pop_batch_stretch: Range = Range(1.5, 2.7)
    # The fetch worker's own CPU per idle poll, all threads: bench.pop_sessions measured 4.1 ms
    # with 250 polls an invocation (2026-12-07); high = the 5.3 ms of ten an invocation.
    # Past ten polls an invocation it is CPU that sets how long it lasts (pop_invocation_s).
    pop_poll_cpu_s: Range = Range(0.0041, 0.0053)
    # A run that finds mail also reads its receipts, RETRs, writes receipts and the run record.
    pop_mail_run_extra_s: Range = Range(0.1, 0.3)
    # Latency-bound per message in small runs (most runs find 1-2 messages): S3 PutObject and
    # the index transaction one after the other, parse, DELE.
    pop_message_s: Range = Range(0.06, 0.2)
    # Migration worker: CPU-bound at 8 stores in flight; low = the measured CPU per message on
    # 1024 MB (0.58 of a vCPU), high = twice that (slower core, provider stalls).
    imap_vcpu_share: float = 1024 / 1769
    imap_step_s: Range = Range(0.5, 2.0)  # plan, finalize, notify (measured plan 0.52 s on moto)
    imap_pause_invocation_s: Range = Range(0.1, 0.3)  # CopyChunk that only says "still paused"
    ingest_message_s: Range = Range(0.08, 0.25)  # S3 GET + parse + S3 PUT + transaction
    ingest_batch: Range = Range(10.0, 2.0)  # records per invocation (batch 10, 1 s window)
    dispatch_call_s: Range = Range(0.01, 0.03)  # one SendMessageBatch / Query page on AWS
    scheduler_invocation_s: Range = Range(0.2, 1.0)
    # Log bytes per invocation: START/END/REPORT, Powertools' JSON lines, EMF metrics.
    log_bytes_per_invocation: Range = Range(1000.0, 3000.0)
    xray_sampled: float = 0.05  # default sampling rule: 1 request/s, then 5 %
    # Receipts a POP account's partition holds when a run reads them all (``imported``):
    # they are never pruned, so they grow with the account's age (1 day .. 1 year of mail).
    receipt_history_days: Range = Range(1.0, 365.0)
    job_item_bytes: Range = Range(2 * KB, 8 * KB)  # the plan with every folder's checkpoint
    # Extra bytes on a real message's index item over the corpus's (more recipients, longer
    # subjects, attachment names): the corpus has one From and one To.
    message_item_extra_bytes: Range = Range(0.0, 512.0)
    # Gmail-style jobs (labels) also read and write a JOBFP item per message; Dovecot's didn't.
    jobfp_share: Range = Range(0.0, 1.0)


@dataclass(frozen=True, slots=True)
class Tuning:
    """Changes proposed in docs/capacity.md. The defaults are the code as first reviewed;
    ``TUNED`` applies them all, to show what each path would cost then. Of these, the
    receipt pruning, idle polls at DEBUG and ten polls an invocation are in the code
    (2026-11-29); the defaults stay as first reviewed so the two columns compare.
    """

    polls_per_invocation: int = 1  # FetchWork BatchSize 1; tuned: 10 polls run side by side
    log_factor: float = 1.0  # log bytes per invocation; tuned: idle polls log at DEBUG
    # Sampled share of fetch invocations. Lambda samples Active invocations itself (1 a
    # second, then 5 %) and applies no X-Ray sampling rule (checked 2026-12-08), so tuned
    # stays at the default: batching, not a rule, is what cut the traces.
    pop_xray_sampled: float | None = None
    kms_share: Range = Range(1.0, 1.0)  # Decrypts per poll; tuned: a cached data key per shard
    finish_as_update: bool = False  # finish_run's one-item TransactWriteItems as an UpdateItem
    receipts_pruned: bool = False  # receipts kept only for UIDLs still on the server
    # Accounts a fetch message carries (in the code since 2026-12-07: 25, the dispatcher
    # packs those due in the same second); one SendMessageBatch then queues 250 accounts.
    accounts_per_message: int = 1
    # An idle poll writes no account item, only a small check item in a batch write (in
    # the code since 2026-12-07): 1 WRU where the lease and the outcome were 2-4.
    idle_check_only: bool = False
    # Messages indexed in groups (DynamoMessageIndex, in the code since 2026-12-07): the
    # message item and its GSI1 copy at 1x, the fingerprint claim at 2x in the group's
    # transaction, the folder counters shared by the group, the message keys read first.
    grouped_index: bool = False


# A message's share of its group's counter update. POP: bench.index_writes (2026-12-07), 40
# stores at once made groups of about 18. IMAP: a job's store pool is 8, so groups of 8.
POP_GROUP_SHARE = 0.055
IMAP_GROUP_SHARE = 1 / 8


def index_wru(
    tuning: Tuning, msg: Range, fp_bytes: float, folder_bytes: float, share: float
) -> Range:
    """WRU to index one message: one transaction of its own, or a share of a group's (whose
    message keys are read first, 1 RRU each: added by the callers).
    """
    if tuning.grouped_index:
        return msg * 2 + 2 * units(fp_bytes, KB) + share * 2 * units(folder_bytes, KB)
    return msg * 3 + 2 * units(fp_bytes, KB) + 2 * units(folder_bytes, KB)


TUNED = Tuning(
    # 10 messages of 25 accounts, all polled at once (FetchSessions 250; 2026-12-07).
    polls_per_invocation=250,
    accounts_per_message=25,
    log_factor=2.0,
    # In the code since 2026-12-07: one Decrypt per container per 5 minutes (the held data
    # key; bench.pop_sessions: 1 in 250 polls, the cold worker's). At 1,667 polls/s on the
    # ~20 containers this needs, 0.07 Decrypt/s; high x10 for containers coming and going.
    kms_share=Range(0.0001, 0.001),
    finish_as_update=True,
    receipts_pruned=True,
    idle_check_only=True,
    grouped_index=True,
)


# ------------------------------------------------------------------------- DynamoDB sizing
def _number_bytes(v: Any) -> int:
    digits = len(str(v).lstrip("-").replace(".", "").lstrip("0")) or 1
    return math.ceil(digits / 2) + 1


_SCALARS: dict[str, Callable[[Any], int]] = {
    "S": lambda v: len(str(v).encode("utf-8")),
    "B": len,
    "N": _number_bytes,
    "BOOL": lambda _: 1,
    "NULL": lambda _: 1,
    "SS": lambda v: sum(len(str(x).encode("utf-8")) for x in v),
    "NS": lambda v: sum(_number_bytes(x) for x in v),
    "BS": lambda v: sum(len(x) for x in v),
}


def ddb_value_bytes(value: Mapping[str, Any]) -> int:
    """Size of one typed attribute value by DynamoDB's rules (approximate for numbers)."""
    (kind, v), *_ = value.items()
    if kind == "L":
        return 3 + sum(1 + ddb_value_bytes(x) for x in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + ddb_value_bytes(x) for k, x in v.items())
    if kind not in _SCALARS:
        raise ValueError(f"unknown DynamoDB type {kind}")
    return _SCALARS[kind](v)


def ddb_item_bytes(item: Mapping[str, Mapping[str, Any]]) -> int:
    """Size of a typed item: attribute names plus values."""
    return sum(len(name.encode("utf-8")) + ddb_value_bytes(v) for name, v in item.items())


def units(size: float, unit: int) -> int:
    """Request units for an item of ``size`` bytes (1 KB for writes, 4 KB for reads)."""
    return max(1, math.ceil(size / unit))


# Measured with ``--item-sizes`` on 2026-11-28 (the fallback when the file is absent).
DEFAULT_ITEM_SIZES: dict[str, float] = {
    "message_mean_bytes": 819.5,
    "message_wru_mean": 1.0,
    "message_wru_mean_plus_extra": 2.0,
    "imap_message_mean_bytes": 969.5,
    "imap_message_wru_mean": 1.0,
    "imap_message_wru_mean_plus_extra": 2.0,
    "account_bytes": 983.0,
    "fingerprint_bytes": 173.0,
    "folder_bytes": 127.0,
    "receipt_bytes": 226.0,
    "run_bytes": 325.0,
    "upload_file_bytes": 207.0,
    "due_entry_bytes": 177.0,
    "jobmsg_entry_bytes": 216.0,
    "pop_mean_message_bytes": 25876.3,
    "source": 0.0,
}


def measure_item_sizes(messages: int = 2000) -> dict[str, float]:
    """Build the real items with the adapters' code for the benchmark corpus and size them."""
    now = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
    owner = Owner("acme-corp01", "0f8fad5b-d9cb-469f-a165-70867728950e")  # a Cognito sub
    account_id = "a" + "3" * 20
    mailbox = DynamoMailbox("t", client=object)
    accounts = DynamoAccountStore("t", client=object)
    runs = DynamoRunLedger("t", client=object)
    raws = corpus(messages)

    def message_item(raw: bytes, n: int, source: Source, job: str | None) -> dict[str, Any]:
        mid = message_id_for(source.type.value, source.id, f"{n}")
        digest = "ab" * 32
        stored = StoredMessage(
            mid,
            "inbox",
            summarize(raw),
            Flags(),
            source,
            fingerprint(raw),
            raw_key(owner, mid, digest),
            now,
            job_id=job,
            header_message_id=f"<bench{n}@example.com>",
            sha256=digest,
        )
        return to_ddb(mailbox._message_item(owner, stored))

    pop_sizes = [
        ddb_item_bytes(message_item(r, n, Source(SourceType.POP, account_id), None))
        for n, r in enumerate(raws)
    ]
    job = "j" + "8" * 20
    imap_sizes = [
        ddb_item_bytes(message_item(r, n, Source(SourceType.IMAP, job), job))
        for n, r in enumerate(raws)
    ]
    account = PopAccount(
        account_id,
        Preset.GMAIL,
        "pop.gmail.com",
        995,
        True,
        "someone.long.name@gmail.com",
        "inbox",
        "none",
        True,
        False,
        True,
        now,
        sealed_password=bytes(200),
    )  # a KMS ciphertext of a short password
    item = accounts.account_item(owner, account)
    item.update(
        {
            "run_id": "",
            "run_trigger": "schedule",
            "run_since": now.isoformat(),
            "lease_until": 0,
            "last_tick": now.isoformat(),
            "last_run_id": "x" * 31,
            "last_status": "succeeded",
            "last_error_code": "",
            "last_error": "",
            "last_checked_at": now.isoformat(),
            "last_success_at": now.isoformat(),
            "disabled_reason": "",
            "server_digest": "d" * 64,
        }
    )
    run = FetchRun(
        new_run_id(now, "e" * 8),
        account_id,
        RunTrigger.SCHEDULE,
        RunStatus.SUCCEEDED,
        now,
        now,
        RunCounts(1, 0, 0, 0, 1),
    )
    pk = keys.user_pk(owner)
    due = {"PK": pk, "SK": keys.account_sk(account_id), **keys.due_keys(owner, account_id)}
    return {
        "message_mean_bytes": sum(pop_sizes) / len(pop_sizes),
        "message_wru_mean": sum(units(s, KB) for s in pop_sizes) / len(pop_sizes),
        "message_wru_mean_plus_extra": sum(units(s + 512, KB) for s in pop_sizes) / len(pop_sizes),
        "imap_message_mean_bytes": sum(imap_sizes) / len(imap_sizes),
        "imap_message_wru_mean": sum(units(s, KB) for s in imap_sizes) / len(imap_sizes),
        "imap_message_wru_mean_plus_extra": sum(units(s + 512, KB) for s in imap_sizes)
        / len(imap_sizes),
        "account_bytes": float(ddb_item_bytes(to_ddb(item))),
        "fingerprint_bytes": float(
            ddb_item_bytes(
                to_ddb(
                    {
                        "PK": pk,
                        "SK": keys.fingerprint_sk("inbox", "f" * 64),
                        "message_id": "m" + "x" * 32,
                    }
                )
            )
        ),
        "folder_bytes": float(
            ddb_item_bytes(
                to_ddb(
                    {
                        "PK": pk,
                        "SK": keys.folder_sk("inbox"),
                        "type": "folder",
                        "name": "Inbox",
                        "system": "inbox",
                        "total": 123456,
                        "unread": 1234,
                        "size": 3_456_789_012,
                    }
                )
            )
        ),
        "receipt_bytes": float(
            ddb_item_bytes(
                to_ddb(
                    {
                        "PK": keys.seen_pk(owner, account_id),
                        "SK": keys.uidl_sk("GmailId18c" + "0" * 10),
                        "outcome": "stored",
                        "message_id": "m" + "x" * 32,
                        "fp": "f" * 64,
                    }
                )
            )
        ),
        "run_bytes": float(ddb_item_bytes(to_ddb(runs._run_item(owner, run)))),
        "upload_file_bytes": float(
            ddb_item_bytes(
                to_ddb(
                    file_item(
                        pk,
                        "u" + "1" * 24,
                        UploadFile(3, "Re: quarterly report (final).eml", 27_000),
                        1_800_000_000,
                    )
                )
            )
        ),
        "due_entry_bytes": float(ddb_item_bytes(to_ddb(due))),
        "jobmsg_entry_bytes": float(
            ddb_item_bytes(
                to_ddb(
                    {
                        "PK": pk,
                        "SK": keys.message_sk("m" + "x" * 32),
                        "GSI2PK": keys.job_partition(owner, job),
                        "GSI2SK": "m" + "x" * 32,
                    }
                )
            )
        ),
        "pop_mean_message_bytes": sum(map(len, raws)) / len(raws),
        "source": 1.0,
    }


# ------------------------------------------------------------------------------ the model
Usage = dict[str, Range]  # meter -> units per month


def add(usage: Usage, meter: str, amount: Range | float) -> None:
    value = amount if isinstance(amount, Range) else Range.of(amount)
    usage[meter] = usage.get(meter, ZERO) + value


@dataclass(frozen=True, slots=True)
class Inputs:
    """Everything the model reads: the benchmark results, item sizes and the assumptions."""

    pop3: Mapping[str, Any]
    imap: Mapping[str, Any]
    ingest: Mapping[str, Any]
    sizes: Mapping[str, float]
    workload: Workload = field(default_factory=Workload)
    durations: Durations = field(default_factory=Durations)
    tuning: Tuning = field(default_factory=Tuning)
    memory_gb: Mapping[str, float] = field(
        default_factory=lambda: {
            # template.yaml MemorySize (Globals: 512)
            "pop_fetch": 1.0,
            "pop_dispatch": 0.5,
            "migration_worker": 1.0,
            "migration_scheduler": 0.5,
            "eml_ingest": 1.0,
        }
    )


def invocations(
    usage: Usage,
    d: Durations,
    count: Range | float,
    seconds: Range,
    gb: float,
    *,
    logs: float = 1.0,
    sampled: float | None = None,
) -> None:
    """Lambda requests, GB-seconds, log bytes and sampled traces of ``count`` invocations."""
    n = count if isinstance(count, Range) else Range.of(count)
    add(usage, "lambda.requests", n)
    add(usage, "lambda.gb_s", n * seconds * gb)
    add(usage, "logs.gb", n * d.log_bytes_per_invocation * logs / GB)
    add(usage, "xray.traces", n * (d.xray_sampled if sampled is None else sampled))


def per_call(calls: Mapping[str, int], name: str, per: float) -> float:
    """A measured call count per unit of work (0 when the benchmark made none)."""
    return calls.get(name, 0) / per


def pop_invocation_s(d: Durations, batch: int, gb: float) -> Range:
    """How long an invocation of ``batch`` idle polls lasts: one poll alone; ten side by side
    (measured stretch); more, the slowest poll plus their CPU on the function's share of a
    vCPU (1,769 MB is one), since hundreds at once are CPU-bound between their waits.
    """
    if batch == 1:
        return d.pop_idle_poll_s
    if batch <= 10:
        return d.pop_idle_poll_s * d.pop_batch_stretch
    return d.pop_idle_poll_s + d.pop_poll_cpu_s * (batch / min(1.0, gb * 1024 / 1769))


def pop_polls(i: Inputs) -> Usage:
    """Every poll, most finding nothing new: the fetch function's fixed cost per poll."""
    w, d, s, t = i.workload, i.durations, i.sizes, i.tuning
    polls = w.accounts * w.polls_per_day * w.days
    calls = i.pop3["mailport"]["calls"]  # one run: measured
    usage: Usage = {}
    # As built: one poll per invocation. Tuned: a batch of polls side by side in one
    # invocation, which lasts its slowest poll stretched by the CPU they share.
    batch = t.polls_per_invocation
    seconds = pop_invocation_s(d, batch, i.memory_gb["pop_fetch"])
    invocations(
        usage,
        d,
        polls / batch,
        seconds,
        i.memory_gb["pop_fetch"],
        logs=t.log_factor,
        sampled=t.pop_xray_sampled,
    )
    # SQS event source: one ReceiveMessage and one DeleteMessage(Batch) per batch (derived;
    # empty long polls of idle pollers are negligible against 1,667 messages/s).
    add(usage, "sqs.requests", polls * 2 / batch)
    # KMS Decrypt: measured 1 per run; tuned, a cached data key opens most passwords.
    add(usage, "kms.requests", polls * per_call(calls, "Decrypt", 1) * t.kms_share)
    # GetItem, strongly consistent: 1 RRU per 4 KB of the account item (measured: 1 per run).
    add(usage, "ddb.rru", polls * per_call(calls, "GetItem", 1) * units(s["account_bytes"], 4 * KB))
    # begin_run UpdateItem (measured 1) + finish_run: a TransactWriteItems of one Update (2x;
    # measured 1), or, tuned, a plain UpdateItem. 983 B of 1,024 as measured: any error text
    # takes the item over 1 KB, so high = 2 WRU a write.
    finish = 1 if t.finish_as_update else 2
    per_poll = (
        Range(1.0, 2.0)
        * (per_call(calls, "UpdateItem", 1) + finish)
        * units(s["account_bytes"], KB)
    )
    if t.idle_check_only:
        # Polls that find mail (Poisson arrivals, as pop_mail) write as before; the others
        # one check item of under 1 KB (1 WRU), ten to a BatchWriteItem.
        busy = 1 - math.exp(-w.new_mail_per_account_day / w.polls_per_day)
        per_poll = per_poll * busy + Range(1.0, 1.0) * (1 - busy)
    add(usage, "ddb.wru", polls * per_poll)
    return usage


def pop_mail(i: Inputs) -> Usage:
    """The new mail: per message (measured calls of a 2,000-message run) and per run with mail."""
    w, d, s = i.workload, i.durations, i.sizes
    n = i.pop3["messages"]
    calls = i.pop3["mailport"]["calls"]
    messages = w.accounts * w.new_mail_per_account_day * w.days
    per_poll = w.new_mail_per_account_day / w.polls_per_day
    runs = w.accounts * w.polls_per_day * w.days * (1 - math.exp(-per_poll))  # Poisson arrivals
    size = i.pop3["megabytes"] * MB / n  # measured corpus
    usage: Usage = {}
    add(
        usage,
        "lambda.gb_s",
        (runs * d.pop_mail_run_extra_s + messages * d.pop_message_s) * i.memory_gb["pop_fetch"],
    )
    add(usage, "s3.put", messages * per_call(calls, "PutObject", n))
    add(usage, "s3.gb", messages * size / GB)
    # The index transaction per message (measured TransactWriteItems - 1 finish per run):
    # message Put, fingerprint Put, folder counter Update, 2 WRU per KB each (transaction),
    # plus the message's GSI1 copy (ALL projection, 1 WRU per KB).
    # Grouped (``Tuning.grouped_index``): see ``index_wru``.
    tx = (calls["TransactWriteItems"] - 1) / n
    msg = Range(s["message_wru_mean"], s["message_wru_mean_plus_extra"])
    per_message = index_wru(
        i.tuning, msg, s["fingerprint_bytes"], s["folder_bytes"], POP_GROUP_SHARE
    )
    add(usage, "ddb.wru", messages * tx * per_message)
    if i.tuning.grouped_index:
        add(usage, "ddb.rru", messages * 1.0)
    # Receipts: BatchWriteItem of 25 (measured 80 calls per 2,000), 1 WRU per item.
    add(
        usage,
        "ddb.wru",
        messages * per_call(calls, "BatchWriteItem", n) * 25 * units(s["receipt_bytes"], KB),
    )
    # Per run with mail: the run record Put in the finish transaction (2x), the receipts Query
    # (eventually consistent, 0.5 RRU per 4 KB of the whole partition: ``imported``).
    add(usage, "ddb.wru", runs * 2 * units(s["run_bytes"], KB))
    history = Range(1.0, 1.0) if i.tuning.receipts_pruned else d.receipt_history_days
    receipts = history * w.new_mail_per_account_day * s["receipt_bytes"]
    add(
        usage,
        "ddb.rru",
        Range(
            runs * max(0.5, receipts.low / (4 * KB) * 0.5),
            runs * max(0.5, receipts.high / (4 * KB) * 0.5),
        ),
    )
    per_msg_bytes = (
        s["message_mean_bytes"] * 2 + s["fingerprint_bytes"] + s["receipt_bytes"] + 3 * 100
    )  # message + its GSI1 entry + fingerprint + receipt, 100 B each
    add(usage, "ddb.gb", messages * per_msg_bytes / GB)
    return usage


def pop_dispatch(i: Inputs) -> Usage:
    """The 10-minute tick: the GSI2 query and the SendMessageBatch calls, scaled from the
    measured tick over 100,001 accounts.
    """
    w, d, s = i.workload, i.durations, i.sizes
    tick = i.pop3["dispatcher"]
    scale = w.accounts / tick["queued"]
    ticks = w.polls_per_day * w.days
    # Measured one account a message; packed, a SendMessageBatch queues that many times more.
    sends = tick["calls"]["SendMessageBatch"] * scale / i.tuning.accounts_per_message
    pages = tick["calls"]["Query"] * scale
    usage: Usage = {}
    # Ten minute-partitions read and sent at once (DISPATCH_PARALLELISM 10).
    seconds = d.dispatch_call_s * ((sends + pages) / 10)
    invocations(usage, d, ticks, seconds, i.memory_gb["pop_dispatch"])
    add(usage, "sqs.requests", ticks * sends)
    add(usage, "ddb.rru", ticks * w.accounts * s["due_entry_bytes"] / (4 * KB) * 0.5)
    add(usage, "events.invocations", ticks)
    return usage


@dataclass(frozen=True, slots=True)
class Job:
    """One migration's shape on the state machine (derived from the ASL; checked against the
    measured 1-chunk run).
    """

    chunks: int
    pauses: int
    executions: int

    @property
    def transitions(self) -> int:
        # Route, Plan, MoreToCopy, (CopyChunk, MoreToCopy) per chunk, Finalize, NotifyCompleted,
        # Completed; a pause adds Pause, CopyChunk, MoreToCopy; a continue-as-new adds
        # ContinueAsNew, ContinuedAsNew and the next execution's Route.
        return 6 + 2 * self.chunks + 3 * self.pauses + 3 * (self.executions - 1)

    @property
    def invocations(self) -> int:
        # Plan, CopyChunk per chunk and per pause, Finalize, Notify; ContinueAsNew per new one.
        return 3 + self.chunks + self.pauses + (self.executions - 1)


def migration_job(i: Inputs) -> Job:
    """The typical job: chunks by messages and bytes (MigrationConfig), pauses under the
    provider's daily allowance, each pause at most 900 s (max_pause_s).
    """
    w = i.workload
    chunks = max(math.ceil(w.mailbox_messages / 2000), math.ceil(w.mailbox_bytes / (512 * MB)))
    waiting_days = max(0, math.ceil(w.mailbox_bytes / w.provider_daily_bytes) - 1)
    pauses = math.ceil(waiting_days * 86_400 / 900)
    executions = 1 + (chunks + pauses) // 1000  # chunks_per_execution counts paused calls too
    return Job(chunks, pauses, executions)


def imap_per_message_s(i: Inputs) -> Range:
    """Worker seconds per message on AWS, from the measured CPU seconds per message."""
    worker = i.imap["mailport_worker"]
    cpu = worker["cpu_s"] / i.imap["messages"]
    low = cpu / i.durations.imap_vcpu_share
    return Range(low, 2 * low)


def imap(i: Inputs) -> Usage:
    """Migrations: per message (measured calls of a 2,000-message job), per invocation and
    per job (derived from the state machine and the runner).
    """
    w, d, s = i.workload, i.durations, i.sizes
    n = i.imap["messages"]
    calls = i.imap["mailport_worker"]["calls"]
    jobs = w.migrations_per_month
    job = migration_job(i)
    messages = jobs * w.mailbox_messages
    usage: Usage = {}
    busy = d.imap_step_s * 3  # plan, finalize, notify
    idle = d.imap_pause_invocation_s * job.pauses
    per_job_s = imap_per_message_s(i) * w.mailbox_messages + busy + idle
    invocations(
        usage,
        d,
        jobs * job.invocations,
        per_job_s / job.invocations,
        i.memory_gb["migration_worker"],
    )
    add(usage, "sfn.transitions", jobs * job.transitions)
    add(usage, "s3.put", messages * per_call(calls, "PutObject", n))
    add(usage, "s3.gb", jobs * w.mailbox_bytes / GB)
    # Index transaction: message (2x, with GSI1 ALL copy 1x and GSI2 JOBMSG keys 1x), fp, counter.
    msg = Range(s["imap_message_wru_mean"], s["imap_message_wru_mean_plus_extra"])
    per_message = index_wru(
        i.tuning, msg, s["fingerprint_bytes"], s["folder_bytes"], IMAP_GROUP_SHARE
    )
    gsi2 = units(s["jobmsg_entry_bytes"], KB)
    # Every message is indexed once. Not the measured TransactWriteItems per message: since
    # 2026-12-07 the worker writes a batch's entries in groups (81 transactions for 2,000
    # messages), and index_wru already gives a grouped message's share.
    add(usage, "ddb.wru", messages * (per_message + gsi2))
    if i.tuning.grouped_index:
        add(usage, "ddb.rru", messages * 1.0)
    # Checkpoints: UpdateItem of the job item (measured 33 per 2,000 messages).
    job_wru = Range(units(d.job_item_bytes.low, KB), units(d.job_item_bytes.high, KB))
    add(usage, "ddb.wru", messages * per_call(calls, "UpdateItem", n) * job_wru)
    # "Already there?" BatchGetItem: 100 keys a call, 0.5 RRU a key (eventually consistent,
    # absent items cost the minimum); GetItem of the job per invocation (consistent).
    add(usage, "ddb.rru", messages * per_call(calls, "BatchGetItem", n) * 100 * 0.5)
    job_rru = Range(units(d.job_item_bytes.low, 4 * KB), units(d.job_item_bytes.high, 4 * KB))
    add(usage, "ddb.rru", jobs * job.invocations * job_rru)
    # Gmail-style jobs: JOBFP BatchGetItem (0.5) and BatchWriteItem (1 WRU) per message.
    add(usage, "ddb.rru", messages * d.jobfp_share * 0.5)
    add(usage, "ddb.wru", messages * d.jobfp_share)
    # KMS: measured 2 Decrypts for plan + 1 chunk: one per invocation that opens the source.
    add(usage, "kms.requests", jobs * (1 + job.chunks) * per_call(calls, "Decrypt", 2))
    per_msg_bytes = (
        s["imap_message_mean_bytes"] * 2
        + s["fingerprint_bytes"]
        + s["jobmsg_entry_bytes"]
        + 4 * 100
    )
    add(usage, "ddb.gb", messages * per_msg_bytes / GB)
    # The scheduler: one invocation per execution end (EventBridge), a claim transaction of
    # the job and both MIGRUN counters at the start, their release at the end (derived).
    invocations(
        usage,
        d,
        jobs * job.executions,
        d.scheduler_invocation_s,
        i.memory_gb["migration_scheduler"],
    )
    add(usage, "ddb.wru", jobs * 2 * (job_wru * 2 + 4))
    add(usage, "events.invocations", jobs * job.executions)
    return usage


def uploads(i: Inputs) -> Usage:
    """.eml upload, derived from the code path (the ingest benchmark counts no calls):
    browser POST to S3, S3 event to SQS, the ingest function (S3 GET, S3 PUT, a transaction of
    message, fingerprint, folder counter and the file's result; DeleteObjects per invocation).
    """
    w, d, s = i.workload, i.durations, i.sizes
    n = w.uploads_per_month
    size = i.ingest["megabytes"] * MB / i.ingest["messages"]  # measured corpus
    per_invocation = Range(1 / d.ingest_batch.low, 1 / d.ingest_batch.high)
    usage: Usage = {}
    calls = n * per_invocation
    seconds = Range(
        d.ingest_message_s.low * d.ingest_batch.low, d.ingest_message_s.high * d.ingest_batch.high
    )
    invocations(usage, d, calls, seconds, i.memory_gb["eml_ingest"])
    add(usage, "s3.put", n * 2 + calls)  # presigned POST, mailbox PutObject, DeleteObjects
    add(usage, "s3.get", Range.of(n))  # GetObject of the upload
    add(usage, "s3.gb", n * size / GB)
    add(usage, "sqs.requests", n + calls * 2)  # S3's SendMessage; receive + delete per batch
    msg = Range(s["message_wru_mean"], s["message_wru_mean_plus_extra"])
    small = (
        2 * units(s["fingerprint_bytes"], KB)
        + 2 * units(s["folder_bytes"], KB)
        + 2 * units(s["upload_file_bytes"], KB)
    )
    add(usage, "ddb.wru", n * (msg * 3 + small))
    # Batch creation (API): BatchWriteItem of the file items, 1 WRU each, 500 files a batch.
    add(usage, "ddb.wru", n * units(s["upload_file_bytes"], KB))
    add(usage, "ddb.rru", calls * 1)  # the batch head, once per process and batch (<= 1/call)
    per_msg_bytes = s["message_mean_bytes"] * 2 + s["fingerprint_bytes"] + 3 * 100
    add(usage, "ddb.gb", n * per_msg_bytes / GB)
    return usage


def shared(i: Inputs) -> Usage:
    """What no path owns: the 5-minute migration sweep, the KMS key, X-Ray's reservoir."""
    w, d = i.workload, i.durations
    sweeps = 12 * 24 * w.days
    usage: Usage = {}
    invocations(usage, d, sweeps, d.scheduler_invocation_s, i.memory_gb["migration_scheduler"])
    add(usage, "ddb.rru", sweeps * 2 * 1)  # queued(200) and starting(): two small GSI1 pages
    add(usage, "events.invocations", sweeps)
    add(usage, "kms.keys", 1)
    add(usage, "xray.traces", 1 * MONTH_S)  # the default rule's 1 trace a second
    return usage


DAILY_PATHS = ("pop: new mail", "upload: .eml ingest")
PATHS: dict[str, Callable[[Inputs], Usage]] = {
    "pop: every poll (most find nothing)": pop_polls,
    "pop: new mail": pop_mail,
    "pop: dispatcher": pop_dispatch,
    "imap: migrations": imap,
    "upload: .eml ingest": uploads,
    "shared": shared,
}


# ------------------------------------------------------------------------------ costing
def storage_cost(usage: Usage) -> dict[str, Range]:
    """Storage meters are GB added in the month; their cost is what the bill grows by."""
    out: dict[str, Range] = {}
    if "ddb.gb" in usage:
        # Table storage plus point-in-time recovery (template: PITR on the table).
        out["ddb.gb"] = usage["ddb.gb"] * (PRICES["ddb.gb"].each + PRICES["ddb.pitr_gb"].each)
    if "s3.gb" in usage:
        out["s3.gb"] = usage["s3.gb"] * PRICES["s3.gb"].each
    return out


def lambda_rate(all_usage: Iterable[Usage]) -> Range:
    """The effective $/GB-s with arm64's volume tiers over the month's total GB-seconds."""
    gb_s = total(u.get("lambda.gb_s", ZERO) for u in all_usage)
    low = lambda_compute_usd(gb_s.low) / gb_s.low if gb_s.low else PRICES["lambda.gb_s"].each
    high = lambda_compute_usd(gb_s.high) / gb_s.high if gb_s.high else PRICES["lambda.gb_s"].each
    return Range(low, high)


def costs(usage: Usage, gb_s_rate: Range) -> dict[str, Range]:
    """USD per meter."""
    out = storage_cost(usage)
    for meter, amount in usage.items():
        if meter in out:
            continue
        out[meter] = amount * gb_s_rate if meter == "lambda.gb_s" else amount * PRICES[meter].each
    return out


def by_service(cost: Mapping[str, Range]) -> dict[str, Range]:
    out: dict[str, Range] = {}
    for meter, usd in cost.items():
        service = SERVICES[meter.split(".")[0]]
        out[service] = out.get(service, ZERO) + usd
    return out


# ------------------------------------------------------------------------------ limits
@dataclass(frozen=True, slots=True)
class Limit:
    """A rate or level the workload needs against a quota."""

    name: str
    need: Range
    quota: float
    quota_note: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "need", self.need.ordered())

    @property
    def status(self) -> str:
        if self.need.high <= 0.8 * self.quota:
            return "under"
        return "OVER" if self.need.low > self.quota else "at risk"


def limits(i: Inputs, usage: Mapping[str, Usage]) -> list[Limit]:
    """The rates that meet quotas, at the month's mean (times peak_over_mean where arrivals
    follow the day).
    """
    w, d, s = i.workload, i.durations, i.sizes
    polls_s = w.accounts / w.poll_interval_s
    mail = usage["pop: new mail"]
    mail_gb_s = mail["lambda.gb_s"] / MONTH_S / i.memory_gb["pop_fetch"]
    batch = i.tuning.polls_per_invocation
    per_poll_s = pop_invocation_s(d, batch, i.memory_gb["pop_fetch"]) / batch
    pop_conc = per_poll_s * polls_s + mail_gb_s * w.peak_over_mean
    job = migration_job(i)
    per_job_s = imap_per_message_s(i) * w.mailbox_messages
    active = per_job_s * w.migrations_per_month / MONTH_S
    ingest_conc = d.ingest_message_s * (w.uploads_per_month / MONTH_S * w.peak_over_mean)
    conc_all = pop_conc + active + ingest_conc
    wru = total(u.get("ddb.wru", ZERO) for u in usage.values()) / MONTH_S
    # New mail and uploads follow the day; polls, the dispatcher and paced migrations don't.
    daily = total(usage[p].get("ddb.wru", ZERO) for p in DAILY_PATHS) / MONTH_S
    peak_wru = wru + daily * (w.peak_over_mean - 1)
    rru = total(u.get("ddb.rru", ZERO) for u in usage.values()) / MONTH_S
    kms = total(u.get("kms.requests", ZERO) for u in usage.values()) / MONTH_S
    msg_s = Range(1 / imap_per_message_s(i).low, 1 / imap_per_message_s(i).high)
    msg_wru = Range(s["imap_message_wru_mean"], s["imap_message_wru_mean_plus_extra"])
    user_wru = msg_s * (
        msg_wru * 2 + 2 * units(s["fingerprint_bytes"], KB) + 2 * units(s["folder_bytes"], KB)
    )
    unpaced = msg_s * w.concurrent_migrations * (msg_wru * 3 + 6)
    sends_per_partition = (
        i.pop3["dispatcher"]["calls"]["SendMessageBatch"]
        * (w.accounts / i.pop3["dispatcher"]["queued"])
        / 10
        / i.tuning.accounts_per_message
    )
    tick_s = d.dispatch_call_s * sends_per_partition
    due = w.accounts / 10 * s["due_entry_bytes"] / (4 * KB) * 0.5  # RRU per partition per tick
    return [
        Limit(
            "Lambda concurrency, POP fetch",
            pop_conc,
            1000,
            "account default 1,000/region; SQS event source max 1,000 batches",
        ),
        Limit(
            "Lambda concurrency, all paths (paced migrations)",
            conc_all,
            1000,
            "account default 1,000/region (shared with the API)",
        ),
        Limit(
            "Lambda concurrency, 1,000 migrations copying at once (unpaced)",
            Range.of(w.concurrent_migrations) + pop_conc,
            1000,
            "account default 1,000/region",
        ),
        Limit("DynamoDB table WRU/s (mean)", wru, 40_000, "on-demand table quota 40,000 WRU/s"),
        Limit(
            "DynamoDB table WRU/s, new mail and uploads at their peak",
            peak_wru,
            40_000,
            "on-demand table quota 40,000 WRU/s",
        ),
        Limit(
            "DynamoDB WRU/s if 1,000 migrations copy unpaced",
            unpaced,
            40_000,
            "on-demand table quota 40,000 WRU/s",
        ),
        Limit("DynamoDB table RRU/s (mean)", rru, 40_000, "on-demand table quota 40,000 RRU/s"),
        Limit(
            "DynamoDB user partition WRU/s during one migration",
            user_wru,
            1000,
            "1,000 WCU/s per partition (before split for heat)",
        ),
        Limit(
            "DynamoDB GSI2 DUE#<minute> partition, RRU/s while a tick reads it",
            Range(due / tick_s.high, due / tick_s.low),
            3000,
            "3,000 RCU/s per partition",
        ),
        Limit(
            "KMS Decrypt requests/s",
            kms,
            100_000,
            "symmetric crypto quota (100,000/s us-east-1; 5,500-50,000 elsewhere)",
        ),
        Limit(
            "Dispatcher tick seconds (one partition's sends in series)",
            tick_s,
            300,
            "function timeout 300 s",
        ),
        Limit(
            "Step Functions transitions/s",
            Range.of(w.migrations_per_month * job.transitions / MONTH_S),
            5000,
            "Standard StateTransition bucket (us-east-1: 5,000/s)",
        ),
        Limit(
            "S3 PUT/s to one user's prefix during a migration",
            msg_s,
            3500,
            "3,500 PUT/s per prefix",
        ),
    ]


# ------------------------------------------------------------------------------ running
def load_inputs(results: Path = RESULTS, overrides: Mapping[str, Any] | None = None) -> Inputs:
    """The benchmark results and item sizes on disk (defaults when item sizes are absent)."""

    def read(name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((results / f"{name}.json").read_text())
        return data

    sizes_file = results / "item_sizes.json"
    sizes = read("item_sizes") if sizes_file.exists() else dict(DEFAULT_ITEM_SIZES)
    workload = replace(Workload(), **(overrides or {}))
    return Inputs(read("pop3"), read("imap"), read("ingest"), sizes, workload)


@dataclass(frozen=True, slots=True)
class Report:
    """Per path: usage and cost per meter; totals per service."""

    usage: dict[str, Usage]
    cost: dict[str, dict[str, Range]]
    services: dict[str, Range]
    total: Range
    limits: list[Limit]
    job: Job


def model(i: Inputs) -> Report:
    usage = {name: path(i) for name, path in PATHS.items()}
    rate = lambda_rate(usage.values())
    cost = {name: costs(u, rate) for name, u in usage.items()}
    services: dict[str, Range] = {}
    for per_path in cost.values():
        for service, usd in by_service(per_path).items():
            services[service] = services.get(service, ZERO) + usd
    return Report(
        usage, cost, services, total(services.values()), limits(i, usage), migration_job(i)
    )


def fmt(value: float) -> str:
    """Numbers as people read them: 4.32 B, 12.5 M, 3,400, 0.42."""
    for size, suffix in ((1e12, " T"), (1e9, " B"), (1e6, " M")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def fmt_range(r: Range, money: bool = False) -> str:
    sign = "$" if money else ""
    if math.isclose(r.low, r.high, rel_tol=1e-9):
        return f"{sign}{fmt(r.low)}"
    return f"{sign}{fmt(r.low)} – {sign}{fmt(r.high)}"


def render(report: Report, i: Inputs) -> str:
    """Markdown tables, as pasted into docs/capacity.md."""
    w = i.workload
    lines = [
        f"Workload: {w.accounts:,} POP accounts polled every {w.poll_interval_s // 60} min "
        f"({fmt(w.accounts * w.polls_per_day * w.days)} polls/month), "
        f"{w.new_mail_per_account_day:g} new messages per account per day; "
        f"{w.concurrent_migrations:,} migrations always running, {w.mailbox_messages:,} "
        f"messages / {w.mailbox_bytes / GB:g} GiB each, {w.migration_days:.2f} days each "
        f"→ {fmt(w.migrations_per_month)} started a month; {fmt(w.uploads_per_month)} uploads "
        f"a month. Prices: {PRICES_AS_OF}.",
        f"A migration: {report.job.chunks} chunks, {report.job.pauses} pauses, "
        f"{report.job.executions} execution(s), {report.job.transitions} transitions, "
        f"{report.job.invocations} worker invocations.",
        "",
    ]
    for name, usage in report.usage.items():
        lines += [f"#### {name}", "", "| meter | per month | USD per month |", "|---|---:|---:|"]
        for meter in sorted(usage):
            price = PRICES.get(meter)
            unit = price.unit if price else meter
            lines.append(
                f"| {meter} ({unit}) | {fmt_range(usage[meter])} | "
                f"{fmt_range(report.cost[name][meter], money=True)} |"
            )
        path_total = total(report.cost[name].values())
        lines += [f"| **total** | | **{fmt_range(path_total, money=True)}** |", ""]
    lines += ["#### Total per service", "", "| service | USD per month |", "|---|---:|"]
    for service, usd in sorted(report.services.items(), key=lambda kv: -kv[1].high):
        lines.append(f"| {service} | {fmt_range(usd, money=True)} |")
    lines += [f"| **all** | **{fmt_range(report.total, money=True)}** |", ""]
    s3 = total(u.get("s3.gb", ZERO) for u in report.usage.values())
    ddb = total(u.get("ddb.gb", ZERO) for u in report.usage.values())
    months = w.storage_months
    grown = s3 * PRICES["s3.gb"].each + ddb * (PRICES["ddb.gb"].each + PRICES["ddb.pitr_gb"].each)
    lines += [
        f"Storage added per month: S3 {fmt_range(s3)} GB, DynamoDB {fmt_range(ddb)} GB. "
        f"The storage bill after {months} months of this (nothing deleted): "
        f"{fmt_range(grown * months, money=True)} a month.",
        "",
        "#### Limits",
        "",
        "| what | needs | quota | status | quota source |",
        "|---|---:|---:|---|---|",
    ]
    for limit in report.limits:
        lines.append(
            f"| {limit.name} | {fmt_range(limit.need)} | {fmt(limit.quota)} | "
            f"{limit.status} | {limit.quota_note} |"
        )
    return "\n".join(lines)


def render_tuned(built: Report, tuned: Report) -> str:
    """As built against ``TUNED`` (the changes docs/capacity.md proposes), per service."""
    lines = [
        "#### With the proposed changes (TUNED)",
        "",
        "| service | as built, USD/month | tuned, USD/month |",
        "|---|---:|---:|",
    ]
    for service, usd in sorted(built.services.items(), key=lambda kv: -kv[1].high):
        after = tuned.services.get(service, ZERO)
        lines.append(
            f"| {service} | {fmt_range(usd, money=True)} | {fmt_range(after, money=True)} |"
        )
    lines.append(
        f"| **all** | **{fmt_range(built.total, money=True)}** | "
        f"**{fmt_range(tuned.total, money=True)}** |"
    )
    conc = {x.name: x.need for x in tuned.limits}["Lambda concurrency, POP fetch"]
    lines += [
        "",
        f"POP fetch concurrency, tuned: {fmt_range(conc)} "
        f"({TUNED.polls_per_invocation} polls an invocation).",
    ]
    return "\n".join(lines)


def to_json(report: Report, i: Inputs) -> dict[str, Any]:
    return {
        "prices_as_of": PRICES_AS_OF,
        "prices": {k: asdict(p) for k, p in PRICES.items()},
        "workload": asdict(i.workload),
        "derived_workload": {
            "accounts": i.workload.accounts,
            "migration_days": i.workload.migration_days,
            "migrations_per_month": i.workload.migrations_per_month,
        },
        "migration_job": {
            **asdict(report.job),
            "transitions": report.job.transitions,
            "invocations": report.job.invocations,
        },
        "item_sizes": dict(i.sizes),
        "paths": {
            name: {
                "usage": {m: r.to_json() for m, r in usage.items()},
                "usd": {m: r.to_json() for m, r in report.cost[name].items()},
                "usd_total": total(report.cost[name].values()).to_json(),
            }
            for name, usage in report.usage.items()
        },
        "services_usd": {k: v.to_json() for k, v in report.services.items()},
        "total_usd": report.total.to_json(),
        "limits": [
            {
                "name": x.name,
                "need": x.need.to_json(),
                "quota": x.quota,
                "status": x.status,
                "quota_source": x.quota_note,
            }
            for x in report.limits
        ],
    }


def check_against_measured(i: Inputs) -> None:
    """The state machine's formula must reproduce the measured 1-chunk run."""
    e2e = i.imap["mailport_end_to_end"]
    one = Job(chunks=math.ceil(i.imap["messages"] / 2000), pauses=0, executions=1)
    if (one.transitions, one.invocations) != (e2e["state_transitions"], e2e["lambda_invocations"]):
        raise SystemExit(
            f"the transition model ({one.transitions}, {one.invocations}) no longer matches the "
            f"measured run ({e2e['state_transitions']}, {e2e['lambda_invocations']}): update Job"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--item-sizes",
        action="store_true",
        help="re-measure DynamoDB item sizes (bench/results/item_sizes.json)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="change a Workload figure, e.g. --set users=10000",
    )
    args = parser.parse_args(argv)
    if args.item_sizes:
        sizes = measure_item_sizes()
        (RESULTS / "item_sizes.json").write_text(json.dumps(sizes, indent=2) + "\n")
        print(json.dumps(sizes, indent=2))
    overrides: dict[str, float] = {}
    for item in args.set:
        name, _, value = item.partition("=")
        overrides[name] = float(value) if "." in value else int(value)
    inputs = load_inputs(overrides=overrides)
    check_against_measured(inputs)
    report = model(inputs)
    tuned = model(replace(inputs, tuning=TUNED))
    print(render(report, inputs))
    print()
    print(render_tuned(report, tuned))
    result = to_json(report, inputs)
    result["tuned"] = {
        "tuning": {
            k: (v.to_json() if isinstance(v, Range) else v) for k, v in asdict(TUNED).items()
        },
        "services_usd": {k: v.to_json() for k, v in tuned.services.items()},
        "total_usd": tuned.total.to_json(),
        "paths_usd": {name: total(c.values()).to_json() for name, c in tuned.cost.items()},
    }
    (RESULTS / "capacity.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
