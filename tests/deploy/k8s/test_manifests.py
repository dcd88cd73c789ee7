"""deploy/k8s keeps its rules, and each rule catches a broken copy.

The shipped kustomization is rendered offline (tests/deploy/k8s/render.py, as kustomize would)
and every object is validated against the strict Kubernetes 1.31 schemas (kubernetes-validate)
or, for KEDA's, the schema in schemas/. The broken copies are the deploy/k8s tree copied and
edited as text, the way a careless change would be made; the shipped files are never touched.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.deploy import compose_rules
from tests.deploy.k8s import render, rules, sync
from tests.deploy.k8s.render import Manifest

SHIPPED = render.render()


def by_name(objects: list[Manifest], kind: str, name: str) -> Manifest:
    (found,) = [m for m in objects if m["kind"] == kind and m["metadata"]["name"] == name]
    return found


def broken(tmp_path: Path, file: str, old: str, new: str) -> list[Manifest]:
    """The rendered objects of a copy of deploy/k8s with ``old`` replaced once in ``file``."""
    copy = tmp_path / "k8s"
    shutil.copytree(render.K8S, copy)
    text = (copy / file).read_text(encoding="utf-8")
    assert text.count(old) >= 1, f"{old!r} is not in {file} any more"
    (copy / file).write_text(text.replace(old, new, 1), encoding="utf-8")
    return render.render(copy)


@pytest.mark.parametrize("rule", sorted(rules.RULES))
def test_the_shipped_manifests_keep_the_rule(rule: str) -> None:
    assert rules.RULES[rule](SHIPPED) == []


def test_the_shipped_manifests_scale_as_stated() -> None:
    assert rules.autoscaling_problems(SHIPPED, sync.BOT_SLOTS) == []


def test_every_file_is_listed_in_the_kustomization() -> None:
    assert rules.listing_problems(render.K8S) == []


def test_every_object_is_validated_against_a_schema() -> None:
    kinds = {(m["apiVersion"], m["kind"]) for m in SHIPPED}
    assert ("keda.sh/v1alpha1", "ScaledObject") in kinds
    assert {"StatefulSet", "Deployment", "Job", "NetworkPolicy", "PodDisruptionBudget"} <= {
        kind for _, kind in kinds
    }
    assert all(m["metadata"].get("namespace") == "fok" for m in SHIPPED if m["kind"] != "Namespace")


def test_the_roles_of_the_compose_deployment_are_there() -> None:
    mongo = by_name(SHIPPED, "StatefulSet", "mongo")
    assert mongo["spec"]["replicas"] == 3
    assert by_name(SHIPPED, "StatefulSet", "redis")["spec"]["replicas"] == 6
    assert by_name(SHIPPED, "Deployment", "beat")["spec"]["replicas"] == 2
    assert by_name(SHIPPED, "Deployment", "bot")["spec"]["replicas"] == 3
    for job in ("mongo-init", "redis-cluster-init", "migrate"):
        assert by_name(SHIPPED, "Job", job)
    compose = compose_rules.services(compose_rules.load())
    for name, service in compose.items():
        if not name.startswith("worker-"):
            continue
        worker = by_name(SHIPPED, "Deployment", name)
        (container,) = worker["spec"]["template"]["spec"]["containers"]
        # The same queues and arguments as the compose service (its concurrency may be a ${VAR}).
        assert container["args"][:5] == service["command"][:5], name


def test_mongo_keys_and_users_come_from_secrets() -> None:
    mongo = by_name(SHIPPED, "StatefulSet", "mongo")["spec"]["template"]["spec"]
    (keyfile,) = [v for v in mongo["volumes"] if v["name"] == "keyfile"]
    assert keyfile["secret"]["secretName"] == "fok-mongo-keyfile"
    init = by_name(SHIPPED, "Job", "mongo-init")["spec"]["template"]["spec"]["containers"][0]
    refs = {
        e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in init["env"] if "valueFrom" in e
    }
    assert refs == {
        f"MONGO_{user}_PASSWORD": "fok-mongo-users"
        for user in ("ROOT", "APP", "EXPORTER", "BACKUP")
    }
    assert "/opt/fok/mongo/init-replica-set.js" in init["command"]


# --- broken copies: each rule refuses what it is for ------------------------------------------

BOT_READINESS = """        readinessProbe:
          httpGet:
            path: /ready
            port: http
