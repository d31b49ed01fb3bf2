"""The payout tables `GET /api/games` publishes: the game modules' own."""

import httpx

from games.keno import PAYOUT_TABLES as KENO_TABLES
from games.plinko import PAYOUT_TABLES as PLINKO_TABLES
from tests.servers import ServerProcess


async def test_the_games_list_publishes_the_plinko_and_keno_payout_tables(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    games = (await http.get(f"{server.base_url}/api/games")).json()["games"]
    plinko, keno = games["plinko"]["payout_table"], games["keno"]["payout_table"]
    assert {
        (int(rows), risk): [str(value) for value in table]
        for risk, by_rows in plinko.items()
        for rows, table in by_rows.items()
    } == {key: [str(value) for value in table] for key, table in PLINKO_TABLES.items()}
    assert {
        (risk, int(picks)): table
        for risk, by_picks in keno.items()
        for picks, table in by_picks.items()
    } == {key: [str(value) for value in table] for key, table in KENO_TABLES.items()}
    assert "payout_table" not in games["dice"]
