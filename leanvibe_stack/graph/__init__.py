"""Who scrapes, pushes to, queries and alerts whom: a graph derived from the rendered objects alone.

Nothing here is drawn by hand.  Every edge comes from a config file a pod actually loads (found the
way `validate` finds it: `--config.file` through volumeMounts to a ConfigMap key) or from Grafana's
mounted datasource files, and every address is resolved the way cluster DNS would resolve it:

* Prometheus `scrape_configs`: a static target names a Service (→ the workloads its selector picks;
  `localhost` is Prometheus itself); `kubernetes_sd_configs` are run over the rendered objects with
  the job's `keep`/`drop` relabeling, so a job that discovers rendered pods or Services points at
  their workloads.  A job whose targets are outside the render (or cannot be decided offline: node
  or ingress roles, EC2, relabeling on runtime labels such as pod names) becomes a node named
  after the job.  A job whose relabeling sends every target to one address (blackbox_exporter's
  probe jobs) scrapes that exporter, which `probes` a node of the job's targets.
* Prometheus `alerting.alertmanagers` and the Loki ruler's `alertmanager_url` give `alerts` edges;
  Fluent Bit's Loki outputs give `pushes logs`; the exporters of the OpenTelemetry Collector (and of
  Jaeger, which has the collector's config) give `pushes traces`; Grafana datasources give `queries`; Alertmanager's
  `receivers` give `notifies` edges to one node per receiver, labelled with its integrations.
* Thanos Query's endpoint config file gives `queries` edges (StoreAPI) to the sidecars' Prometheus workloads
  and the store gateways its SRV names resolve to, or to the remote endpoints; the sidecars, store gateways
  and compactors give `stores blocks` edges to a node of the bucket their workload names.

`build` (`build.py`) returns a `Graph` (`model.py`), resolving addresses through `discovery.py`;
`to_mermaid` and `to_dot` (`formats.py`) print it.  Order is deterministic: nodes in the
order edges first mention them (Prometheus, Alertmanager, Loki, Fluent Bit, Grafana configs in that
order), then workloads no edge mentions, in render order.
"""

from leanvibe_stack.graph.build import build
from leanvibe_stack.graph.formats import to_dot, to_mermaid
from leanvibe_stack.graph.model import (
    ALERTS,
    BLOCKS,
    NOTIFIES,
    PROBES,
    PUSHES,
    QUERIES,
    SCRAPES,
    SERVES,
    TRACES,
    VERBS,
    Edge,
    Graph,
    Node,
)

__all__ = ["ALERTS", "BLOCKS", "NOTIFIES", "PROBES", "PUSHES", "QUERIES", "SCRAPES", "SERVES", "TRACES", "VERBS",
           "Edge", "Graph", "Node", "build", "to_dot", "to_mermaid"]
