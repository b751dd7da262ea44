"""The benchmarks' report: charts and tables drawn from bench/results/*.json, without running
anything.

    .venv/bin/python -m bench.report [--results bench/results] [--no-readme]

- One chart per path (``ingest.png``, ``pop3.png``, ``imap.png`` in the results folder):
  mailport against the sink floor, the protocol floor and the Python peer, in messages per
  second (log scale) and peak RSS, all from the path's one run.
- The tables (throughput and ratios per path; import times; package sizes) are printed and
  written between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->`` markers in README.md
  and bench/README.md, so the READMEs show the latest results.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PATHS = ("ingest", "pop3", "imap")
PEERS = {"pop3": "getmail6", "imap": "offlineimap3"}
COLORS = {
    "mailport": "#1f77b4",
    "sink floor": "#7f7f7f",
    "protocol floor": "#bcbcbc",
    "peer": "#ff7f0e",
}
MB = 1024 * 1024


@dataclass(frozen=True)
class Bar:
    """One contender of a path's run."""

    label: str
    kind: str  # a key of COLORS
    msg_per_s: float | None
    peak_rss_mb: float | None


def contenders(path: str, result: dict[str, Any]) -> list[Bar]:
    """The bars of one path's chart, mailport first."""
    if path == "ingest":
        big = result.get("big_message") or {}
        return [
            Bar("mailport (pipeline)", "mailport", result["pipeline"]["msg_per_s"], None),
            Bar(
                f"mailport ({big.get('message_mb', '?')} MB message)",
                "mailport",
                None,
                big.get("peak_rss_mb"),
            ),
            Bar("sink floor", "sink floor", result["sink_floor"]["msg_per_s"], None),
        ]
    if path == "pop3":
        main, peer = result["mailport"], result["getmail6"]
        bars = [Bar("mailport (handler)", "mailport", main["msg_per_s"], main["peak_rss_mb"])]
    elif path == "imap":
        main, e2e, peer = (
            result["mailport_worker"],
            result["mailport_end_to_end"],
            result["offlineimap3"],
        )
        bars = [
            Bar("mailport (worker)", "mailport", main["msg_per_s"], main["peak_rss_mb"]),
            Bar("mailport (end to end)", "mailport", e2e["msg_per_s"], None),
        ]
    else:
        raise ValueError(f"unknown path {path!r}")
    floor, protocol = result["sink_floor"], result["protocol_floor"]
    return [
        *bars,
        Bar("sink floor", "sink floor", floor["msg_per_s"], floor.get("peak_rss_mb")),
        Bar("protocol floor", "protocol floor", protocol["msg_per_s"], protocol["peak_rss_mb"]),
        Bar(PEERS[path], "peer", peer["msg_per_s"], peer["peak_rss_mb"]),
    ]


def caption(result: dict[str, Any]) -> str:
    """Where and when a result was measured, in one line."""
    machine = result.get("machine", {})
    cpu = machine.get("cpu_model") or "CPU"
    git = result.get("git") or {}
    commit = (git.get("commit") or "?")[:8] + (" + changes" if git.get("dirty") else "")
    return (
        f"{result.get('date', '?')}, {machine.get('cpus', '?')} x {cpu}, "
        f"Python {machine.get('python', '?')}, commit {commit}"
    )


def ratios_line(bars: list[Bar]) -> str:
    """The run's ratios: mailport's time against the sink floor's, its rate against the
    peer's (the first mailport bar is the one compared).
    """
    main = bars[0]
    floor = next(b for b in bars if b.kind == "sink floor")
    parts = [f"mailport's time ÷ sink floor's {_ratio(floor.msg_per_s, main.msg_per_s)}"]
    peer = next((b for b in bars if b.kind == "peer"), None)
    if peer:
        parts.append(f"mailport's msg/s ÷ {peer.label}'s {_ratio(main.msg_per_s, peer.msg_per_s)}")
    return " · ".join(parts)


