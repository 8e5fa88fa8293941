"""Grafana: provisioned datasources and dashboards loaded from JSON files."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from leanvibe_stack.models.base import DnsLabel, SecretRef, StrictModel
from leanvibe_stack.models.workload import HttpProbe, NonRootWorkload


class Datasource(StrictModel):
    """A provisioned datasource; its URL is the in-cluster Service of the stack component it names."""

    type: Literal["prometheus", "loki", "alertmanager"] = Field(description="Which stack component it queries.")
    uid: str = Field(description="Stable uid that dashboards reference.", pattern=r"^[a-zA-Z0-9_-]{1,40}$")
    is_default: bool = Field(False, description="Default datasource for new panels.")


class Dashboard(StrictModel):
    """A dashboard, provisioned from a JSON file (relative paths resolve against the declaring profile)."""

    file: Path = Field(strict=False, description="Dashboard JSON model (not wrapped in `{\"dashboard\": ...}`).")
    folder: str = Field("", description="Grafana folder the dashboard appears in.")


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
