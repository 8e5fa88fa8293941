""""Did you mean": the closest known name, from an index, in time that does not grow with the catalogue.

difflib.get_close_matches compares a name with every candidate (quick_ratio, then ratio): 150 ms per unknown
metric against the full catalogue, 142 s for 954 rules of a real rule set.  The index keeps, per trigram, the
names that contain it; a query counts the trigrams each candidate shares with it (Counter over the posting
lists, in C), takes the few with the highest Dice coefficient, and runs difflib's own ratio on those alone.
The answer is difflib's whenever its best match is among those few, which similar names are (benchmarks/
unknown_metrics.py compares both); answers are cached per name.
"""

from __future__ import annotations

import difflib
import heapq
from collections import Counter
from collections.abc import Iterable

SHORTLIST = 16  # candidates difflib scores exactly, ranked by shared trigrams
CUTOFF = 0.6  # difflib.get_close_matches' default: below this, nothing is "close"


def _trigrams(name: str) -> set[str]:
    padded = f"^{name}$"  # the ends count: `up` and `upx` share `^up`
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


class Index:
    """Known names, indexed for `closest`."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = sorted(set(names))
        self.postings: dict[str, list[int]] = {}
        self.sizes: list[int] = []  # trigrams per name
        for number, name in enumerate(self.names):
            grams = _trigrams(name)
            self.sizes.append(len(grams))
            for gram in grams:
                self.postings.setdefault(gram, []).append(number)
        self.cache: dict[str, str | None] = {}

    def closest(self, name: str) -> str | None:
        """The known name most similar to `name` (difflib's ratio, at least CUTOFF), or None."""
        if name not in self.cache:
            self.cache[name] = self._closest(name)
        return self.cache[name]

    def _closest(self, name: str) -> str | None:
        grams = _trigrams(name)
        shared: Counter[int] = Counter()
        for gram in grams:
            shared.update(self.postings.get(gram, ()))
        # Rank by the Dice coefficient of the trigram sets, the trigram analogue of difflib's 2*M/(len a + len b):
        # a raw count would favour long names sharing a common suffix (`_total`) over the short right one.
        size, sizes = len(grams), self.sizes
        shortlist = heapq.nlargest(SHORTLIST, shared.items(), key=lambda item: item[1] / (size + sizes[item[0]]))
        matcher = difflib.SequenceMatcher()
        matcher.set_seq2(name)
        best: tuple[float, str] = (CUTOFF, "")
        for number, _ in shortlist:  # most similar first, so the bounds below soon skip the rest
            candidate = self.names[number]
            matcher.set_seq1(candidate)
            # real_quick_ratio and quick_ratio bound ratio from above, as in get_close_matches; ties go to the
            # greater name, as get_close_matches orders them.
            if (matcher.real_quick_ratio(), candidate) >= best and (matcher.quick_ratio(), candidate) >= best:
                best = max(best, (matcher.ratio(), candidate))
        return best[1] or None
