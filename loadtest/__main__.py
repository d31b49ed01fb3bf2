"""`python -m loadtest URL` / `croupier-load URL`: see `--help`."""

import json
import sys

from loadtest.options import parse_options
from loadtest.report import format_report
from loadtest.runner import EXIT_FAILED, WorkersFailedError, run


def main(argv: list[str] | None = None) -> None:
    """Run a load test; exit 0 when every user's audit passed, 1 on a discrepancy, 3 on failure."""
    options = parse_options(argv)
    try:
        status, report = run(options)
    except WorkersFailedError as error:
        print(f"load test failed: {error}", file=sys.stderr)
        sys.exit(EXIT_FAILED)
    print(json.dumps(report, indent=2) if options.json else format_report(report))
    sys.exit(status)


if __name__ == "__main__":
    main()
