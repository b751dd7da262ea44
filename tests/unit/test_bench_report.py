"""bench/report.py draws its charts and tables from result files alone (no benchmark runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import report
from bench.importtime import costliest, module_us, parse

HEAD = {
    "date": "2026-11-28T20:00:00Z",
    "run": "20261128T200000Z",
    "git": {"commit": "0123456789abcdef", "dirty": False},
    "machine": {"cpus": 2, "cpu_model": "Test CPU", "python": "3.12.1"},
    "messages": 2000,
    "megabytes": 49.4,
}
RESULTS: dict[str, dict[str, Any]] = {
    "ingest": {
        **HEAD,
        "messages": 1000,
        "pipeline": {"msg_per_s": 10.0},
        "sink_floor": {"msg_per_s": 20.0},
        "big_message": {"message_mb": 48.4, "peak_rss_mb": 133.6, "target_mb": 220.9},
    },
    "pop3": {
        **HEAD,
        "mailport": {"msg_per_s": 84.0, "peak_rss_mb": 110.0},
        "sink_floor": {"msg_per_s": 88.0, "peak_rss_mb": 240.0},
        "protocol_floor": {"msg_per_s": 2700.0, "peak_rss_mb": 33.0},
        "getmail6": {"msg_per_s": 80.0, "peak_rss_mb": 68.0},
    },
    "imap": {
        **HEAD,
        "mailport_worker": {"msg_per_s": 72.0, "peak_rss_mb": 125.0},
        "mailport_end_to_end": {"msg_per_s": 43.0},
        "sink_floor": {"msg_per_s": 86.0, "peak_rss_mb": 241.0},
        "protocol_floor": {"msg_per_s": 2400.0, "peak_rss_mb": 53.0},
        "offlineimap3": {"msg_per_s": 96.0, "peak_rss_mb": 100.0},
    },
}


def test_contenders_put_mailport_first_and_name_the_peer() -> None:
    bars = report.contenders("pop3", RESULTS["pop3"])
    assert [b.kind for b in bars] == ["mailport", "sink floor", "protocol floor", "peer"]
    assert bars[-1].label == "getmail6"
    assert report.contenders("imap", RESULTS["imap"])[1].peak_rss_mb is None
    with pytest.raises(ValueError, match="unknown path"):
        report.contenders("smtp", {})


def test_throughput_table_gives_ratios_from_the_same_run() -> None:
    table = report.throughput_table(RESULTS)
    pop3 = next(line for line in table.splitlines() if line.startswith("| pop3"))
    # time ratio: 88 / 84 msg/s; rate ratio against getmail6: 84 / 80
    assert "| 1.05× |" in pop3
    assert "getmail6 80.0 | 1.05× |" in pop3
    assert "110.0 MB / 68.0 MB / 33.0 MB" in pop3
    ingest = next(line for line in table.splitlines() if line.startswith("| ingest"))
    assert "| 2.00× |" in ingest
    assert "133.6 MB (one 48.4 MB message) / – / –" in ingest


def test_runs_note_tells_one_run_from_several() -> None:
    assert "one `make bench` run (20261128T200000Z)" in report.runs_note(RESULTS)
    mixed = {**RESULTS, "pop3": {**RESULTS["pop3"], "run": None}}
    assert report.runs_note(mixed).startswith("From separate runs")


def test_replace_block_keeps_the_markers_and_the_rest() -> None:
    text = "intro\n<!-- bench:throughput -->\nold\n<!-- /bench:throughput -->\nend\n"
    out = report.replace_block(text, "throughput", "new\n")
    assert out == "intro\n<!-- bench:throughput -->\nnew\n<!-- /bench:throughput -->\nend\n"
    assert report.replace_block("no markers\n", "throughput", "new\n") == "no markers\n"


def test_render_draws_small_pngs_and_fills_a_readme(tmp_path: Path) -> None:
    for name, result in RESULTS.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(result))
    readme = tmp_path / "README.md"
    readme.write_text("# x\n<!-- bench:throughput -->\n<!-- /bench:throughput -->\n")
    tables = report.render(tmp_path, [readme])
    for name in RESULTS:
        png = (tmp_path / f"{name}.png").read_bytes()
        assert png.startswith(b"\x89PNG")
        assert len(png) < 100_000
    assert tables["throughput"] in readme.read_text()
    assert "importtime" not in tables


def test_importtime_and_package_tables() -> None:
    fig = {"module": "pop_fetch", "median_ms": 450.0, "ratio_to_boto3": 2.5, "met": False}
    base = {"median_ms": 180.0}
    result = {
        "cached": {"baseline": base, "handlers": {"pop_fetch": fig}},
        "deployed": {"baseline": base, "handlers": {"pop_fetch": fig}},
    }
    assert "| `pop_fetch` | 450 ms | 2.50× | 450 ms | 2.50× | not met |" in (
        report.importtime_table(result)
    )
    artifact = {
        "unzipped_bytes": 2 * report.MB,
        "zipped_bytes": report.MB,
        "files": 3,
        "pyc_files": 0,
        "biggest": {"botocore": report.MB},
    }
    sizes = {"build": {"ok": True}, "layer": {"CoreLayer": artifact}, "functions": {}}
    assert "| CoreLayer | 2.0 MB | 1.0 MB | 3 (0) | botocore 1.0 MB |" in (
        report.package_table(sizes)
    )
    failed = {"build": {"ok": False, "reason": "no python3.12"}}
    assert "did not run: no python3.12" in report.package_table(failed)


IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:       100 |        100 | site
import time:       300 |        300 |     botocore.x
import time:       200 |        500 |   boto3
import time:        50 |         50 |   json
import time:        10 |        560 | pop_fetch
"""


def test_importtime_output_is_read_per_module() -> None:
    rows = parse(IMPORTTIME)
    assert [r.depth for r in rows] == [0, 2, 1, 1, 0]
    assert module_us(rows, "pop_fetch") == 560
    costs = costliest(rows, "pop_fetch")
    assert list(costs["direct_imports_ms"]) == ["boto3", "json"]
    assert costs["packages_self_ms"]["botocore"] == 0.3
    with pytest.raises(ValueError, match="not a top-level import"):
        module_us(rows, "boto3")
