"""Alertmanager 0.34: the clustered StatefulSet, its routing tree and receivers.

Fields follow the v0.34.0 configuration reference (docs/configuration.md).  Credentials are Secret
references; the renderer mounts each referenced Secret and points the matching `*_file` field at it, so
alertmanager.yml holds no secret and no `${...}` placeholder.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field, field_validator, model_validator

from leanvibe_stack.models.base import Duration, HttpUrl, LabelName, SecretRef, StrictModel, at
from leanvibe_stack.models.ingress import GuardedUiIngress
from leanvibe_stack.models.matchers import MatcherError, parse_matchers
from leanvibe_stack.models.workload import MAX_REPLICAS, HttpProbe, NonRootWorkload, Storage, grace_period


def _check_matchers(matchers: list[str]) -> list[str]:
    """Each entry as Alertmanager 0.34 parses it (models/matchers.py: UTF-8 parser, classic fallback)."""
    for matcher in matchers:
        try:
            parse_matchers(matcher)
        except MatcherError as exc:
            raise ValueError(f"{matcher!r} is not a matcher Alertmanager 0.34 reads: {exc} "
                             "(write e.g. severity=\"critical\")") from None
    return matchers


def _check_group_by(labels: list[str]) -> list[str]:
    """Route.UnmarshalYAML: `...` alone or label names (0.34: any non-empty UTF-8), none twice."""
    if "..." in labels and len(labels) > 1:
        raise ValueError("cannot have wildcard group_by (`...`) and other labels at the same time")
    seen: set[str] = set()
    for label in labels:
        if not label:
            raise ValueError(f"invalid label name {label!r} in group_by list")
        if label in seen:
            raise ValueError(f"duplicated label {label!r} in group_by")
        seen.add(label)
    return labels


class SlackConfig(StrictModel):
    """A Slack notification (the webhook URL comes from `global.slack_api_url` or `api_url`)."""

    api_url: SecretRef | None = Field(None, description="Secret with this receiver's webhook URL.")
    channel: str = Field(description="Channel, e.g. `#alerts-critical`.")
    username: str | None = Field(None, description="Bot user name.")
    title: str | None = Field(None, description="Message title (Go template).")
    text: str | None = Field(None, description="Message body (Go template).")
    color: str | None = Field(None, description="Attachment colour: `good`, `warning`, `danger` or hex.")
    send_resolved: bool | None = Field(None, description="Also notify when alerts resolve.")


class PagerdutyConfig(StrictModel):
    """A PagerDuty Events API v2 notification."""

    routing_key: SecretRef = Field(description="Secret with the Events API v2 integration key.")
    description: str | None = Field(None, description="Incident description (Go template).")
    severity: str | None = Field(None, description="PagerDuty severity (Go template).")
    details: dict[str, str] | None = Field(None, description="Custom details (Go templates).")
    send_resolved: bool | None = Field(None, description="Also resolve the incident.")


class EmailConfig(StrictModel):
    """An email notification over the global SMTP settings."""

    to: str = Field(description="Recipient address(es).")
    headers: dict[str, str] | None = Field(None, description="Headers, e.g. `Subject` (Go templates).")
    text: str | None = Field(None, description="Plain-text body (Go template).")
    html: str | None = Field(None, description="HTML body (Go template).")
    send_resolved: bool | None = Field(None, description="Also notify when alerts resolve.")


class WebhookConfig(StrictModel):
    """A generic webhook: a literal URL that holds no secret, or a URL read from a Secret (`url_file`, which
    Alertmanager has had since 0.26; a heartbeat service's ping URL carries its token)."""

    url: HttpUrl | None = Field(None, description="Endpoint URL (no credentials in it).")
    url_secret: SecretRef | None = Field(None, description="Secret key holding the endpoint URL.")
    send_resolved: bool | None = Field(None, description="Also notify when alerts resolve.")
    max_alerts: int | None = Field(None, ge=0, description="Alerts per message; 0 means all.")

    @model_validator(mode="after")
    def _one_url(self) -> WebhookConfig:
        if (self.url is None) == (self.url_secret is None):
            raise ValueError("set exactly one of url and url_secret")
        return self


class Receiver(StrictModel):
    """A notification target; its name in the profile is the receiver name."""

    slack_configs: list[SlackConfig] | None = Field(None, description="Slack notifications.")
    pagerduty_configs: list[PagerdutyConfig] | None = Field(None, description="PagerDuty notifications.")
    email_configs: list[EmailConfig] | None = Field(None, description="Email notifications.")
    webhook_configs: list[WebhookConfig] | None = Field(None, description="Webhook notifications.")


class Route(StrictModel):
    """A node of the routing tree; child routes are keyed by a name that exists only in the profile."""

    receiver: str | None = Field(None, description="Receiver for matching alerts; inherited if unset.")
    matchers: list[str] | None = Field(None, description="Alert matchers, e.g. `severity=\"critical\"`.")
    group_by: list[str] | None = Field(None, description="Labels that group alerts into one notification.")
    group_wait: Duration | None = Field(None, description="Wait before the first notification of a group.")
    group_interval: Duration | None = Field(None, description="Wait before notifying about new alerts.")
    repeat_interval: Duration | None = Field(None, description="Wait before repeating a notification.")
    continue_: bool | None = Field(None, alias="continue", description="Keep matching later siblings.")
    routes: dict[str, Route] | None = Field(None, description="Child routes, tried in order.")

    @field_validator("matchers")
    @classmethod
    def _valid_matchers(cls, matchers: list[str] | None) -> list[str] | None:
        return _check_matchers(matchers) if matchers is not None else None

    @field_validator("group_by")
    @classmethod
    def _valid_group_by(cls, labels: list[str] | None) -> list[str] | None:
        return _check_group_by(labels) if labels is not None else None

    def walk_paths(self, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Route]]:
        """(profile path, route) for this route and all its descendants, depth first."""
        yield path, self
        for name, child in (self.routes or {}).items():
            yield from child.walk_paths((*path, "routes", name))