"""


def test_a_removed_probe_is_caught(tmp_path: Path) -> None:
    objects = broken(tmp_path, "bot.yaml", BOT_READINESS, "")
    assert rules.probe_problems(objects) == [
        "Deployment/bot bot: no readinessProbe",
        "Deployment/bot: readinessProbe is not an HTTP GET of /ready",
    ]


def test_a_probe_on_the_wrong_path_is_caught(tmp_path: Path) -> None:
    objects = broken(tmp_path, "bot.yaml", "path: /ready", "path: /live")
    assert rules.probe_problems(objects) == [
        "Deployment/bot: readinessProbe is not an HTTP GET of /ready"
    ]


def test_a_database_service_of_type_load_balancer_is_caught(tmp_path: Path) -> None:
    objects = broken(tmp_path, "mongo.yaml", "  clusterIP: None\n", "  type: LoadBalancer\n")
    assert rules.exposure_problems(objects) == [
        "Service/mongo: LoadBalancer Service for ['mongo']",
        "Service/mongo: a store's Service must be ClusterIP",
    ]


def test_a_host_port_is_caught(tmp_path: Path) -> None:
    objects = broken(
        tmp_path,
        "redis-broker.yaml",
        "containerPort: 6379\n",
        "containerPort: 6379\n          hostPort: 6379\n",
    )
    assert rules.exposure_problems(objects) == ["StatefulSet/redis-broker redis: a hostPort"]


def test_a_secret_literal_is_caught(tmp_path: Path) -> None:
    literal = broken(
        tmp_path,
        "bot.yaml",
        """        - name: TELEGRAM_BOT_TOKEN
          valueFrom:
            secretKeyRef:
              name: fok-telegram
              key: TELEGRAM_BOT_TOKEN
""",
        """        - name: TELEGRAM_BOT_TOKEN
          value: "123456:not-a-real-token"
""",
    )
    assert rules.secret_problems(literal) == [
        "Deployment/bot: TELEGRAM_BOT_TOKEN is not from a secretKeyRef"
    ]


def test_a_password_in_a_url_is_caught(tmp_path: Path) -> None:
    objects = broken(
        tmp_path, "bot.yaml", "fok_bot:$(MONGO_APP_PASSWORD)@", "fok_bot:hunter2hunter2@"
    )
    assert rules.secret_problems(objects) == [
        "Deployment/bot: a URL carries a password not from a Secret"
    ]


def test_a_secret_object_in_the_manifests_is_caught(tmp_path: Path) -> None:
    objects = broken(
        tmp_path,
        "namespace.yaml",
        "apiVersion: v1\nkind: Namespace\n",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: fok-redis\nstringData:\n"
        "  REDIS_PASSWORD: throwaway-0123456789\n---\napiVersion: v1\nkind: Namespace\n",
    )
    assert rules.secret_problems(objects) == [
        "Secret/fok-redis: a Secret in the manifests (create it: docs/kubernetes.md)"
    ]


def test_a_secret_in_a_configmap_is_caught(tmp_path: Path) -> None:
    objects = broken(
        tmp_path,
        "files/settings.env",
        "MONGO_DATABASE=fok_bot\n",
        "MONGO_DATABASE=fok_bot\nREDIS_PASSWORD=x\n",
    )
    assert rules.secret_problems(objects) == [
        "ConfigMap/fok-settings: REDIS_PASSWORD looks like a secret"
    ]


def test_a_network_policy_opening_the_database_is_caught(tmp_path: Path) -> None:
    everyone = broken(
        tmp_path,
        "network-policies.yaml",
        """  ingress:
  - from:
    - podSelector:
        matchExpressions:
        - key: app.kubernetes.io/component
          operator: In
          values:
          - mongo
""",
        """  ingress:
  - ports:
    - port: 27017
  - from:
    - podSelector:
        matchExpressions:
        - key: app.kubernetes.io/component
          operator: In
          values:
          - mongo
