"""The properties the Kubernetes manifests must keep, as functions returning the problems found
(an empty list: the rule holds). The same properties as the compose rules (tests/deploy/
compose_rules.py: probes, limits, no store exposed, no secret literal, pinned images), plus what
only Kubernetes has: schemas, NetworkPolicies, PodDisruptionBudgets, autoscalers, and every file
listed in the kustomization. tests/deploy/k8s/test_manifests.py runs them on the shipped render
and on broken copies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate

from tests.deploy.k8s import render
from tests.deploy.k8s.render import Manifest

# The Kubernetes version the manifests are written for and validated against (strict schemas).
KUBERNETES_VERSION = "1.31"
KEDA_SCHEMA = Path(__file__).resolve().parent / "schemas" / "keda-v1alpha1.json"
COMPONENT = "app.kubernetes.io/component"
WORKLOADS = {"Deployment", "StatefulSet"}
POD_OWNERS = {"Deployment", "StatefulSet", "Job"}
# Which components may open a connection to each store (and to the bots); anything else that a
# NetworkPolicy lets in is a problem.
ALLOWED_CLIENTS = {
    "mongo": {"mongo", "mongo-init", "migrate", "bot", "worker"},
    "redis-cluster": {"redis-cluster", "redis-cluster-init", "bot", "worker"},
    "redis-broker": {"bot", "worker", "beat"},
    "bot": {"haproxy"},
}
STORES = {"mongo", "redis-cluster", "redis-broker"}
# KEDA's operator, in its own namespace, reads the broker's queue lengths.
KEDA_PEER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda"}},
    "podSelector": {"matchLabels": {"app": "keda-operator"}},
}
EDGE = "haproxy"
SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|_AUTH|_KEY)$")
# A URL's password may only be a $(VAR) that Kubernetes fills from a secretKeyRef variable.
URL_PASSWORD = re.compile(r"://[^/\s:@]*:([^@\s]+)@")
VAR_REFERENCE = re.compile(r"^\$\(([A-Z0-9_]+)\)$")
SECRET_FLAG = re.compile(r"^--?(requirepass|masterauth|password|pass|a|p)(=(?P<value>.*))?$")
PINNED_TAG = re.compile(r"^v?\d+(\.\d+)+(-[a-z0-9.]+)?$")
OWN_IMAGE = re.compile(r"^fok-bot:\d+\.\d+\.\d+$")


def name_of(manifest: Manifest) -> str:
    return f"{manifest['kind']}/{manifest.get('metadata', {}).get('name', '?')}"


def pod_spec(manifest: Manifest) -> dict[str, Any] | None:
    if manifest["kind"] not in POD_OWNERS:
        return None
    spec: dict[str, Any] = manifest["spec"]["template"]["spec"]
    return spec


def pod_labels(manifest: Manifest) -> dict[str, str]:
    labels: dict[str, str] = manifest["spec"]["template"]["metadata"].get("labels", {})
    return labels


def containers(manifest: Manifest) -> Iterator[dict[str, Any]]:
    spec = pod_spec(manifest)
    if spec is not None:
        yield from spec.get("initContainers", [])
        yield from spec.get("containers", [])


def pods(objects: list[Manifest]) -> Iterator[tuple[Manifest, dict[str, str]]]:
    for manifest in objects:
        if manifest["kind"] in POD_OWNERS:
            yield manifest, pod_labels(manifest)


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels, matchExpressions) selects these labels."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


@cache
def _keda_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(KEDA_SCHEMA.read_text(encoding="utf-8"))
    return schema


def schema_problems(objects: list[Manifest]) -> list[str]:
    """Kubernetes objects against the strict schemas of KUBERNETES_VERSION (kubernetes-validate,
    offline); KEDA's against the schema committed beside this module. An unknown kind fails."""
    problems = []
    for manifest in objects:
        if manifest.get("apiVersion", "").startswith("keda.sh/"):
            schema = _keda_schema()
            kind = manifest.get("kind", "")
            if kind not in schema["$defs"]:
                problems.append(f"{name_of(manifest)}: no schema for keda.sh kind {kind}")
                continue
            validator = jsonschema.Draft202012Validator({**schema, "$ref": f"#/$defs/{kind}"})
            for error in validator.iter_errors(manifest):
                path = ".".join(str(p) for p in error.absolute_path)
                problems.append(f"{name_of(manifest)}: {path}: {error.message}")
            continue
        problem = _kubernetes_problem(json.dumps(manifest, sort_keys=True))
        if problem:
            problems.append(f"{name_of(manifest)}: {problem}")
    return problems


