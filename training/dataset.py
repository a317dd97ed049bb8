"""Normalise, de-duplicate and split the corpus, and fingerprint the split.

Without de-duplication ~10% of a random test split has a near-twin (mostly retweets)
in the training split, which inflates every metric; so duplicates are collapsed on a
normalised key *before* splitting.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sklearn.model_selection import train_test_split

from serving.manifest import Dedup
from training.corpus import Row

SPLIT_SEED = 42
TEST_SIZE = 0.2

_RETWEET = re.compile(r"^\s*rt\s+@\w+:?")
_URL = re.compile(r"(?:https?://|www\.)\S*")
_MENTION = re.compile(r"@\w+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """The de-duplication key: case, retweet prefix, URLs, mentions and garbled bytes ignored."""
    key = text.lower()
    key = _RETWEET.sub(" ", key)
    key = _URL.sub(" ", key)
    key = _MENTION.sub(" ", key)
    key = _NON_ASCII.sub(" ", key)
    return _SPACE.sub(" ", key).strip()


def deduplicate(rows: Iterable[Row]) -> tuple[list[Row], Dedup]:
    """One row per normalised key, labelled by the group's majority.

    The kept text is the group's first occurrence (file order). Ties are broken by label
    name so the result does not depend on row order. Rows whose key is empty (only a URL
    or a mention) carry no text to learn from and are dropped.
    """
    groups: dict[str, list[Row]] = {}
    rows_in = empty = 0
    for row in rows:
        rows_in += 1
        key = normalise(row.text)
        if not key:
            empty += 1
            continue
        groups.setdefault(key, []).append(row)
    kept: list[Row] = []
    conflicting = tied = 0
    for members in groups.values():
        counts = Counter(member.label for member in members)
        if len(counts) > 1:
            conflicting += 1
        best = max(counts.values())
        winners = sorted(label for label, count in counts.items() if count == best)
        tied += len(winners) > 1
        kept.append(Row(label=winners[0], text=members[0].text))
    stats = Dedup(  # the manifest's own record of it
        rows_in=rows_in,
        rows_out=len(kept),
        empty_key_dropped=empty,
        duplicate_rows_removed=rows_in - empty - len(kept),
        conflicting_groups=conflicting,
        tied_groups=tied,
    )
    return kept, stats


@dataclass(frozen=True)
class Split:
    train: list[Row]
    test: list[Row]
    seed: int
    test_size: float

    @property
    def test_sha256(self) -> str:
        return rows_sha256(self.test)

    @property
    def train_sha256(self) -> str:
        return rows_sha256(self.train)


def split(rows: Sequence[Row], seed: int = SPLIT_SEED, test_size: float = TEST_SIZE) -> Split:
    """Stratified split; deterministic for a given row order and seed."""
    labels = [row.label for row in rows]
    train, test = train_test_split(list(rows), test_size=test_size, stratify=labels, random_state=seed, shuffle=True)
    return Split(train=train, test=test, seed=seed, test_size=test_size)


def rows_sha256(rows: Iterable[Row]) -> str:
    """Order-independent fingerprint of a set of rows: equal hashes mean the same split."""
    lines = sorted(f"{row.label}\t{row.text}" for row in rows)
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
