"""Grafana: provisioned datasources and dashboards loaded from JSON files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from leanvibe_stack import sources
from leanvibe_stack.models.base import DnsLabel, LabelName, SecretRef, StrictModel, at
from leanvibe_stack.models.ingress import UiIngress
from leanvibe_stack.models.workload import HttpProbe, NonRootWorkload

Uid = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_-]{1,40}$")]
# Grafana's relative time shifts, e.g. "-5m", "1h".
TimeShift = Annotated[str, StringConstraints(pattern=r"^-?\d+(ms|s|m|h|d)$")]


class ExemplarLink(StrictModel):
    """An exemplar label holding a trace id, and the tracing datasource that opens it (Prometheus only)."""

    label: LabelName = Field(description="Exemplar label with the trace id, e.g. `trace_id`.")
    datasource_uid: Uid = Field(description="uid of the tracing datasource the link opens.")


class DerivedField(StrictModel):
    """A value found in a log line by a regex, linked to a query in another datasource (Loki only)."""

    name: str = Field(min_length=1, description="Name of the field shown under the log line.")
    matcher_regex: str = Field(min_length=1, description="Regex whose first capture group is the value (RE2).")
    datasource_uid: Uid = Field(description="uid of the datasource the link queries with the value.")

    @field_validator("matcher_regex")
    @classmethod
    def _captures(cls, regex: str) -> str:
        try:
            groups = re.compile(regex).groups
        except re.error as exc:
            raise ValueError(f"does not compile: {exc}") from None
        if groups < 1:
            raise ValueError("needs a capture group: its first group is the value the link uses")
        return regex


class TracesToLogs(StrictModel):
    """From a span to its logs (Jaeger only): span attributes mapped to log stream labels."""

    datasource_uid: Uid = Field(description="uid of the Loki datasource.")
    tags: dict[str, LabelName] = Field(min_length=1, description="Span attribute -> the log label it equals.")
    filter_by_trace_id: bool = Field(True, description="Keep only lines containing the trace id.")
    span_start_time_shift: TimeShift = Field("-5m", description="Start the log search this long before the span.")
    span_end_time_shift: TimeShift = Field("5m", description="End the log search this long after the span.")


class TracesToMetrics(StrictModel):
    """From a span to metric queries (Jaeger only): `$__tags` in a query becomes the mapped labels."""

    datasource_uid: Uid = Field(description="uid of the Prometheus datasource.")
    tags: dict[str, LabelName] = Field(min_length=1, description="Span attribute -> the metric label it equals.")
    queries: dict[str, str] = Field(min_length=1, description="Link title -> PromQL query.")


class Datasource(StrictModel):
    """A provisioned datasource; its URL is the in-cluster Service of the stack component it names."""

    type: Literal["prometheus", "loki", "alertmanager", "jaeger"] = Field(
        description="Which stack component it queries."
    )
    uid: Uid = Field(description="Stable uid that dashboards reference.")
    is_default: bool = Field(False, description="Default datasource for new panels.")
    exemplar_trace_id_destinations: list[ExemplarLink] = Field(
        default_factory=list, description="Prometheus: exemplar labels that link to a trace."
    )
    derived_fields: list[DerivedField] = Field(default_factory=list, description="Loki: values that link elsewhere.")
    traces_to_logs: TracesToLogs | None = Field(None, description="Jaeger: from a span to its logs.")
    traces_to_metrics: TracesToMetrics | None = Field(None, description="Jaeger: from a span to metrics.")
    node_graph: bool = Field(False, description="Jaeger: draw the trace's services as a graph.")

    @model_validator(mode="after")
    def _links_fit_the_type(self) -> Datasource:
        allowed = {"exemplar_trace_id_destinations": "prometheus", "derived_fields": "loki",
                   "traces_to_logs": "jaeger", "traces_to_metrics": "jaeger", "node_graph": "jaeger"}
        for field, kind in allowed.items():
            if getattr(self, field) and self.type != kind:
                raise ValueError(at((field,), f"only a {kind} datasource has {field}"))
        return self

    def linked_uids(self) -> list[tuple[tuple[str | int, ...], str]]:
        """(path, uid) of every other datasource this one links to."""
        links: list[tuple[tuple[str | int, ...], str]] = []
        links += [(("exemplar_trace_id_destinations", i, "datasource_uid"), link.datasource_uid)
                  for i, link in enumerate(self.exemplar_trace_id_destinations)]
        links += [(("derived_fields", i, "datasource_uid"), field.datasource_uid)
                  for i, field in enumerate(self.derived_fields)]
        for name in ("traces_to_logs", "traces_to_metrics"):
            link = getattr(self, name)
            if link is not None:
                links.append(((name, "datasource_uid"), link.datasource_uid))
        return links


def load_dashboard(file: Path) -> dict[str, Any]:
    """A dashboard file's model, checked to be what Grafana's file provisioning accepts."""
    try:
        model = json.loads(sources.read_text(file))
    except OSError as error:
        raise ValueError(f"cannot read dashboard {file}: {error.strerror}") from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"dashboard {file} is not JSON: {error}") from error
    if not isinstance(model, dict):
        raise ValueError(f"dashboard {file} must hold a JSON object")
    if "dashboard" in model and "panels" not in model:
        raise ValueError(f'dashboard {file} is wrapped in {{"dashboard": ...}}: provisioning needs the bare model')
    if not model.get("title") or not model.get("uid"):
        raise ValueError(f"dashboard {file} needs a `title` and a stable `uid`")
    return model


class Dashboard(StrictModel):
    """A dashboard, provisioned from a JSON file (relative paths resolve against the declaring profile)."""

    file: Path = Field(strict=False, description="Dashboard JSON model (not wrapped in `{\"dashboard\": ...}`).")
    folder: str = Field("", description="Grafana folder the dashboard appears in.")

    @field_validator("file")
    @classmethod
    def _provisionable(cls, file: Path) -> Path:
        load_dashboard(file)
        return file


class AdminCredentials(StrictModel):
    """The Grafana admin account, read from a Secret."""

    user: SecretRef = Field(description="Secret key with the admin user name.")
    password: SecretRef = Field(description="Secret key with the admin password.")


class Grafana(NonRootWorkload):
    """The Grafana Deployment."""

    replicas: int = Field(1, ge=1, le=1, description="One replica: state lives in a local SQLite database.")
    admin: AdminCredentials = Field(description="Admin credentials by Secret reference.")
    liveness_probe: HttpProbe = Field(description="Liveness probe.")
    readiness_probe: HttpProbe = Field(description="Readiness probe.")
    datasources: dict[DnsLabel, Datasource] = Field(description="Datasources keyed by display name.")
    dashboards: dict[DnsLabel, Dashboard] = Field(description="Dashboards keyed by ConfigMap-safe name.")
    ingress: UiIngress | None = Field(
        None, description="An Ingress for the UI at its external URL; unset: none (port-forward, or your own).")

    @model_validator(mode="after")
    def _links_name_provisioned_datasources(self) -> Grafana:
        uids = {source.uid for source in self.datasources.values()}
        for name, source in self.datasources.items():
            for path, uid in source.linked_uids():
                if uid not in uids:
                    raise ValueError(at(("datasources", name, *path),
                                        f"no datasource has uid {uid!r} (uids: {', '.join(sorted(uids))})"))
        return self
