"""Render deploy/k8s/kustomization.yaml offline, as ``kubectl kustomize`` would (kubectl is not
installed here): the listed resources, the ConfigMap generators and the namespace.

Only what the kustomization uses is implemented; anything else in it is refused, so the render
can never silently differ from kustomize's. Name hashes are off in the kustomization
(``generatorOptions.disableNameSuffixHash``), so no reference needs rewriting.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy" / "k8s"
KUSTOMIZATION = "kustomization.yaml"
KNOWN_KEYS = {
    "apiVersion",
    "kind",
    "namespace",
    "resources",
    "generatorOptions",
    "configMapGenerator",
}
# Kinds that live outside namespaces: the namespace transformer leaves them alone.
CLUSTER_SCOPED = {"Namespace"}

Manifest = dict[str, Any]


class RenderError(ValueError):
    pass


def kustomization(root: Path = K8S) -> dict[str, Any]:
    document = yaml.safe_load((root / KUSTOMIZATION).read_text(encoding="utf-8"))
    if not isinstance(document, dict) or document.get("kind") != "Kustomization":
        raise RenderError(f"{root / KUSTOMIZATION} is not a Kustomization")
    unknown = set(document) - KNOWN_KEYS
    if unknown:
        raise RenderError(f"the offline render does not implement {sorted(unknown)}")
    if (document.get("generatorOptions") or {}).get("disableNameSuffixHash") is not True:
        raise RenderError("generatorOptions.disableNameSuffixHash must be true (fixed names)")
    return document


def _env_file(path: Path) -> dict[str, str]:
    data = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, separator, value = line.partition("=")
        if not separator or not key:
            raise RenderError(f"{path}:{number}: not KEY=VALUE")
        data[key] = value
    return data


def _inside(root: Path, name: str) -> Path:
    path = (root / name).resolve()
    if root.resolve() not in path.parents:
        raise RenderError(f"{name} is outside the kustomization (kustomize refuses it)")
    if not path.is_file():
        raise RenderError(f"{name} is listed but missing")
    return path


def _generated(root: Path, generator: dict[str, Any]) -> Manifest:
    unknown = set(generator) - {"name", "envs", "files"}
    if unknown:
        raise RenderError(f"configMapGenerator {generator.get('name')}: {sorted(unknown)}")
    data: dict[str, str] = {}
    for name in generator.get("envs", []):
        data.update(_env_file(_inside(root, name)))
    for entry in generator.get("files", []):
        key, _, name = entry.rpartition("=")
        path = _inside(root, name)
        data[key or path.name] = path.read_text(encoding="utf-8")
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": generator["name"]},
        "data": data,
    }


def resource_documents(root: Path, name: str) -> list[Manifest]:
    path = _inside(root, name)
    documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    for document in documents:
        if not isinstance(document, dict) or "kind" not in document:
            raise RenderError(f"{name}: a document that is not a Kubernetes object")
    return documents


def render(root: Path = K8S) -> list[Manifest]:
    spec = kustomization(root)
    objects: list[Manifest] = []
    for name in spec.get("resources", []):
        objects.extend(resource_documents(root, name))
    objects.extend(_generated(root, g) for g in spec.get("configMapGenerator", []))
    namespace = spec.get("namespace")
    rendered = []
    for original in objects:
        manifest = copy.deepcopy(original)
        if namespace and manifest["kind"] not in CLUSTER_SCOPED:
            manifest.setdefault("metadata", {})["namespace"] = namespace
        rendered.append(manifest)
    return rendered


def listed_files(root: Path = K8S) -> set[Path]:
    """Every file the kustomization names: resources and generator inputs."""
    spec = kustomization(root)
    names = list(spec.get("resources", []))
    for generator in spec.get("configMapGenerator", []):
        names += generator.get("envs", [])
        names += [entry.rpartition("=")[2] for entry in generator.get("files", [])]
    return {(root / name).resolve() for name in names}
