"""Grafana: provisioned datasources and dashboards loaded from JSON files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from leanvibe_stack.models.base import DnsLabel, SecretRef, StrictModel
from leanvibe_stack.models.workload import HttpProbe, NonRootWorkload


class Datasource(StrictModel):
    """A provisioned datasource; its URL is the in-cluster Service of the stack component it names."""

    type: Literal["prometheus", "loki", "alertmanager"] = Field(description="Which stack component it queries.")
    uid: str = Field(description="Stable uid that dashboards reference.", pattern=r"^[a-zA-Z0-9_-]{1,40}$")
    is_default: bool = Field(False, description="Default datasource for new panels.")


def load_dashboard(file: Path) -> dict[str, Any]:
    """A dashboard file's model, checked to be what Grafana's file provisioning accepts."""
    try:
        model = json.loads(file.read_text(encoding="utf-8"))
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
