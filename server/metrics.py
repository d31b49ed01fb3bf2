"""A few Prometheus counters and gauges, rendered in the text exposition format."""

import os
from collections import Counter

from server.collector import GcPauses


class Metrics:
    """Process-local counters; each instance exposes its own at /metrics."""

    def __init__(self) -> None:
        self.ws_connections = 0
        self.ws_requests: Counter[tuple[str, str]] = Counter()
        self.ws_closed: Counter[str] = Counter()
        self.ws_frames_direct = 0
        self.ws_frames_queued = 0
        self.ws_writes = 0
        self.pubsub_reconnects = 0
        self.crash_verify_hashes = 0
        self.loop_restarts: Counter[str] = Counter()
        """Supervised background loop name -> restarts after a failure (server/supervise.py)."""
        self.archived_records = 0
        self.archive_lag_ms = 0
        self.archive_upserts = 0
        self.journal_backlog = 0
        self.gc_pauses = GcPauses()

    def request(self, op: str, outcome: str) -> None:
        """Count one WebSocket request by op and outcome (`ok` or an error code)."""
        self.ws_requests[(op, outcome)] += 1

    def render(self) -> str:
        """The metrics as Prometheus text."""
        lines = [
            "# HELP croupier_process_id Process id of the server process that answered (the"
            " workers of `croupier --workers N` share a port: each answers with its own figures).",
            "# TYPE croupier_process_id gauge",
            f"croupier_process_id {os.getpid()}",
            "# HELP croupier_ws_connections Open WebSocket connections on this instance.",
            "# TYPE croupier_ws_connections gauge",
            f"croupier_ws_connections {self.ws_connections}",
            "# HELP croupier_ws_requests_total WebSocket requests by op and outcome.",
            "# TYPE croupier_ws_requests_total counter",
        ]
        for (op, outcome), count in sorted(self.ws_requests.items()):
            lines.append(f'croupier_ws_requests_total{{op="{op}",outcome="{outcome}"}} {count}')
        lines += [
            "# HELP croupier_ws_closed_total WebSockets closed by the server, by reason.",
            "# TYPE croupier_ws_closed_total counter",
        ]
        for reason, count in sorted(self.ws_closed.items()):
            lines.append(f'croupier_ws_closed_total{{reason="{reason}"}} {count}')
        lines += [
            "# HELP croupier_ws_frames_total Frames sent: straight to the transport (direct)"
            " or queued behind others (queued).",
            "# TYPE croupier_ws_frames_total counter",
            f'croupier_ws_frames_total{{path="direct"}} {self.ws_frames_direct}',
            f'croupier_ws_frames_total{{path="queued"}} {self.ws_frames_queued}',
            "# HELP croupier_ws_writes_total Transport writes of the direct path: the direct"
            " frames a socket gets in one event-loop iteration leave in one write.",
            "# TYPE croupier_ws_writes_total counter",
            f"croupier_ws_writes_total {self.ws_writes}",
            "# HELP croupier_pubsub_reconnects_total Reconnections of the pub/sub listener.",
            "# TYPE croupier_pubsub_reconnects_total counter",
            f"croupier_pubsub_reconnects_total {self.pubsub_reconnects}",
            "# HELP croupier_crash_verify_hashes_total SHA-256 computed by GET /api/crash/verify.",
            "# TYPE croupier_crash_verify_hashes_total counter",
            f"croupier_crash_verify_hashes_total {self.crash_verify_hashes}",
            "# HELP croupier_loop_restarts_total Restarts of a supervised background loop"
            " after it failed, by loop.",
            "# TYPE croupier_loop_restarts_total counter",
        ]
        for loop, count in sorted(self.loop_restarts.items()):
            lines.append(f'croupier_loop_restarts_total{{loop="{loop}"}} {count}')
        lines += [
            "# HELP croupier_archived_records_total Journal records this instance wrote to"
            " PostgreSQL.",
            "# TYPE croupier_archived_records_total counter",
            f"croupier_archived_records_total {self.archived_records}",
            "# HELP croupier_archive_upserts_total Batches written by upserts, not COPY, because"
            " a row of theirs was in PostgreSQL already.",
            "# TYPE croupier_archive_upserts_total counter",
            f"croupier_archive_upserts_total {self.archive_upserts}",
            "# HELP croupier_archive_lag_ms Age of the oldest record of the last archived batch.",
            "# TYPE croupier_archive_lag_ms gauge",
            f"croupier_archive_lag_ms {self.archive_lag_ms}",
            "# HELP croupier_journal_backlog Journal records not yet archived, at the last full"
            " pass this instance ran.",
            "# TYPE croupier_journal_backlog gauge",
            f"croupier_journal_backlog {self.journal_backlog}",
            *self.gc_pauses.render(),
        ]
        return "\n".join(lines) + "\n"
