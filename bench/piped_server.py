"""`python -m bench.piped_server`: the Croupier server with its two bet scripts
(`bet_open`, `bet_settle`) called through the `bench.autopipeline` prototype.

Only for `bench/bets.py --prototype`: it measures what the proposed change
to server/ would gain end to end. Needs REDIS_URL.
"""

import os
from typing import Any

from bench.autopipeline import AutoPipeline, PipelinedScript
from server.__main__ import main as serve
from server.bets.service import BetService

_original_init = BetService.__init__


def _piped_init(self: BetService, *args: Any, **kwargs: Any) -> None:
    _original_init(self, *args, **kwargs)
    pipeline = AutoPipeline(os.environ["REDIS_URL"])
    self._open = PipelinedScript(pipeline, self._open)
    self._settle = PipelinedScript(pipeline, self._settle)


if __name__ == "__main__":
    BetService.__init__ = _piped_init  # type: ignore[method-assign]
    serve()
