"""The children ``bench.imap`` runs: the worker's steps and the protocol floor."""

from __future__ import annotations

from bench.harness import COUNTER

# The worker in a Lambda-like process: the handler, one step after another. ru_maxrss would
# report the parent's peak (Linux keeps it across exec), so the child reads its own VmHWM.
# CPU (every thread): ``cpu_s`` the whole process's, ``steps_cpu_s`` the steps' alone (what
# grows with the messages; ``setup_cpu_s``, imports and the job's creation, does not).
WORKER = (
    COUNTER
    + """
import json, os, resource, sys, time
sys.path[:0] = [os.path.join(sys.argv[1], "functions/migration_worker")]
import migration_worker
from mailport.adapters.dynamodb_job_queue import DynamoJobQueue
from mailport.adapters.dynamodb_jobs import DynamoJobStore
from mailport.adapters.dynamodb_reports import DynamoJobReports
from mailport.adapters.dynamodb_templates import DynamoImapTemplates
from mailport.adapters.imap import ImapConnector
from mailport.domain.mailbox import Owner
from mailport.domain.network import LOCAL_TESTS
from mailport.usecases.migration import MigrationService
from mailport.wiring import container, migration_config
from mailport_local.lambdas import LocalContext

class Recorder:
    def __init__(self):
        self.started = []
    def start(self, name, payload):
        self.started.append(name)
        return True

def hwm_mb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)

def step(event):
    return migration_worker.handler(event, LocalContext("migration-worker", 1024, 600))

a = json.loads(sys.stdin.read())
s, clients = container().settings, container().clients
recorder = Recorder()
service = MigrationService(DynamoJobStore(s.table_name, client=clients.dynamodb),
                           ImapConnector(network=LOCAL_TESTS),
                           queue=DynamoJobQueue(s.table_name, client=clients.dynamodb),
                           reports=DynamoJobReports(s.table_name, client=clients.dynamodb),
                           templates=DynamoImapTemplates(s.table_name, client=clients.dynamodb),
                           secrets=container()._secrets,  # as the stack wires it
                           executions=recorder,
                           config=migration_config(s))
owner = Owner(a["tenant"], a["user"])
job = service.create(owner, {"connection": a["connection"], "agreed": True})
ref = {"job_id": job.job.job_id, "tenant_id": owner.tenant_id, "user_id": owner.user_id}
CALLS.clear()
ready_mb = hwm_mb()
ready_cpu = time.process_time()  # imports, clients and the job made: not the steps'
ready_use = resource.getrusage(resource.RUSAGE_SELF)
started = time.perf_counter()
cursor = step({"step": "plan", "job": ref})
plan_s = time.perf_counter() - started
chunks = []
while not cursor["done"]:
    if cursor.get("wait_s") or cursor.get("continue_as_new"):
        raise SystemExit(f"the bench expects neither pacing nor continue-as-new: {cursor}")
    t = time.perf_counter()
    cursor = step({"step": "copy_chunk", "job": ref, "cursor": cursor})
    chunks.append({"seconds": round(time.perf_counter() - t, 3), "peak_rss_mb": hwm_mb()})
t = time.perf_counter()
final = step({"step": "finalize", "job": ref})
finalize_s = time.perf_counter() - t
seconds = time.perf_counter() - started
steps_cpu = time.process_time() - ready_cpu
use = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": seconds, "plan_s": round(plan_s, 3),
                  "finalize_s": round(finalize_s, 3), "chunks": chunks, "job_id": job.job.job_id,
                  "final": final, "executions_started": recorder.started,
                  "rss_before_plan_mb": ready_mb, "cpu_s": round(time.process_time(), 3),
                  "steps_cpu_s": round(steps_cpu, 3), "setup_cpu_s": round(ready_cpu, 3),
                  "steps_user_s": round(use.ru_utime - ready_use.ru_utime, 3),
                  "steps_sys_s": round(use.ru_stime - ready_use.ru_stime, 3),
                  "calls": dict(CALLS)}))
"""
)

PROTOCOL = """
import json, sys, time
from mailport.adapters.imap import ImapConnector
from mailport.domain import network, remote
args = json.loads(sys.stdin.read())
started = time.perf_counter()
session = ImapConnector(network=network.LOCAL_TESTS).open(
    remote.ServerAddress("127.0.0.1", args["port"], True, args["ca"]),
    remote.Credentials(args["user"], args["password"]))
total = count = 0
for folder in session.folders():
    folder = session.examine(folder)
    if not folder.messages:
        continue
    sizes = session.sizes(1, folder.uidnext - 1)
    held = [m.raw for m in session.fetch(sizes)]
    total, count = total + sum(map(len, held)), count + len(held)
session.logout()
print(json.dumps({"seconds": time.perf_counter() - started, "bytes": total, "messages": count}))
"""
