"""Grafana's links between datasources: every uid they name exists, and each link can return something.

Read from the provisioning files Grafana really loads (`Bundle.grafana_datasources`) and the dashboards:

- `grafana.unknown-datasource-uid` (error): a datasource's link (exemplars, derived fields, traces to logs
  or metrics) or a dashboard panel or query names a uid no provisioned datasource has; Grafana shows the
  link, and it opens nothing (or the panel says "datasource not found").
- `grafana.trace-logs-tag`: traces-to-logs builds its Loki selector from the span attributes it maps to log
  labels. A mapped label no stream of the log agent carries makes every such query empty (warning); when
  none of them is a label, the selector has nothing to select with (error).
- `grafana.trace-metrics-query` (error): a traces-to-metrics query that is not PromQL once `$__tags` is
  filled in.
- `grafana.exemplars-not-stored` (warning): exemplar links on a Prometheus that runs without
  `--enable-feature=exemplar-storage` (it drops exemplars, so there is never a link to follow).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import promql_parser

from leanvibe_stack.validate.bundle import Bundle, MountedFile, as_dict, as_list, dicts
from leanvibe_stack.validate.findings import Finding, ObjectRef, error, warning
from leanvibe_stack.validate.logql import agent_streams
from leanvibe_stack.validate.promql import panel_targets

# Datasource references Grafana resolves itself, and uids written as dashboard variables.
BUILT_IN_UIDS = frozenset({"grafana", "-- Grafana --", "-- Mixed --", "-- Dashboard --"})
# jsonData keys whose `datasourceUid` names another datasource.
LINKS = ("tracesToLogsV2", "tracesToLogs", "tracesToMetrics", "tracesToProfiles", "serviceMap")
LIST_LINKS = ("exemplarTraceIdDestinations", "derivedFields")
EXEMPLAR_FLAG = "exemplar-storage"


def check(bundle: Bundle) -> list[Finding]:
    provisioned = [(mounted, i, source) for mounted, data in bundle.grafana_datasources
                   for i, source in enumerate(dicts(as_dict(data).get("datasources")))]
    if not provisioned:
        return []
    uids = {str(source.get("uid")) for _, _, source in provisioned if source.get("uid")}
    findings = [*_dashboard_references(bundle, uids)]
    log_labels = set().union(*(stream.labels for stream in agent_streams(bundle)))
    for mounted, i, source in provisioned:
        ref, where = _where(mounted, i)
        json_data = as_dict(source.get("jsonData"))
        for path, uid in _links(json_data):
            if uid not in uids:
                findings.append(error("grafana.unknown-datasource-uid", ref, f"{where}.jsonData.{path}",
                                      f"datasource {source.get('name')!r} links to uid {uid!r}, which no "
                                      f"provisioned datasource has (uids: {', '.join(sorted(uids))})"))
        if log_labels:
            findings += _trace_logs_tags(ref, f"{where}.jsonData.tracesToLogsV2", json_data, log_labels)
        findings += _trace_metrics_queries(ref, f"{where}.jsonData.tracesToMetrics", json_data)
        if json_data.get("exemplarTraceIdDestinations") and not _prometheus_stores_exemplars(bundle):
            findings.append(warning(
                "grafana.exemplars-not-stored", ref, f"{where}.jsonData.exemplarTraceIdDestinations",
                f"exemplar links, but Prometheus runs without --enable-feature={EXEMPLAR_FLAG}: it keeps no "
                "exemplars to link from"))
    return findings


def _where(mounted: MountedFile, index: int) -> tuple[ObjectRef | None, str]:
    return (ObjectRef.of(mounted.source) if mounted.source else None), f"{mounted.key}:datasources[{index}]"


def _links(json_data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for key in LINKS:
        uid = as_dict(json_data.get(key)).get("datasourceUid")
        if uid:
            yield f"{key}.datasourceUid", str(uid)
    for key in LIST_LINKS:
        for j, link in enumerate(dicts(json_data.get(key))):
            if link.get("datasourceUid"):
                yield f"{key}[{j}].datasourceUid", str(link["datasourceUid"])


def _trace_logs_tags(ref: ObjectRef | None, path: str, json_data: dict[str, Any],
                     log_labels: set[str]) -> Iterator[Finding]:
    link = as_dict(json_data.get("tracesToLogsV2"))
    if not link or link.get("customQuery"):
        return  # a custom query says its own selector (logql.py parses it)
    tags = [(str(tag.get("key", "")), str(tag.get("value") or tag.get("key", ""))) for tag in dicts(link.get("tags"))]
    missing = [(key, label) for key, label in tags if label not in log_labels]
    if not missing:
        return
    named = ", ".join(f"{key} -> {label}" for key, label in missing)
    if len(missing) == len(tags):
        yield error("grafana.trace-logs-tag", ref, f"{path}.tags",
                    f"no mapped tag is a log label ({named}): the link's stream selector would be empty; the log "
                    f"agent's labels are {', '.join(sorted(log_labels))}")
    else:
        yield warning("grafana.trace-logs-tag", ref, f"{path}.tags",
                      f"{named}: no stream of the log agent has that label, so every link from a span carrying "
                      f"the tag finds no logs (labels: {', '.join(sorted(log_labels))})")


def _trace_metrics_queries(ref: ObjectRef | None, path: str, json_data: dict[str, Any]) -> Iterator[Finding]:
    for j, query in enumerate(dicts(as_dict(json_data.get("tracesToMetrics")).get("queries"))):
        # In the file `$` is written `$$` (Grafana expands environment variables there).
        text = str(query.get("query", "")).replace("$$", "$").replace("$__tags", 'tag="value"')
        try:
            promql_parser.parse(text)
        except ValueError as exc:
            yield error("grafana.trace-metrics-query", ref, f"{path}.queries[{j}].query",
                        f"{query.get('name')!r} is not valid PromQL once $__tags is filled in: {exc}")


def _prometheus_stores_exemplars(bundle: Bundle) -> bool:
    config = bundle.config("prometheus")
    if config is None:
        return True  # no Prometheus rendered here: nothing to judge
    args = [str(a) for a in [*as_list(config.container.get("command")), *as_list(config.container.get("args"))]]
    return any(arg.startswith("--enable-feature=") and EXEMPLAR_FLAG in arg.split("=", 1)[1].split(",")
               for arg in args)


def _dashboard_references(bundle: Bundle, uids: set[str]) -> Iterator[Finding]:
    for manifest, key, dashboard in bundle.dashboards:
        if not isinstance(dashboard, dict):
            continue
        seen: set[tuple[str, str]] = set()
        for path, target, inherited in panel_targets(dashboard):
            for where, datasource in ((f"{path}.datasource", target.get("datasource")),
                                      (path.rsplit(".targets", 1)[0] + ".datasource", inherited)):
                uid = as_dict(datasource).get("uid")
                if not isinstance(uid, str) or uid in uids or uid in BUILT_IN_UIDS or "$" in uid \
                        or (where, uid) in seen:
                    continue
                seen.add((where, uid))
                yield error("grafana.unknown-datasource-uid", ObjectRef.of(manifest), f"{key}:{where}.uid",
                            f"the dashboard queries datasource uid {uid!r}, which no provisioned datasource has "
                            f"(uids: {', '.join(sorted(uids))}): the panel shows 'datasource not found'")
