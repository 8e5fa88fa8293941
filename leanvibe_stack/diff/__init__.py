"""What changes between two sets of rendered objects: the engine of `diff` and `render --check`.

- `compare`: objects matched by (apiVersion, kind, namespace, name); per-object YAML diffs, embedded
  config files diffed on their own, checksum notes (`comparison.py`), changes `kubectl apply` cannot make
  (`immutable.py`) or must not make (`stored_data.py`: a started Loki schema period), and the alerting
  summary: rules added, removed or changed, alerts whose receivers change (`alerting.py`);
- how a comparison is shown: text, --stat, Markdown for a PR comment, JSON (`formats.py`);
- where the sides come from: profiles, trees, files, stdin, `git:REV` (`sides.py`);
- what `render --check` prints for a stale tree (`drift.py`).
"""

from leanvibe_stack.diff.alerting import Alerting, Reroute, RuleChange, alerting
from leanvibe_stack.diff.comparison import Change, ChecksumNote, Comparison, PodNote, TextDiff, compare, unified
from leanvibe_stack.diff.drift import tree_drift
from leanvibe_stack.diff.formats import as_json, as_markdown, as_stat, as_text, summary
from leanvibe_stack.diff.sides import GIT_PREFIX, git_side, load_side, side_name

__all__ = [
    "GIT_PREFIX", "Alerting", "Change", "ChecksumNote", "Comparison", "PodNote", "Reroute", "RuleChange", "TextDiff",
    "alerting", "as_json", "as_markdown", "as_stat", "as_text", "compare", "git_side", "load_side", "side_name",
    "summary", "tree_drift", "unified",
]