""",
    )
    assert rules.network_problems(everyone) == [
        "NetworkPolicy/mongo (to mongo): a rule open to everyone"
    ]


def test_a_network_policy_letting_another_component_in_is_caught(tmp_path: Path) -> None:
    objects = broken(
        tmp_path,
        "network-policies.yaml",
        "          - mongo-init\n",
        "          - mongo-init\n          - haproxy\n",
    )
    assert rules.network_problems(objects) == [
        "NetworkPolicy/mongo (to mongo): lets in ['haproxy']"
    ]


def test_a_network_policy_letting_other_namespaces_in_is_caught(tmp_path: Path) -> None:
    objects = broken(
        tmp_path,
        "network-policies.yaml",
        "  - from:\n    - podSelector:\n        matchExpressions:\n        - key: app.kubernetes.io/component\n          operator: In\n          values:\n          - haproxy\n",
        "  - from:\n    - namespaceSelector: {}\n",
    )
    assert rules.network_problems(objects) == [
        "NetworkPolicy/bot (to bot): lets in ['namespaceSelector'] peers"
    ]


def test_a_missing_default_deny_is_caught(tmp_path: Path) -> None:
    objects = broken(
        tmp_path,
        "network-policies.yaml",
        "  podSelector: {}\n",
        "  podSelector:\n    matchLabels:\n      nothing: here\n",
    )
    assert rules.network_problems(objects) == [
        "no default-deny ingress NetworkPolicy (podSelector {}, no rules)"
    ]


def test_a_removed_limit_is_caught(tmp_path: Path) -> None:
    objects = broken(
        tmp_path, "beat.yaml", "          limits:\n            cpu: 250m\n", "          limits:\n"
    )
    assert rules.resource_problems(objects) == ["Deployment/beat beat: no cpu limit"]


def test_an_unpinned_image_is_caught(tmp_path: Path) -> None:
    objects = broken(
        tmp_path, "redis-broker.yaml", "image: redis:7.2.11-alpine", "image: redis:latest"
    )
    assert rules.image_problems(objects) == [
        "StatefulSet/redis-broker: image 'redis:latest' is not pinned to a version"
    ]


def test_a_field_the_schema_does_not_know_is_caught(tmp_path: Path) -> None:
    objects = broken(
        tmp_path,
        "bot.yaml",
        "  revisionHistoryLimit: 5\n",
        "  revisionHistoryLimit: 5\n  replica: 4\n",
    )
    (problem,) = rules.schema_problems(objects)
    assert problem.startswith("Deployment/bot: ")
    assert "'replica'" in problem


def test_a_wrong_type_is_caught(tmp_path: Path) -> None:
    objects = broken(tmp_path, "mongo.yaml", "  replicas: 3\n", "  replicas: three\n")
    (problem,) = rules.schema_problems(objects)
    assert problem.startswith("StatefulSet/mongo: spec.replicas: ")


def test_a_broken_keda_object_is_caught(tmp_path: Path) -> None:
    objects = broken(
        tmp_path,
        "workers-keda.yaml",
        "      listName: notifications\n",
        "      listname: notifications\n",
    )
    problems = rules.schema_problems(objects)
    assert problems
    assert all(p.startswith("ScaledObject/worker-notifications: ") for p in problems)
    assert any("'listName' is a required property" in p for p in problems)


def test_an_unknown_kind_is_caught(tmp_path: Path) -> None:
    objects = broken(tmp_path, "namespace.yaml", "kind: Namespace", "kind: Namespaces")
    assert rules.schema_problems(objects) == ["Namespaces/fok: no Kubernetes 1.31 schema"]


def test_a_removed_disruption_budget_is_caught(tmp_path: Path) -> None:
    objects = broken(tmp_path, "bot.yaml", "kind: PodDisruptionBudget", "kind: ConfigMap")
    assert "Deployment/bot: no PodDisruptionBudget" in rules.disruption_problems(objects)


def test_a_worker_scaled_on_another_queue_is_caught(tmp_path: Path) -> None:
    objects = broken(tmp_path, "workers-keda.yaml", "listName: reminders", "listName: reports")
    assert rules.autoscaling_problems(objects, sync.BOT_SLOTS) == [
        "ScaledObject/worker-reminders: scales on ['reports'], not its queues"
    ]


def test_more_bots_than_haproxy_slots_are_caught(tmp_path: Path) -> None:
    objects = broken(
        tmp_path, "bot.yaml", f"maxReplicas: {sync.BOT_SLOTS}", f"maxReplicas: {sync.BOT_SLOTS + 1}"
    )
    assert rules.autoscaling_problems(objects, sync.BOT_SLOTS) == [
        f"HorizontalPodAutoscaler/bot: maxReplicas above HAProxy's {sync.BOT_SLOTS} slots"
    ]


def test_an_unlisted_manifest_is_caught(tmp_path: Path) -> None:
    copy = tmp_path / "k8s"
    shutil.copytree(render.K8S, copy)
    (copy / "extra.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n", encoding="utf-8"
    )
    (copy / "files" / "init-cluster.sh").unlink()
    assert rules.listing_problems(copy) == [
        "extra.yaml is not listed in kustomization.yaml",
        "files/init-cluster.sh is listed but missing",
    ]


def test_the_render_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    copy = tmp_path / "k8s"
    shutil.copytree(render.K8S, copy)
    text = (copy / "kustomization.yaml").read_text(encoding="utf-8")
    (copy / "kustomization.yaml").write_text(
        text + "patches:\n  - path: p.yaml\n", encoding="utf-8"
    )
    with pytest.raises(render.RenderError, match="patches"):
        render.render(copy)
