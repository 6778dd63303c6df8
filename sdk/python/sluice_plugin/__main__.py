"""``python3 -m sluice_plugin check SCRIPT``: see sluice_plugin.check."""

from __future__ import annotations

import sys


def _main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] != "check":
        print("usage: python3 -m sluice_plugin check SCRIPT [--config JSON] [--records FILE.jsonl]",
              file=sys.stderr)
        return 2
    from .check import main

    return main(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(_main())
