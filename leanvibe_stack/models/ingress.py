"""An Ingress for a web UI (networking.k8s.io/v1, Kubernetes 1.36).

Its host is the one the program already writes in its links (`https://<component>.<global.external_url_base>`,
from `--web.external-url` or Grafana's root URL), so the two cannot disagree; it always serves HTTPS, with a
certificate the operator (or cert-manager) keeps in a Secret, referenced here, never rendered.
"""

from __future__ import annotations

from pydantic import Field

from leanvibe_stack.models.base import StrictModel
from leanvibe_stack.models.pods import DnsSubdomain, ExtraAnnotationKey


class UiIngress(StrictModel):
    """An Ingress in front of a UI that has its own login (Grafana)."""

    class_name: DnsSubdomain = Field(description="IngressClass of the controller that serves it, e.g. `nginx`.")
    tls_secret: DnsSubdomain = Field(
        description="Secret of type kubernetes.io/tls in the stack's namespace holding the host's certificate "
        "(`tls.crt`, `tls.key`); created by the operator or cert-manager, listed by `secrets`.",
    )
    annotations: dict[ExtraAnnotationKey, str] = Field(
        default_factory=dict,
        description="Annotations for the controller, e.g. a cert-manager issuer, authentication, session affinity.",
    )


class GuardedUiIngress(UiIngress):
    """An Ingress in front of a UI with no login of its own (Prometheus, Alertmanager): anyone it lets through
    can query every series, silence alerts, and (Prometheus with the reload sidecar) POST /-/quit."""

    authentication: str = Field(
        min_length=1,
        description="What authenticates requests before they reach the program (it has no login of its own), "
        "e.g. `oauth2-proxy through the nginx auth-url annotation`; rendered as the Ingress's "
        "`leanvibe.ai/authentication` annotation, so reviewers see it.",
    )
