"""Pages of a user's recent history as Redis keeps it: a hash of id -> record JSON.

Redis holds the newest records of each user (the history window); a page is
cut from them here, newest first, and PostgreSQL supplies what lies below the
window's floor.
"""

from typing import Any

import orjson


def window_page(
    stored: dict[str, str], floor: int, before: int | None, limit: int, game: str | None
) -> list[dict[str, Any]]:
    """The newest `limit` records with ids in [floor, before), of `game` if given."""
    upper = before if before is not None else float("inf")
    page: list[dict[str, Any]] = []
    for record_id in sorted((int(i) for i in stored), reverse=True):
        if len(page) == limit or record_id < floor:
            break
        if record_id >= upper:
            continue
        record = orjson.loads(stored[str(record_id)])
        if game is None or record["game"] == game:
            page.append(record)
    return page
