"""Security: the restricted Pod Security Standard, no secrets or placeholders in plain sight, pinned images.

Every violated control of every pod is its own finding.  A pod is exempt from the restricted
profile only under a documented exception: its workload carries the
`leanvibe.ai/pod-security-exception` annotation and its namespace (in the rendered set) does
not enforce `restricted`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from leanvibe_stack import yamlio
from leanvibe_stack.credentials import article, looks_like, sets_a_credential
from leanvibe_stack.validate.bundle import Bundle, Pod, program_of, strings
from leanvibe_stack.validate.findings import Finding, ObjectRef, error

EXCEPTION = "leanvibe.ai/pod-security-exception"
ALLOWED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                   "projected", "secret"}
PLACEHOLDER = "${"
# Namespaced sysctls the restricted (and baseline) standard allows.
SAFE_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                "net.ipv4.tcp_keepalive_probes"}
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


def check(bundle: Bundle) -> list[Finding]:
    findings: list[Finding] = []
    for pod in bundle.pods:
        if not _exempt(bundle, pod):
            findings.extend(_restricted(pod))
        findings.extend(_images(pod))
        findings.extend(_plain_values(pod))
    from_env = _env_expanded(bundle)
    for config_map in bundle.of_kind("ConfigMap"):
        ref = ObjectRef.of(config_map)
        for key, value in (config_map.obj.get("data") or {}).items():
            text = str(value)
            expanded: Expanded
            if (config_map.namespace, config_map.name, key) in from_env:
                expanded = _everything
            elif PLACEHOLDER in text:
                expanded = _expanded_in_file(str(key), text)
            else:
                expanded = _nothing  # no `${` to expand: spare reading what the file is (a dashboard's JSON)
            findings.extend(_scan(ref, f"data.{key}", text, expanded))
    return findings


def _exempt(bundle: Bundle, pod: Pod) -> bool:
    annotations = (pod.owner.obj.get("metadata") or {}).get("annotations") or {}
    namespace = bundle.get("Namespace", "", pod.namespace)
    labels = ((namespace.obj.get("metadata") or {}).get("labels") or {}) if namespace else {}
    level = labels.get("pod-security.kubernetes.io/enforce", "")
    return EXCEPTION in annotations and namespace is not None and level in ("baseline", "privileged")


def _violation(pod: Pod, path: str, control: str, detail: str) -> Finding:
    return error("security.pss", pod.ref, path, f"restricted Pod Security Standard, {control}: {detail}")


def _restricted(pod: Pod) -> Iterator[Finding]:
    spec, path = pod.spec, pod.path
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            yield _violation(pod, f"{path}.{field}", "host namespaces", f"{field} must be unset or false")
    for i, volume in enumerate(spec.get("volumes") or []):
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUMES:
            yield _violation(pod, f"{path}.volumes[{i}]", "volume types",
                             f"{', '.join(sorted(kinds - ALLOWED_VOLUMES))} volumes are not allowed")
    pod_context = spec.get("securityContext") or {}
    for control in _context_controls(pod_context, f"{path}.securityContext"):
        yield _violation(pod, *control)
    for i, sysctl in enumerate(pod_context.get("sysctls") or []):
        if isinstance(sysctl, dict) and sysctl.get("name") not in SAFE_SYSCTLS:
            yield _violation(pod, f"{path}.securityContext.sysctls[{i}]", "sysctls",
                             f"{sysctl.get('name')} is not one of the safe, namespaced sysctls")
    for key, value in pod.annotations.items():
        if key.startswith(APPARMOR_ANNOTATION) and value != "runtime/default" and not value.startswith("localhost/"):
            yield _violation(pod, f"metadata.annotations[{key}]", "AppArmor", f"profile {value!r} is not allowed")
    for cpath, container in pod.containers():
        context = container.get("securityContext") or {}
        yield from (_violation(pod, *c) for c in _container_controls(pod_context, context, f"{cpath}.securityContext"))
        for j, port in enumerate(container.get("ports") or []):
            if port.get("hostPort"):
                yield _violation(pod, f"{cpath}.ports[{j}].hostPort", "host ports", "hostPort must be unset")


def _context_controls(context: dict[str, Any], path: str) -> Iterator[tuple[str, str, str]]:
    if (context.get("appArmorProfile") or {}).get("type") == "Unconfined":
        yield f"{path}.appArmorProfile", "AppArmor", "an Unconfined profile is not allowed"
    if context.get("runAsUser") == 0:
        yield f"{path}.runAsUser", "running as non-root user", "runAsUser must not be 0"
    if (context.get("seLinuxOptions") or {}).get("type") not in (None, "", "container_t", "container_init_t",
                                                               "container_kvm_t"):
        yield f"{path}.seLinuxOptions.type", "SELinux", "custom SELinux types are not allowed"


def _container_controls(pod_ctx: dict[str, Any], ctx: dict[str, Any], path: str) -> Iterator[tuple[str, str, str]]:
    yield from _context_controls(ctx, path)
    if ctx.get("privileged"):
        yield f"{path}.privileged", "privileged containers", "privileged must be false"
    if ctx.get("allowPrivilegeEscalation") is not False:
        yield f"{path}.allowPrivilegeEscalation", "privilege escalation", "set allowPrivilegeEscalation: false"
    capabilities = ctx.get("capabilities") or {}
    if "ALL" not in (capabilities.get("drop") or []):
        yield f"{path}.capabilities.drop", "capabilities", "drop ALL capabilities"
    if set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}:
        yield f"{path}.capabilities.add", "capabilities", "only NET_BIND_SERVICE may be added"
    if (ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))) is not True:
        yield f"{path}.runAsNonRoot", "running as non-root", "set runAsNonRoot: true (pod or container)"
    seccomp = (ctx.get("seccompProfile") or pod_ctx.get("seccompProfile") or {}).get("type")
    if seccomp not in ("RuntimeDefault", "Localhost"):
        yield f"{path}.seccompProfile", "seccomp", "set seccompProfile.type: RuntimeDefault (pod or container)"
    if ctx.get("procMount", "Default") != "Default":
        yield f"{path}.procMount", "/proc mount type", "procMount must be Default"


def _images(pod: Pod) -> Iterator[Finding]:
    for path, container in pod.containers():
        image = str(container.get("image", ""))
        if "@sha256:" in image:
            continue
        name = image.rsplit("/", 1)[-1]
        tag = name.split(":", 1)[1] if ":" in name else ""
        if tag in ("", "latest"):
            yield error("image.unpinned", pod.ref, f"{path}.image",
                        f"image {image!r} is not pinned: use a version tag or a digest")


def _plain_values(pod: Pod) -> Iterator[Finding]:
    for path, container in pod.containers():
        shell = _runs_shell(container)
        for key in ("command", "args"):
            for i, arg in enumerate(container.get(key) or []):
                yield from _scan(pod.ref, f"{path}.{key}[{i}]", str(arg), _everything if shell else _nothing)
        for i, env in enumerate(container.get("env") or []):
            if "value" in env:
                yield from _scan(pod.ref, f"{path}.env[{i}].value", f"{env.get('name')}: {env['value']}")


def _scan(ref: ObjectRef, path: str, text: str, expanded: Expanded | None = None) -> Iterator[Finding]:
    line = _unexpanded(text, expanded or _nothing) if PLACEHOLDER in text else None
    if line is not None:
        yield error("security.placeholder", ref, path,
                    f"`${{...}}` placeholder is never expanded here and would ship literally: {line[:80]!r}; "
                    "reference a Secret instead")
    what = looks_like(text) or ("password or key value" if sets_a_credential(text) else None)
    if what:
        yield error("security.credential", ref, path,
                    f"looks like {article(what)}: credentials belong in a Secret referenced from the profile")


# --- which `${...}` something expands ----------------------------------------------------------------------------

# (what is inside a `${...}`, the keys leading to the value holding it) -> whether what reads the value expands it.
Expanded = Callable[[str, tuple[str | int, ...]], bool]
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}?")
SHELLS = {"sh", "bash", "ash", "dash", "zsh", "ksh"}
# Prometheus relabelling writes a regex capture (`${1}`, `${name}`) into these (Go's Regexp.Expand).
RELABEL_TEMPLATES = {"replacement", "target_label"}
GRAFANA_BUILTIN = "__"  # Grafana's global variables all start with two underscores ($__interval, ${__from}, ...)


# Programs that replace `${VAR}` in their config file with the environment: Fluent Bit and the OpenTelemetry
# Collector (Jaeger v2 is one) always; Loki with -config.expand-env=true.  Grafana does it in every file of its
# provisioning directory (which is why it reads `$${` as an escaped `${`).
ALWAYS_EXPANDS_ENV = ("fluent-bit", "opentelemetry-collector-contrib", "jaeger")
EXPAND_ENV_FLAGS = ("-config.expand-env", "-config.expand-env=true", "--config.expand-env", "--config.expand-env=true")
GRAFANA_PROVISIONING = "/etc/grafana/provisioning/"


def _env_expanded(bundle: Bundle) -> set[tuple[str, str, str]]:
    """(namespace, ConfigMap, key) of every config file a program loads with `${VAR}` filled from its env."""
    found = set()
    for config in bundle.configs:
        args = {str(arg) for arg in [*(config.container.get("command") or []), *(config.container.get("args") or [])]}
        if config.file.source is not None and (config.program in ALWAYS_EXPANDS_ENV or args & set(EXPAND_ENV_FLAGS)):
            found.add((config.pod.namespace, config.file.source_name, config.file.key))
    for pod in bundle.pods:
        for _, container in pod.containers():
            if program_of(container) == "grafana":
                found |= {(pod.namespace, mounted.source_name, mounted.key)
                          for mounted in bundle.mounted_files(pod, container)
                          if mounted.path.startswith(GRAFANA_PROVISIONING) and mounted.source_kind == "ConfigMap"}
    return found


def _nothing(name: str, keys: tuple[str | int, ...]) -> bool:
    return False


def _everything(name: str, keys: tuple[str | int, ...]) -> bool:
    return True


def _unexpanded(text: str, expanded: Expanded) -> str | None:
    """The first line holding a `${...}` that nothing expands, or None."""
    for keys, value in _values(text, expanded):
        for match in _PLACEHOLDER.finditer(value):
            if not expanded(match.group(1), keys):
                return next(line for line in value.splitlines() if match.group(0) in line).strip()
    return None


def _values(text: str, expanded: Expanded) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """The strings of a parsed YAML/JSON document with their keys (where a key decides), or the text itself."""
    if expanded is _relabelling:
        try:
            yield from strings(yamlio.load(text))
            return
        except yamlio.YAMLError:
            pass
    yield (), text


def _relabelling(name: str, keys: tuple[str | int, ...]) -> bool:
    return bool(keys) and keys[-1] in RELABEL_TEMPLATES and re.fullmatch(r"\w+", name) is not None


def _expanded_in_file(key: str, text: str) -> Expanded:
    """What expands `${...}` in a ConfigMap file: a shell runs a script; Grafana fills in a dashboard's own
    variables and its `__` globals; Prometheus fills relabelling captures.  Anything else ships literally."""
    if key.endswith((".sh", ".bash")) or text.startswith("#!"):
        return _everything
    if key.endswith(".json"):
        variables = _dashboard_variables(text)
        if variables is not None:
            return lambda name, keys: _variable_name(name) in variables or name.startswith(GRAFANA_BUILTIN)
    if key.endswith((".yml", ".yaml")) and ("relabel_configs" in text or "relabelings" in text):
        return _relabelling
    return _nothing


def _dashboard_variables(text: str) -> set[str] | None:
    """The template variables of a Grafana dashboard, or None when the text is not a dashboard."""
    try:
        model = json.loads(text)
    except ValueError:
        return None
    if not isinstance(model, dict) or not ("panels" in model or "templating" in model):
        return None
    templating = model.get("templating")
    items = templating.get("list") if isinstance(templating, dict) else None
    return {str(v.get("name")) for v in items or [] if isinstance(v, dict) and v.get("name")}


def _variable_name(text: str) -> str:
    """`var` of Grafana's `${var}`, `${var:format}` and `${var.field}`."""
    return re.split(r"[:.]", text, maxsplit=1)[0]


def _runs_shell(container: dict[str, Any]) -> bool:
    """Whether the container's command is a shell given a script (`sh -c '...'`): the shell expands `${...}`."""
    words = [str(w) for w in [*(container.get("command") or []), *(container.get("args") or [])]]
    return bool(words) and words[0].rsplit("/", 1)[-1] in SHELLS and any(
        w.startswith("-") and "c" in w for w in words[1:3])
