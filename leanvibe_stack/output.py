"""Ordering, the stdout stream, the per-object directory tree, and writing trees all or nothing."""

from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from leanvibe_stack import yamlio
from leanvibe_stack.errors import OutputError
from leanvibe_stack.manifest import Manifest

# helm's install order (kind_sorter.go): what others depend on comes first.
INSTALL_ORDER = [
    "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget",
    "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass", "PersistentVolume",
    "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList",
    "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList",
    "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
    "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
]
_RANK = {kind: rank for rank, kind in enumerate(INSTALL_ORDER)}
_RENDERED_FILE = re.compile(r"^(\d{3}-[a-z]+-[a-z0-9.-]+\.yaml|kustomization\.yaml)$")


def install_order(manifests: Iterable[Manifest]) -> list[Manifest]:
    """Sort by kind in install order (unknown kinds last); ties by name, then namespace."""
    return sorted(manifests, key=lambda m: (_RANK.get(m.kind, len(_RANK)), m.kind, m.name, m.namespace))


def document(manifest: Manifest) -> str:
    """One YAML document headed by the template it came from."""
    return f"# Source: {manifest.source}\n{yamlio.dump(manifest.obj)}"


def stream(manifests: Iterable[Manifest]) -> str:
    """The multi-document stream `render` prints: install order, `---` before each document."""
    return "".join(f"---\n{document(m)}" for m in install_order(manifests))


def file_name(index: int, manifest: Manifest) -> str:
    """Numbered so `kubectl apply -f DIR` (alphabetical) applies in install order."""
    return f"{index:03d}-{manifest.kind.lower()}-{manifest.name}.yaml"


def tree(manifests: Iterable[Manifest]) -> dict[str, str]:
    """File name -> content of a rendered directory, `kustomization.yaml` included."""
    files = {file_name(i, m): document(m) for i, m in enumerate(install_order(manifests), start=1)}
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": list(files),
    }
    files["kustomization.yaml"] = yamlio.dump(kustomization)
    return files


def is_rendered_tree(directory: Path) -> bool:
    """Whether a directory holds only what `render --output-dir` writes (so replacing it loses nothing)."""
    return directory.is_dir() and all(p.is_file() and _RENDERED_FILE.match(p.name) for p in directory.iterdir())


def write_trees(trees: dict[Path, dict[str, str]], remove: Iterable[Path] = ()) -> None:
    """Replace each target with exactly its files, and delete `remove`, all or nothing.

    Every tree is written to a staging directory beside its target first; only when all are
    complete are they swapped in, with SIGTERM/SIGINT held off, so a failed or interrupted
    render leaves every previous tree byte-identical and no stray files.  Only an empty
    directory or a previous render is replaced: anything else in it would be lost.
    """
    targets = {target.absolute(): files for target, files in trees.items()}
    for target in targets:
        _check_replaceable(target)
    staged: list[tuple[Path, Path]] = []
    try:
        with _interrupts_raise():
            for target, files in targets.items():
                staged.append((_stage(files, target), target))
        with _interrupts_deferred():
            for staging, target in staged:
                _swap(staging, target)
            for orphan in remove:
                shutil.rmtree(orphan, ignore_errors=True)
    except OSError as error:
        raise OutputError(f"cannot write {error.filename or 'output'}: {error.strerror}") from error
    finally:
        for staging, _ in staged:
            shutil.rmtree(staging, ignore_errors=True)


def write_tree(files: dict[str, str], target: Path) -> None:
    """Replace one target with exactly `files` (see write_trees)."""
    write_trees({target: files})


def _check_replaceable(target: Path) -> None:
    if target.exists() and not is_rendered_tree(target):
        foreign = sorted(p.name for p in target.iterdir() if not _RENDERED_FILE.match(p.name))[:3] \
            if target.is_dir() else []
        detail = f" ({', '.join(foreign)}{', ...' if len(foreign) == 3 else ''})" if foreign else ""
        raise OutputError(f"{target} holds files leanvibe-stack did not write{detail}; "
                          "render into a new directory or one a previous render wrote")


def _stage(files: dict[str, str], target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for name, content in files.items():
            (staging / name).write_text(content, encoding="utf-8")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def _swap(staging: Path, target: Path) -> None:
    if not target.exists():
        os.rename(staging, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    os.rmdir(old)
    os.rename(target, old)
    os.rename(staging, target)
    shutil.rmtree(old, ignore_errors=True)


class Interrupted(OutputError):
    """SIGTERM or SIGINT arrived while writing; the previous output was left as it was."""

    exit_code = 128 + signal.SIGTERM


@contextmanager
def _interrupts_raise() -> Iterator[None]:
    """Turn SIGTERM into an exception while staging, so the staging directories get cleaned up."""
    def interrupted(signum: int, frame: object) -> None:
        raise Interrupted(f"interrupted by {signal.Signals(signum).name}; previous output left untouched")

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold SIGTERM/SIGINT during the renames: a tree is never half swapped."""
    held = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


def orphan_trees(root: Path, targets: Iterable[Path]) -> list[Path]:
    """Rendered trees under `root` that belong to no current profile (a renamed or removed one)."""
    current = {t.absolute() for t in targets}
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.absolute() not in current and is_rendered_tree(p))
