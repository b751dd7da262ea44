"""Many POP polls at once, as one invocation runs them: a server that stalls is cut at the
look's deadline and fails alone, the others go through (Dovecot, the local stack's table)."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import pytest

import tests.integration.test_pop_import as pop
from mailport.adapters.pop3 import Pop3Connector
from mailport.domain.accounts import FetchRequest, RunStatus, RunTrigger
from mailport.domain.network import LOCAL_TESTS
from mailport.usecases.pop_fetch import FetchConfig, PopFetcher
from mailport_local.stack import LocalStack
from tests.support.dovecot import Dovecot
from tests.support.faultproxy import FaultProxy

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]

HEALTHY = 9  # and one that stalls: the ten accounts a user may have


def test_a_stalling_server_among_many_is_cut_at_the_deadline_and_fails_alone(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    env = pop.build_env(local_stack, dovecot)
    users = [pop.server_user(env, 2, tag=f"h{i}") for i in range(HEALTHY + 1)]
    accounts = [pop.register(env, name, password) for name, password in users]
    for account in accounts:
        assert pop.run(env, account).counts.fetched == 2  # settled: the next polls only look
    (stall_name, stall_password), stalling = users[-1], accounts[-1]
    pop.seed(env, stall_name, [pop.message(9, "late")])  # mail it must not lose
    with FaultProxy(("127.0.0.1", dovecot.pop3s_port)) as proxy:
        env.service.update(
            env.owner,
            stalling.account_id,
            {"port": proxy.port, "username": stall_name, "password": stall_password},
        )
        proxy.stall_after = 0  # from now on the server says nothing: not even TLS
        # Reads that would wait a minute each: only the look's deadline can end it soon.
        fetcher = PopFetcher(
            env.accounts,
            Pop3Connector(network=LOCAL_TESTS, read_timeout=60.0),
            runs=env.runs,
            receipts=env.receipts,
            secrets=env.secrets,
            importer=env.importer,
            queue=env.queue,
            config=FetchConfig(ca_file=str(dovecot.ca_pem), look_deadline_s=2.0),
            clock=env.clock,
        )
        requests = [
            FetchRequest(
                env.owner.tenant_id, env.owner.user_id, a.account_id, RunTrigger.SCHEDULE, tick="t1"
            )
            for a in accounts
        ]
        fetcher.prefetch(requests)
        with ThreadPoolExecutor(max_workers=len(requests)) as sessions:
            runs = list(sessions.map(fetcher.handle, requests))
        assert fetcher.flush_checks() == HEALTHY  # the healthy ones' checks, in one write
    by_account = {a.account_id: r for a, r in zip(accounts, runs, strict=True)}
    cut = by_account.pop(stalling.account_id)
    assert cut is not None and cut.status is RunStatus.FAILED
    assert cut.error_code == "remote_temporarily_unavailable" and "too slowly" in cut.error
    assert all(
        r is not None and r.status is RunStatus.SUCCEEDED and r.counts.fetched == 0
        for r in by_account.values()
    )
    after = env.service.get(env.owner, stalling.account_id)
    assert after.state.failures == 1 and after.auto_fetch  # counted as any slow server
    # Its server answers again: the mail that waited comes, once.
    env.service.update(
        env.owner, stalling.account_id, {"port": dovecot.pop3s_port, "password": stall_password}
    )
    again = pop.run(env, dataclasses.replace(stalling, port=dovecot.pop3s_port))
    assert (again.status, again.counts.fetched) == (RunStatus.SUCCEEDED, 1)
    assert pop.subjects(env).count("late 9") == 1