def chart(path: str, result: dict[str, Any], out: Path) -> Path:
    """Draw one path's chart as a PNG: msg/s (log scale) and peak RSS, side by side."""
    bars = contenders(path, result)
    fig = Figure(figsize=(9, 0.45 * len(bars) + 1.5), dpi=90, layout="constrained")
    rate_ax, rss_ax = fig.subplots(1, 2, sharey=True)
    labels = [b.label for b in bars]
    positions = list(range(len(bars)))
    colors = [COLORS[b.kind] for b in bars]
    rates = [b.msg_per_s or 0.0 for b in bars]
    rss = [b.peak_rss_mb or 0.0 for b in bars]
    rate_ax.barh(positions, rates, color=colors)
    rate_ax.set_xscale("log")
    rate_ax.set_xlim(max(min(r for r in rates if r > 0) / 3, 0.1), max(rates) * 8)
    rate_ax.set_xlabel("messages per second (log scale)")
    rss_ax.barh(positions, rss, color=colors)
    rss_ax.set_xlim(0, max([*rss, 1.0]) * 1.35)
    rss_ax.set_xlabel("peak RSS, MB")
    for ax, values, fmt in ((rate_ax, rates, "{:,.0f}"), (rss_ax, rss, "{:,.0f} MB")):
        for y, value in zip(positions, values, strict=True):
            text = fmt.format(value) if value else "not measured"
            ax.text(value if value else ax.get_xlim()[0], y, f" {text}", va="center", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    target = (result.get("big_message") or {}).get("target_mb") if path == "ingest" else None
    if target:
        rss_ax.axvline(target, color="#d62728", linestyle="--", linewidth=1)
        rss_ax.set_xlim(0, max(rss_ax.get_xlim()[1], target * 1.25))
        rss_ax.text(
            target,
            len(bars) - 0.6,
            f"target {target:.0f} MB ",
            color="#d62728",
            fontsize=8,
            ha="right",
        )
    rate_ax.set_yticks(positions, labels)
    rate_ax.invert_yaxis()
    fig.suptitle(
        f"{path}: {result['messages']:,} messages, {result['megabytes']} MB, one run\n"
        + ratios_line(bars),
        fontsize=10,
    )
    fig.supxlabel(caption(result), fontsize=8)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    return out


def _ratio(numerator: float | None, denominator: float | None) -> str:
    if not numerator or not denominator:
        return "–"
    return f"{numerator / denominator:.2f}×"


def _num(value: float | None, unit: str = "") -> str:
    return "–" if value is None else f"{value:,.1f}{unit}"


def throughput_table(results: dict[str, dict[str, Any]]) -> str:
    """Per path: mailport, the floors and the peer in msg/s, the ratios, peak RSS."""
    head = (
        "| path | mailport msg/s | sink floor msg/s | mailport's time ÷ sink floor's "
        "| Python peer msg/s | mailport's msg/s ÷ peer's | protocol floor msg/s "
        "| peak RSS mailport / peer / protocol floor |\n"
        "|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for path in PATHS:
        if path not in results:
            continue
        bars = {b.label: b for b in contenders(path, results[path])}
        main = next(iter(bars.values()))
        floor = bars["sink floor"]
        peer = bars.get(PEERS.get(path, ""))
        protocol = bars.get("protocol floor")
        rss = main.peak_rss_mb
        if path == "ingest":  # its RSS is the one big message's handler
            rss = results[path].get("big_message", {}).get("peak_rss_mb")
        rss_cells = [_num(rss, " MB")]
        if path == "ingest" and rss is not None:
            big_mb = results[path]["big_message"].get("message_mb")
            rss_cells = [f"{_num(rss, ' MB')} (one {big_mb} MB message)"]
        rss_cells += [_num(b.peak_rss_mb, " MB") if b else "–" for b in (peer, protocol)]
        rows.append(
            f"| {path} ({main.label.removeprefix('mailport ').strip('()')}) "
            f"| {_num(main.msg_per_s)} | {_num(floor.msg_per_s)} "
            f"| {_ratio(floor.msg_per_s, main.msg_per_s)} "
            f"| {f'{peer.label} {_num(peer.msg_per_s)}' if peer else '–'} "
            f"| {_ratio(main.msg_per_s, peer.msg_per_s) if peer else '–'} "
            f"| {_num(protocol.msg_per_s) if protocol else '–'} "
            f"| {' / '.join(rss_cells)} |"
        )
    return head + "\n".join(rows) + "\n"


def importtime_table(result: dict[str, Any]) -> str:
    """Per handler: median import time, cached and as deployed, against ``import boto3``."""
    cached, deployed = result["cached"], result["deployed"]
    lines = [
        "| module | import, cached bytecode | × boto3 | as deployed (no .pyc) | × boto3 "
        "| target ≤ 1.5× |",
        "|---|---|---|---|---|---|",
        f"| `boto3` alone | {cached['baseline']['median_ms']:.0f} ms | 1.00× "
        f"| {deployed['baseline']['median_ms']:.0f} ms | 1.00× | |",
    ]
    for name, fig in cached["handlers"].items():
        dep = deployed["handlers"][name]
        lines.append(
            f"| `{fig['module']}` | {fig['median_ms']:.0f} ms | {fig['ratio_to_boto3']:.2f}× "
            f"| {dep['median_ms']:.0f} ms | {dep['ratio_to_boto3']:.2f}× "
            f"| {'met' if fig['met'] else 'not met'} |"
        )
    return "\n".join(lines) + "\n"


def _size(size: int) -> str:
    return f"{size / MB:.1f} MB" if size >= MB / 10 else f"{size / 1024:.1f} KB"


def package_table(result: dict[str, Any]) -> str:
    """Per function and the layer: sizes, files and the biggest packages."""
    if not result.get("build", {}).get("ok"):
        reason = result.get("build", {}).get("reason", "no result").splitlines()[-1:]
        return f"`sam build` did not run: {' '.join(reason)}\n"
    lines = [
        "| artifact | unzipped | zipped | files (.pyc) | biggest packages (unzipped) |",
        "|---|---|---|---|---|",
    ]
    for name, a in {**result["layer"], **result["functions"]}.items():
        biggest = ", ".join(f"{k} {_size(v)}" for k, v in list(a["biggest"].items())[:4])
        lines.append(
            f"| {name} | {_size(a['unzipped_bytes'])} | {_size(a['zipped_bytes'])} "
            f"| {a['files']:,} ({a['pyc_files']}) | {biggest} |"
        )
    return "\n".join(lines) + "\n"


def replace_block(text: str, name: str, content: str) -> str:
    """``text`` with what lies between the ``name`` markers replaced by ``content`` (unchanged
    if the markers are absent).
    """
    pattern = re.compile(
        rf"(<!-- bench:{re.escape(name)} -->\n).*?(<!-- /bench:{re.escape(name)} -->)", re.S
    )
    return pattern.sub(lambda m: m.group(1) + content + m.group(2), text)


def load(results_dir: Path) -> dict[str, dict[str, Any]]:
    """Every result file in ``results_dir`` by its benchmark's name."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(results_dir.glob("*.json"))}


def runs_note(results: dict[str, dict[str, Any]]) -> str:
    """A line saying which run (``make bench``) the results come from."""
    runs = {r.get("run") for r in results.values()}
    dates = sorted(str(r["date"]) for r in results.values() if r.get("date")) or ["?"]
    if len(runs) == 1 and None not in runs:
        return f"All from one `make bench` run ({runs.pop()}), {dates[0]} to {dates[-1]}.\n"
    return f"From separate runs, {dates[0]} to {dates[-1]}; compare ratios within a path.\n"


def render(results_dir: Path, readmes: list[Path]) -> dict[str, str]:
    """Draw the charts and fill the READMEs' blocks; the tables by block name."""
    results = load(results_dir)
    for path in PATHS:
        if path in results:
            chart(path, results[path], results_dir / f"{path}.png")
    paths = {p: r for p, r in results.items() if p in PATHS}  # the table's own results
    tables = {"throughput": throughput_table(results) + "\n" + runs_note(paths)}
    if "importtime" in results:
        tables["importtime"] = importtime_table(results["importtime"])
    if "package_size" in results:
        tables["package_size"] = package_table(results["package_size"])
    for readme in readmes:
        text = original = readme.read_text()
        for name, content in tables.items():
            text = replace_block(text, name, content)
        if text != original:
            readme.write_text(text)
    return tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--no-readme", action="store_true", help="don't touch the READMEs")
    args = parser.parse_args()
    readmes = [] if args.no_readme else [ROOT / "README.md", ROOT / "bench" / "README.md"]
    for table in render(args.results, readmes).values():
        print(table)


if __name__ == "__main__":
    main()
