"""Where a component's pods run, and the metadata an operator's platform adds to them.

Kubernetes shapes the profile passes through (tolerations, affinity) are spelled as in the Pod spec of
Kubernetes 1.36 (core/v1 `Toleration`, `Affinity`, `LabelSelector`), so a block copied from the Kubernetes
documentation works as it is; the rules the API server enforces on them are checked here, so `kubectl apply`
is not the first to refuse them.  Label and annotation keys follow the API server's rules for
qualified names (an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from leanvibe_stack.models.base import StrictModel, at

_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

# Labels every object of the stack carries (templates/_helpers.j2): a profile may not change them, since
# selectors, `diff` and `graph` rely on them.
OWN_LABELS = frozenset({"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
                        "app.kubernetes.io/component", "app.kubernetes.io/part-of",
                        "app.kubernetes.io/managed-by"})
# Annotation prefixes the renderer writes itself (config checksums, scrape discovery, the stack's notes) or
# kubectl keeps: an operator's value there would be overwritten or would change what the stack means.
OWN_ANNOTATION_PREFIXES = ("checksum/", "prometheus.io/", "leanvibe.ai/", "kubectl.kubernetes.io/")


def _check_qualified_name(key: str) -> str:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _SUBDOMAIN.fullmatch(prefix)):
        raise ValueError(f"{key!r}: the prefix before '/' must be a DNS subdomain such as 'example.com'")
    if len(name) > 63 or not _NAME.fullmatch(name):
        raise ValueError(f"{key!r} is not a Kubernetes label or annotation key (at most 63 letters, digits, "
                         "'-', '_' or '.', beginning and ending with a letter or digit, after an optional prefix/)")
    return key


def _check_label_value(value: str) -> str:
    if value and (len(value) > 63 or not _NAME.fullmatch(value)):
        raise ValueError(f"{value!r} is not a Kubernetes label value (at most 63 letters, digits, '-', '_' or "
                         "'.', beginning and ending with a letter or digit)")
    return value


def _check_subdomain(value: str) -> str:
    if len(value) > 253 or not _SUBDOMAIN.fullmatch(value):
        raise ValueError(f"{value!r} is not a DNS subdomain (lower-case letters, digits, '-' and '.')")
    return value


def _not_own_label(key: str) -> str:
    if key in OWN_LABELS:
        raise ValueError(f"{key!r} is set by the stack itself (selectors depend on it)")
    return key


def _not_own_annotation(key: str) -> str:
    if key.startswith(OWN_ANNOTATION_PREFIXES):
        raise ValueError(f"{key!r}: keys under {', '.join(OWN_ANNOTATION_PREFIXES)} are written by the stack "
                         "or by kubectl")
    return key


QualifiedName = Annotated[str, AfterValidator(_check_qualified_name)]
LabelValue = Annotated[str, AfterValidator(_check_label_value)]
DnsSubdomain = Annotated[str, AfterValidator(_check_subdomain)]
ExtraLabelKey = Annotated[QualifiedName, AfterValidator(_not_own_label)]
ExtraAnnotationKey = Annotated[QualifiedName, AfterValidator(_not_own_annotation)]


class Toleration(StrictModel):
    """A Kubernetes toleration: the pods may run on nodes with a matching taint.

    Without a key (operator `Exists`) it tolerates every taint; without an effect, every effect.
    """

    key: QualifiedName | None = Field(None, description="Taint key to tolerate; unset: every key.")
    operator: Literal["Exists", "Equal"] = Field("Exists", description="How the taint value matches.")
    value: str | None = Field(None, description="Taint value to match (operator `Equal` only).")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        None, description="Taint effect to tolerate; unset: every effect."
    )
    toleration_seconds: int | None = Field(
        None, alias="tolerationSeconds",
        description="How long a running pod stays after a matching NoExecute taint appears; unset: for ever.",
    )

    @model_validator(mode="after")
    def _as_the_api_server_accepts(self) -> Toleration:
        # The API server's rules (core validation of tolerations), said before `kubectl apply` refuses them.
        if self.key is None and self.operator != "Exists":
            raise ValueError(at(("operator",), "a toleration without a key must use operator Exists "
                                              "(it then tolerates every taint)"))
        if self.operator == "Exists" and self.value is not None:
            raise ValueError(at(("value",), "operator Exists matches any value: drop value, or use Equal"))
        if self.toleration_seconds is not None and self.effect != "NoExecute":
            raise ValueError(at(("tolerationSeconds",), "only a NoExecute toleration has tolerationSeconds"))
        return self


def tolerate_everything() -> list[Toleration]:
    """The default of node agents: one toleration with no key, so no taint keeps them off a node."""
    return [Toleration()]


class LabelSelectorRequirement(StrictModel):
    """One `matchExpressions` entry of a label selector."""

    key: QualifiedName = Field(description="Label key.")
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"] = Field(description="How the values match.")
    values: list[LabelValue] | None = Field(None, description="Values (In, NotIn only).")

    @model_validator(mode="after")
    def _values_fit_operator(self) -> LabelSelectorRequirement:
        if self.operator in ("In", "NotIn") and not self.values:
            raise ValueError(at(("values",), f"operator {self.operator} needs at least one value"))
        if self.operator in ("Exists", "DoesNotExist") and self.values:
            raise ValueError(at(("values",), f"operator {self.operator} takes no values"))
        return self


class LabelSelector(StrictModel):
    """A Kubernetes label selector."""

    match_labels: dict[QualifiedName, LabelValue] | None = Field(None, alias="matchLabels",
                                                                 description="Labels that must be equal.")
    match_expressions: list[LabelSelectorRequirement] | None = Field(None, alias="matchExpressions",
                                                                     description="Set-based requirements.")


class NodeSelectorRequirement(StrictModel):
    """One requirement on node labels (or fields)."""

    key: QualifiedName = Field(description="Node label key.")
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"] = Field(description="How to match.")
    values: list[str] | None = Field(None, description="Values; one integer for Gt and Lt.")

    @model_validator(mode="after")
    def _values_fit_operator(self) -> NodeSelectorRequirement:
        if self.operator in ("In", "NotIn") and not self.values:
            raise ValueError(at(("values",), f"operator {self.operator} needs at least one value"))
        if self.operator in ("Exists", "DoesNotExist") and self.values:
            raise ValueError(at(("values",), f"operator {self.operator} takes no values"))
        if self.operator in ("Gt", "Lt") and (len(self.values or []) != 1
                                              or not (self.values or [""])[0].lstrip("-").isdigit()):
            raise ValueError(at(("values",), f"operator {self.operator} takes exactly one integer value"))
        return self


class NodeSelectorTerm(StrictModel):
    """Requirements that must all hold for a node to match."""

    match_expressions: list[NodeSelectorRequirement] | None = Field(None, alias="matchExpressions",
                                                                    description="On node labels.")
    match_fields: list[NodeSelectorRequirement] | None = Field(None, alias="matchFields",
                                                               description="On node fields (metadata.name).")


class NodeSelector(StrictModel):
    """Node selector terms, any of which may match."""

    node_selector_terms: list[NodeSelectorTerm] = Field(alias="nodeSelectorTerms", min_length=1,
                                                        description="Terms; a node matching one is chosen.")


class PreferredSchedulingTerm(StrictModel):
    """A node preference with its weight."""

    weight: int = Field(ge=1, le=100, description="Weight, 1-100.")
    preference: NodeSelectorTerm = Field(description="The nodes preferred.")


class NodeAffinity(StrictModel):
    """Which nodes the pods may or should run on."""

    required: NodeSelector | None = Field(None, alias="requiredDuringSchedulingIgnoredDuringExecution",
                                          description="Nodes the pods must run on.")
    preferred: list[PreferredSchedulingTerm] | None = Field(
        None, alias="preferredDuringSchedulingIgnoredDuringExecution", description="Nodes the pods prefer.")


class PodAffinityTerm(StrictModel):
    """Pods (by labels) in a topology domain (by node label)."""

    label_selector: LabelSelector | None = Field(None, alias="labelSelector", description="The pods.")
    namespace_selector: LabelSelector | None = Field(None, alias="namespaceSelector",
                                                     description="Their namespaces, by label.")
    namespaces: list[DnsSubdomain] | None = Field(None, description="Their namespaces, by name.")
    topology_key: QualifiedName = Field(alias="topologyKey",
                                        description="Node label that defines the domain, e.g. kubernetes.io/hostname.")
    match_label_keys: list[QualifiedName] | None = Field(None, alias="matchLabelKeys",
                                                         description="Keys whose values the pod's own must equal.")
    mismatch_label_keys: list[QualifiedName] | None = Field(None, alias="mismatchLabelKeys",
                                                            description="Keys whose values must differ.")


class WeightedPodAffinityTerm(StrictModel):
    """A pod (anti-)affinity preference with its weight."""

    weight: int = Field(ge=1, le=100, description="Weight, 1-100.")
    pod_affinity_term: PodAffinityTerm = Field(alias="podAffinityTerm", description="The term.")


class PodAffinity(StrictModel):
    """Pods to run near (podAffinity) or away from (podAntiAffinity)."""

    required: list[PodAffinityTerm] | None = Field(None, alias="requiredDuringSchedulingIgnoredDuringExecution",
                                                   description="Terms that must hold.")
    preferred: list[WeightedPodAffinityTerm] | None = Field(
        None, alias="preferredDuringSchedulingIgnoredDuringExecution", description="Terms preferred.")


class Affinity(StrictModel):
    """A Kubernetes pod affinity, spelled as in the Pod spec."""

    node_affinity: NodeAffinity | None = Field(None, alias="nodeAffinity", description="Nodes.")
    pod_affinity: PodAffinity | None = Field(None, alias="podAffinity", description="Pods to run near.")
    pod_anti_affinity: PodAffinity | None = Field(
        None, alias="podAntiAffinity",
        description="Pods to run away from; replaces the stack's default spreading of replicas over nodes.",
    )


class PodSettings(StrictModel):
    """What an operator's cluster needs of a component's pods: where they run, and its own metadata."""

    node_selector: dict[QualifiedName, LabelValue] = Field(
        default_factory=dict, description="Node labels the pods must run on, e.g. `{node-pool: monitoring}`.")
    affinity: Affinity | None = Field(
        None,
        description="Kubernetes affinity, spelled as in the Pod spec. Each of nodeAffinity, podAffinity and "
        "podAntiAffinity given replaces only that part of the stack's default (replicated workloads prefer "
        "one pod per node).",
    )
    tolerations: list[Toleration] = Field(default_factory=list, description="Taints the pods run on anyway.")
    priority_class_name: DnsSubdomain | None = Field(
        None,
        description="PriorityClass of the pods, e.g. `system-node-critical` for node agents; it must exist in "
        "the cluster, or the API server refuses the pods.",
    )
    service_account_annotations: dict[QualifiedName, str] = Field(
        default_factory=dict,
        description="Annotations of the component's ServiceAccount, e.g. an IAM role for IRSA "
        "(`eks.amazonaws.com/role-arn`) or Workload Identity.",
    )
    labels: dict[ExtraLabelKey, LabelValue] = Field(
        default_factory=dict,
        description="Extra labels of every object of the component and of its pods (e.g. `team`, cost "
        "allocation); never in selectors, so changing them never orphans pods.",
    )
    pod_annotations: dict[ExtraAnnotationKey, str] = Field(
        default_factory=dict, description="Extra annotations of the component's pods (e.g. for a service mesh).")
