"""The progress line and the final report of a load test."""

from collections import Counter
from typing import Any

from loadtest.options import LoadOptions
from loadtest.stats import Stats


def errors_text(stats: Stats) -> str:
    if not stats.errors:
        return "none"
    return " ".join(f"{code}={count}" for code, count in stats.errors.most_common())


def progress_line(
    elapsed: float, interval: Stats, seconds: float, total: Stats, active: int
) -> str:
    """One line: rate and latency over the last interval, totals so far."""
    bets = interval.bet_latency()
    p50, p99 = bets.percentile(0.5) / 1000, bets.percentile(0.99) / 1000
    return (
        f"[{elapsed:6.1f}s] users {active:>5}  bets {total.bets:>9,}"
        f" ({interval.bets / seconds:>7,.0f}/s)  bet p50 {p50:6.2f} ms p99 {p99:6.2f} ms"
        f"  lag p99 {interval.lag.percentile(0.99) / 1000:6.1f} ms  errors {errors_text(total)}"
    )


def build_report(
    options: LoadOptions, stats: Stats, elapsed_s: float, users: list[dict[str, Any]]
) -> dict[str, Any]:
    """The final report as JSON-ready data."""
    set_up = [u for u in users if u["user"]]
    failed = {u["user"]: u["problems"] for u in set_up if u["problems"]}
    setup_causes = Counter(u["setup_failed"] for u in users if u["setup_failed"])
    return {
        "ok": not failed and not setup_causes and stats.bets > 0,
        "target": options.http_url,
        "settings": {
            "users": options.users,
            "tabs": options.tabs,
            "mix": options.mix,
            "duration_s": options.duration_s,
            "bets": options.bets,
            "ramp_s": options.ramp_s,
            "think_ms": options.think_ms,
            "amount": options.amount,
            "currency": options.currency,
            "workers": options.workers,
            "client": options.client,
            "retry_window_s": options.retry_window_s,
        },
        "setup_failed": {
            "users": sum(setup_causes.values()),
            "causes": dict(setup_causes.most_common()),
        },
        "bets": stats.bets,
        "recovered": sum(u["recovered"] for u in set_up),
        "unresolved": sum(u["unresolved"] for u in set_up),
        "elapsed_s": round(elapsed_s, 3),
        "bets_per_s": round(stats.bets / elapsed_s, 1) if elapsed_s > 0 else 0.0,
        "latency_ms": {
            "bet": stats.bet_latency().summary_ms(),
            **{name: h.summary_ms() for name, h in sorted(stats.ops.items())},
        },
        "balance_event_lag_ms": stats.lag.summary_ms(),
        "errors": dict(stats.errors.most_common()),
        "audit": {
            "users": len(set_up),
            "ledger_entries": sum(u["entries"] for u in users),
            "users_with_problems": len(failed),
            "problems": failed,
        },
    }


def format_report(report: dict[str, Any], show: int = 20) -> str:
    """The final report as text."""
    s = report["settings"]
    mix = ",".join(f"{name}:{weight:g}" for name, weight in s["mix"].items())
    lines = [
        f"Croupier load test of {report['target']}: {s['users']} users x {s['tabs']} watching"
        f" tabs, mix {mix}, client {s['client']}, {s['workers']} worker(s)",
        f"bets: {report['bets']:,} settled in {report['elapsed_s']:.1f} s"
        f" = {report['bets_per_s']:,.0f} bets/s",
        f"{'latency (ms)':<16}{'count':>10}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}",
    ]
    rows = {**report["latency_ms"], "balance lag": report["balance_event_lag_ms"]}
    for name, h in rows.items():
        lines.append(
            f"{name:<16}{h['count']:>10,}{h['p50']:>9.2f}{h['p95']:>9.2f}{h['p99']:>9.2f}"
            f"{h['max']:>9.2f}"
        )
    errors = report["errors"]
    lines.append("errors: " + (" ".join(f"{code}={n:,}" for code, n in errors.items()) or "none"))
    lines.append(
        f"unknown outcomes: {report['recovered']:,} recovered by a retry with the same key,"
        f" {report['unresolved']:,} unresolved"
    )
    audit = report["audit"]
    lines.append(
        f"audit: {audit['users']} users, {audit['ledger_entries']:,} ledger entries,"
        f" {audit['users_with_problems']} with discrepancies"
    )
    for user, problems in list(audit["problems"].items())[:show]:
        lines.append(f"  user {user}: " + "; ".join(problems[:5]))
    setup = report["setup_failed"]
    if setup["users"]:
        lines.append(f"setup failed for {setup['users']:,} of {s['users']:,} users (not audited):")
        lines.extend(f"  {n:,} x {cause}" for cause, n in setup["causes"].items())
    if report["bets"] == 0:
        lines.append("no bet was settled")
    lines.append("OK" if report["ok"] else "FAILED")
    return "\n".join(lines)
