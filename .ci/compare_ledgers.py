"""Compare the claims ledgers of two builds and print the verdicts that differ.

    python .ci/compare_ledgers.py _build-1thread/ledger _build/ledger

Each folder is a build's ``_build/ledger`` (one JSON file per page, written by
``mnist_lessons.experiments.verdicts.Ledger``). Verdicts that differ are
expected for claims that are not robust: they are what "cannot be told apart"
means. The script prints them and exits 0; it exits 2 when a folder holds no
ledger.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from mnist_lessons.experiments.verdicts import read_ledger  # noqa: E402


def load(folder: str) -> dict:
    rows = read_ledger(folder) if Path(folder).is_dir() else []
    if not rows:
        print(f"compare_ledgers: no ledger in {folder}; build the book first (it writes _build/ledger)", file=sys.stderr)
        sys.exit(2)
    return {(page, v.name): v for page, v in rows}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    first, second = (load(folder) for folder in argv)
    keys = sorted(first.keys() | second.keys())
    differ = 0
    for key in keys:
        a, b = first.get(key), second.get(key)
        if a is not None and b is not None and a.outcome == b.outcome:
            continue
        differ += 1
        left = f"{a.label} ({a.text()})" if a else "absent"
        right = f"{b.label} ({b.text()})" if b else "absent"
        print(f"{key[0]}: {key[1]}: {left}  |  {right}")
    robust_first = sum(v.robust for v in first.values())
    robust_flipped = sum(1 for key in keys if key in first and key in second and first[key].robust
                         and first[key].outcome != second[key].outcome)
    print(f"{differ} of {len(keys)} verdicts differ between {argv[0]} and {argv[1]}"
          f" ({robust_first} robust in the first; {robust_flipped} of those differ)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except ValueError as err:
        print(f"compare_ledgers: {err}", file=sys.stderr)
        sys.exit(2)