@cache
def _kubernetes_problem(manifest_json: str) -> str | None:
    """One object against the strict schemas; remembered by content, since each validation
    loads the 1.3 MB definitions afresh and a broken copy differs from the shipped render in
    one object only."""
    try:
        kubernetes_validate.validate(json.loads(manifest_json), KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return f"{'.'.join(str(p) for p in error.path)}: {error.message}"
    except kubernetes_validate.SchemaNotFoundError:
        return f"no Kubernetes {KUBERNETES_VERSION} schema"
    return None


def probe_problems(objects: list[Manifest]) -> list[str]:
    """Every long-running container has liveness and readiness probes; the bots' are HTTP on
    /live and /ready (a job's pods run to completion and have none)."""
    problems = []
    for manifest in objects:
        if manifest["kind"] not in WORKLOADS:
            continue
        for container in pod_spec(manifest)["containers"]:  # type: ignore[index]
            label = f"{name_of(manifest)} {container['name']}"
            for probe in ("livenessProbe", "readinessProbe"):
                if not container.get(probe):
                    problems.append(f"{label}: no {probe}")
        if pod_labels(manifest).get(COMPONENT) == "bot":
            (bot,) = pod_spec(manifest)["containers"]  # type: ignore[index]
            for probe, path in (("livenessProbe", "/live"), ("readinessProbe", "/ready")):
                if (bot.get(probe) or {}).get("httpGet", {}).get("path") != path:
                    problems.append(f"{name_of(manifest)}: {probe} is not an HTTP GET of {path}")
    return problems


def resource_problems(objects: list[Manifest]) -> list[str]:
    problems = []
    for manifest in objects:
        for container in containers(manifest):
            spec = container.get("resources") or {}
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if not (spec.get(kind) or {}).get(resource):
                        problems.append(
                            f"{name_of(manifest)} {container['name']}: no {resource} {kind[:-1]}"
                        )
    return problems


def exposure_problems(objects: list[Manifest]) -> list[str]:
    """Only HAProxy is reachable from outside the cluster: no other Service of type LoadBalancer
    or NodePort, no external IPs, no Ingress, no host network or host ports anywhere."""
    problems = []
    labels_by_component = {labels.get(COMPONENT): labels for _, labels in pods(objects)}
    for manifest in objects:
        kind = manifest["kind"]
        if kind == "Ingress":
            problems.append(f"{name_of(manifest)}: an Ingress (only the HAProxy Service is public)")
        if kind == "Service":
            spec = manifest["spec"]
            selected = {
                component
                for component, labels in labels_by_component.items()
                if spec.get("selector") and selects({"matchLabels": spec["selector"]}, labels)
            }
            public = spec.get("type") in ("LoadBalancer", "NodePort") or spec.get("externalIPs")
            if public and selected != {EDGE}:
                problems.append(
                    f"{name_of(manifest)}: {spec.get('type')} Service for {sorted(selected)}"
                )
            if selected & STORES and spec.get("type", "ClusterIP") != "ClusterIP":
                problems.append(f"{name_of(manifest)}: a store's Service must be ClusterIP")
        spec = pod_spec(manifest)
        if spec is None:
            continue
        if spec.get("hostNetwork") or spec.get("hostPID"):
            problems.append(f"{name_of(manifest)}: uses the host's network or PIDs")
        for container in containers(manifest):
            for port in container.get("ports", []):
                if port.get("hostPort"):
                    problems.append(f"{name_of(manifest)} {container['name']}: a hostPort")
    return problems


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def secret_problems(objects: list[Manifest]) -> list[str]:
    """No Secret object and no secret literal: secret-named variables come from secretKeyRef, a
    URL's password is a $(VAR) of such a variable, password flags take no literal, and no
    ConfigMap carries a secret-named key."""
    problems = []
    for manifest in objects:
        label = name_of(manifest)
        if manifest["kind"] == "Secret":
            problems.append(f"{label}: a Secret in the manifests (create it: docs/kubernetes.md)")
        if manifest["kind"] == "ConfigMap":
            for key in manifest.get("data", {}):
                if SECRET_NAME.search(key):
                    problems.append(f"{label}: {key} looks like a secret")
        for container in containers(manifest):
            from_secrets = {
                e["name"]
                for e in container.get("env", [])
                if "secretKeyRef" in (e.get("valueFrom") or {})
            }
            for entry in container.get("env", []):
                if SECRET_NAME.search(entry["name"]) and "valueFrom" not in entry:
                    problems.append(f"{label}: {entry['name']} is not from a secretKeyRef")
            for text in _strings(container):
                for password in URL_PASSWORD.findall(text):
                    reference = VAR_REFERENCE.match(password)
                    if not reference or reference[1] not in from_secrets:
                        problems.append(f"{label}: a URL carries a password not from a Secret")
            words = [*container.get("command", []), *container.get("args", [])]
            for index, word in enumerate(words):
                flag = SECRET_FLAG.match(str(word))
                if not flag:
                    continue
                value = flag["value"]
                if value is None:
                    value = str(words[index + 1]) if index + 1 < len(words) else ""
                if not VAR_REFERENCE.match(value):
                    problems.append(f"{label}: passes a literal secret to {word}")
    return problems


def image_problems(objects: list[Manifest]) -> list[str]:
    problems = []
    for manifest in objects:
        for container in containers(manifest):
            image = container.get("image", "")
            if OWN_IMAGE.match(image) or "@sha256:" in image:
                continue
            repository, _, tag = image.rpartition(":")
            if not repository or "/" in tag or not PINNED_TAG.match(tag):
                problems.append(f"{name_of(manifest)}: image {image!r} is not pinned to a version")
    return problems


def _peer_problems(
    policy: Manifest, component: str, peer: dict[str, Any], objects: list[Manifest]
) -> list[str]:
    allowed = ALLOWED_CLIENTS[component]
    label = f"{name_of(policy)} (to {component})"
    if component == "redis-broker" and peer == KEDA_PEER:
        return []
    if set(peer) != {"podSelector"}:
        return [f"{label}: lets in {sorted(set(peer) - {'podSelector'})} peers"]
    admitted = {
        labels.get(COMPONENT, "?")
        for _, labels in pods(objects)
        if selects(peer["podSelector"], labels)
    }
    if not peer["podSelector"]:
        admitted.add("every pod of the namespace")
    if admitted - allowed:
        return [f"{label}: lets in {sorted(admitted - allowed)}"]
    return []


def network_problems(objects: list[Manifest]) -> list[str]:
    """Ingress is denied by default; what reaches a store or a bot is only what ALLOWED_CLIENTS
    names: every rule of every policy selecting such pods names its peers, by pod labels."""
    policies = [m for m in objects if m["kind"] == "NetworkPolicy"]
    problems = []
    default_deny = [
        p
        for p in policies
        if p["spec"].get("podSelector") == {}
        and "Ingress" in p["spec"].get("policyTypes", [])
        and not p["spec"].get("ingress")
    ]
    if not default_deny:
        problems.append("no default-deny ingress NetworkPolicy (podSelector {}, no rules)")
    guarded = {
        labels[COMPONENT]: labels
        for _, labels in pods(objects)
        if labels.get(COMPONENT) in ALLOWED_CLIENTS
    }
    for component, labels in sorted(guarded.items()):
        covering = [p for p in policies if selects(p["spec"].get("podSelector"), labels)]
        if not any(p["spec"].get("ingress") for p in covering):
            problems.append(f"{component}: no NetworkPolicy lets its clients in")
        for policy in covering:
            for rule in policy["spec"].get("ingress") or []:
                peers = rule.get("from")
                if not peers:
                    problems.append(f"{name_of(policy)} (to {component}): a rule open to everyone")
                    continue
                for peer in peers:
                    problems.extend(_peer_problems(policy, component, peer, objects))
    return problems


def disruption_problems(objects: list[Manifest]) -> list[str]:
    """Every workload with more than one replica has a PodDisruptionBudget over its pods."""
    budgets = [m["spec"]["selector"] for m in objects if m["kind"] == "PodDisruptionBudget"]
    return [
        f"{name_of(m)}: no PodDisruptionBudget"
        for m in objects
        if m["kind"] in WORKLOADS
        and m["spec"].get("replicas", 1) > 1
        and not any(selects(selector, pod_labels(m)) for selector in budgets)
    ]


def _queues(worker: Manifest) -> set[str]:
    (container,) = pod_spec(worker)["containers"]  # type: ignore[index]
    args = container["args"]
    return set(args[args.index("-Q") + 1].split(","))


def autoscaling_problems(objects: list[Manifest], bot_slots: int) -> list[str]:
    """The bots scale on CPU (an HPA, at most as many pods as HAProxy has slots); each worker
    Deployment on its queue's length (a KEDA ScaledObject with a Redis list trigger)."""
    problems = []
    bot_hpas = [
        m
        for m in objects
        if m["kind"] == "HorizontalPodAutoscaler" and m["spec"]["scaleTargetRef"]["name"] == "bot"
    ]
    if len(bot_hpas) != 1:
        problems.append(f"{len(bot_hpas)} HPAs for the bot Deployment, not one")
    for hpa in bot_hpas:
        resources = {
            m["resource"]["name"] for m in hpa["spec"].get("metrics", []) if m["type"] == "Resource"
        }
        if "cpu" not in resources:
            problems.append(f"{name_of(hpa)}: does not scale on CPU")
        if hpa["spec"]["maxReplicas"] > bot_slots:
            problems.append(f"{name_of(hpa)}: maxReplicas above HAProxy's {bot_slots} slots")
    scaled = {
        m["spec"]["scaleTargetRef"]["name"]: m for m in objects if m["kind"] == "ScaledObject"
    }
    for worker in objects:
        if worker["kind"] != "Deployment" or pod_labels(worker).get(COMPONENT) != "worker":
            continue
        name = worker["metadata"]["name"]
        scaler = scaled.get(name)
        if scaler is None:
            problems.append(f"{name_of(worker)}: no ScaledObject")
            continue
        lists = {
            t["metadata"].get("listName")
            for t in scaler["spec"]["triggers"]
            if t["type"] == "redis"
        }
        if not lists or not lists <= _queues(worker):
            problems.append(
                f"{name_of(scaler)}: scales on {sorted(map(str, lists))}, not its queues"
            )
    return problems


def listing_problems(root: Path) -> list[str]:
    """Every manifest and every file under files/ is listed in kustomization.yaml (an unlisted
    one would silently not be applied), and every listed file exists."""
    try:
        listed = render.listed_files(root)
    except render.RenderError as error:
        return [str(error)]
    present = {
        path.resolve()
        for path in root.rglob("*")
        if path.is_file() and path.name != render.KUSTOMIZATION
    }
    problems = [
        f"{p.relative_to(root.resolve())} is not listed in kustomization.yaml"
        for p in sorted(present - listed)
    ]
    problems += [
        f"{p.relative_to(root.resolve())} is listed but missing" for p in sorted(listed - present)
    ]
    return problems


Rule = Callable[[list[Manifest]], list[str]]
RULES: dict[str, Rule] = {
    "schema": schema_problems,
    "probes": probe_problems,
    "resources": resource_problems,
    "exposure": exposure_problems,
    "secrets": secret_problems,
    "images": image_problems,
    "network": network_problems,
    "disruption": disruption_problems,
}