class InhibitRule(StrictModel):
    """Mutes target alerts while a source alert fires; keyed by a profile-only name."""

    source_matchers: list[str] = Field(description="Matchers of the muting alert.", min_length=1)
    target_matchers: list[str] = Field(description="Matchers of the muted alerts.", min_length=1)
    equal: list[LabelName] = Field(description="Labels that must be equal on source and target.", min_length=1)

    @field_validator("source_matchers", "target_matchers")
    @classmethod
    def _valid_matchers(cls, matchers: list[str]) -> list[str]:
        return _check_matchers(matchers)


class SmtpSettings(StrictModel):
    """Global SMTP settings for email receivers."""

    smarthost: str = Field(description="`host:port` of the SMTP relay.", pattern=r"^[^:\s]+:\d+$")
    sender: str = Field(description="From address.")
    auth_username: str | None = Field(None, description="SMTP user name (not a secret).")
    auth_password: SecretRef | None = Field(None, description="Secret with the SMTP password.")
    require_tls: bool | None = Field(None, description="Require STARTTLS.")


class AlertmanagerGlobal(StrictModel):
    """Global notification settings."""

    resolve_timeout: Duration | None = Field(None, description="When an alert without end time resolves.")
    smtp: SmtpSettings | None = Field(None, description="SMTP relay for email receivers.")
    slack_api_url: SecretRef | None = Field(None, description="Secret with the default Slack webhook URL.")
    pagerduty_url: HttpUrl | None = Field(None, description="PagerDuty Events API URL.")


class Alertmanager(NonRootWorkload):
    """The Alertmanager StatefulSet (gossip cluster) and its configuration."""

    replicas: int = Field(ge=1, le=MAX_REPLICAS, description="Clustered replicas; they gossip to deduplicate alerts.")
    storage: Storage = Field(description="Per-replica volume for silences and the notification log.")
    data_retention: Duration = Field(description="`--data.retention`.")
    liveness_probe: HttpProbe = Field(description="Liveness probe.")
    readiness_probe: HttpProbe = Field(description="Readiness probe.")
    termination_grace_period_seconds: int = grace_period(
        120, "time to finish notifications in flight and write the silences and notification log snapshot "
        "(prometheus-operator's default, 120)."
    )
    global_: AlertmanagerGlobal = Field(alias="global", description="Global notification settings.")
    route: Route = Field(description="Root of the routing tree; it must name a receiver.")
    inhibit_rules: dict[str, InhibitRule] = Field(default_factory=dict, description="Inhibit rules by name.")
    receivers: dict[str, Receiver] = Field(description="Receivers by name.", min_length=1)
    ingress: GuardedUiIngress | None = Field(
        None, description="An Ingress for the UI at its external URL; unset: none (port-forward, or your own).")
    templates: dict[str, str] = Field(
        default_factory=dict, description="Notification templates by name, mounted as `<name>.tmpl`."
    )

    @model_validator(mode="after")
    def _receivers_exist(self) -> Alertmanager:
        if not self.route.receiver:
            raise ValueError(at(("route",), "the root route needs a default `receiver`"))
        if self.route.continue_:
            raise ValueError(at(("route", "continue"), "cannot have continue in root route: the root matches "
                                                      "every alert and has no siblings (Alertmanager refuses it)"))
        if self.route.matchers:
            raise ValueError(at(("route", "matchers"), "root route must not have any matchers: it is the "
                                                      "fallback for every alert; put them on a child route"))
        for path, route in self.route.walk_paths(("route",)):
            if route.receiver and route.receiver not in self.receivers:
                known = ", ".join(self.receivers)
                raise ValueError(at((*path, "receiver"), f"receiver {route.receiver!r} is not defined under "
                                                         f"receivers ({known})"))
        return self

    def secret_refs(self) -> list[SecretRef]:
        """Every Secret key the configuration reads, in a stable order, without duplicates."""
        refs: list[SecretRef | None] = [self.global_.slack_api_url]
        if self.global_.smtp:
            refs.append(self.global_.smtp.auth_password)
        for receiver in self.receivers.values():
            refs += [c.api_url for c in receiver.slack_configs or []]
            refs += [c.routing_key for c in receiver.pagerduty_configs or []]
            refs += [c.url_secret for c in receiver.webhook_configs or []]
        unique = {(r.secret, r.key): r for r in refs if r is not None}
        return [unique[k] for k in sorted(unique)]


Route.model_rebuild()
