"""Rules every docker-compose.enterprise.yml must keep, as functions returning the problems found.

The file is read as written (PyYAML resolves the anchors and merge keys, interpolation is left
alone), so a secret can be told from a ``${VAR}`` reference. Each rule returns human-readable
problems; an empty list means the file keeps the rule. tests/deploy/test_compose_rules.py runs
them on the shipped file and on broken copies.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.enterprise.yml"

# Ports of stores that must never be published, on any interface.
STORE_PORTS = {27017, 27018, 27019, 6379, 16379, 26379}
PUBLIC_PORTS = {80, 443}
# A published port on another interface must be bound to the management address variable.
MGMT_HOST_IP = re.compile(r"^\$\{MGMT_BIND_ADDR(:-[0-9.]+)?\}$")
SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|_AUTH|_KEY)$")
# ${VAR} or ${VAR:?message} / ${VAR?message}: a reference without a default value.
REFERENCE = re.compile(r"^\$\{[A-Z0-9_]+(:?\?[^}]*)?\}$")
URL_PASSWORD = re.compile(r"://[^/\s:@]*:([^@\s]+)@")
SECRET_FLAG = re.compile(r"^--?(requirepass|masterauth|password|pass|a|p)(=(?P<value>.*))?$")
PINNED_TAG = re.compile(r"^v?\d+(\.\d+)+(-[a-z0-9.]+)?$")
OWN_IMAGE = re.compile(r"^fok-bot:\$\{FOK_VERSION(:-\d+\.\d+\.\d+)?\}$")
PORT = re.compile(
    r"^(?:(?P<ip>\$\{[^}]+\}|\d+\.\d+\.\d+\.\d+|\[[0-9a-fA-F:]+\]):)?(?:(?P<published>\d+):)?"
    r"(?P<target>\d+)(?:/(tcp|udp))?$"
)


def load(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    return parse(path.read_text(encoding="utf-8"))


def parse(text: str) -> dict[str, Any]:
    document = yaml.safe_load(text)
    if not isinstance(document, dict) or not isinstance(document.get("services"), dict):
        raise ValueError("not a compose file: no services")
    return document


def services(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return doc["services"]


def jobs(doc: dict[str, Any]) -> set[str]:
    """One-shot services: restart "no", and every service that waits on one waits for its
    successful exit. On-demand tools (profile "tools") count too."""
    found = set()
    for name, service in services(doc).items():
        if "tools" in service.get("profiles", []):
            found.add(name)
            continue
        if service.get("restart") != "no":
            continue
        waits = [
            dependency["condition"]
            for other in services(doc).values()
            for dependency_name, dependency in _depends_on(other).items()
            if dependency_name == name
        ]
        if waits and all(condition == "service_completed_successfully" for condition in waits):
            found.add(name)
    return found


def _depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):  # the short form waits for nothing
        return {name: {"condition": "service_started"} for name in depends}
    return depends


def healthcheck_problems(doc: dict[str, Any]) -> list[str]:
    problems = []
    for name, service in services(doc).items():
        if name in jobs(doc):
            continue
        check = service.get("healthcheck")
        if not check or check.get("disable") or not check.get("test"):
            problems.append(f"{name}: no healthcheck")
        elif check["test"] in (["NONE"], "NONE"):
            problems.append(f"{name}: healthcheck disabled")
    return problems


def dependency_problems(doc: dict[str, Any]) -> list[str]:
    """Every wait is on health (or a job's success): never on a container merely started."""
    problems = []
    names = set(services(doc))
    job_names = jobs(doc)
    for name, service in services(doc).items():
        depends = service.get("depends_on")
        if isinstance(depends, list):
            problems.append(f"{name}: depends_on without conditions")
            continue
        for dependency, spec in (depends or {}).items():
            condition = spec.get("condition")
            if dependency not in names:
                problems.append(f"{name}: depends on unknown service {dependency}")
            elif dependency in job_names:
                if condition != "service_completed_successfully":
                    problems.append(f"{name}: waits for job {dependency} with {condition}")
            elif condition != "service_healthy":
                problems.append(f"{name}: waits for {dependency} with {condition}")
    return problems


def limit_problems(doc: dict[str, Any]) -> list[str]:
    problems = []
    for name, service in services(doc).items():
        limits = (service.get("deploy") or {}).get("resources", {}).get("limits") or {}
        for key in ("cpus", "memory"):
            if not limits.get(key):
                problems.append(f"{name}: no {key} limit")
    return problems


def logging_problems(doc: dict[str, Any]) -> list[str]:
    problems = []
    for name, service in services(doc).items():
        options = (service.get("logging") or {}).get("options") or {}
        if not options.get("max-size") or not options.get("max-file"):
            problems.append(f"{name}: no log rotation (logging.options max-size, max-file)")
    return problems


def _ports(service: dict[str, Any]) -> Iterator[tuple[str | None, int | None, int]]:
    for port in service.get("ports", []):
        if isinstance(port, dict):
            published = port.get("published")
            yield port.get("host_ip"), int(published) if published else None, int(port["target"])
            continue
        match = PORT.match(str(port))
        if not match:
            raise ValueError(f"cannot read the port {port!r}")
        published = match["published"]
        yield match["ip"], int(published) if published else None, int(match["target"])


def port_problems(doc: dict[str, Any]) -> list[str]:
    problems = []
    internal = {
        name
        for name, network in (doc.get("networks") or {}).items()
        if (network or {}).get("internal")
    }
    for name, service in services(doc).items():
        ports = list(_ports(service))
        for host_ip, published, target in ports:
            label = f"{name}: {host_ip or '*'}:{published or '-'}->{target}"
            if target in STORE_PORTS or published in STORE_PORTS:
                problems.append(f"{label} publishes a database/Redis/broker port")
            elif host_ip in (None, "", "0.0.0.0", "::", "[::]"):
                if published not in PUBLIC_PORTS or target != published:
                    problems.append(f"{label} is public but not 80 or 443")
            elif not MGMT_HOST_IP.match(host_ip):
                problems.append(f"{label} is bound to {host_ip}, not ${{MGMT_BIND_ADDR}}")
            if published is None:
                problems.append(f"{label} publishes on a random host port")
        networks = service.get("networks") or []
        if ports and set(networks) <= internal:
            problems.append(f"{name}: publishes ports but is only on internal networks")
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


def _environment(service: dict[str, Any]) -> dict[str, Any]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        pairs = (item.split("=", 1) if "=" in item else (item, None) for item in environment)
        return dict(pairs)
    return environment


def secret_problems(doc: dict[str, Any]) -> list[str]:
    """No secret literal: secret-named variables, URL passwords and password flags are ${VAR}
    references without a default, or files."""
    problems = []
    for name, service in services(doc).items():
        for key, value in _environment(service).items():
            secret = SECRET_NAME.search(key) and not key.endswith("_FILE")
            if secret and value is not None and not REFERENCE.match(str(value)):
                problems.append(f"{name}: {key} is not a ${{VAR}} reference")
        for text in _strings(service):
            for password in URL_PASSWORD.findall(text):
                if not REFERENCE.match(password):
                    problems.append(f"{name}: a URL carries a literal password")
        for key in ("command", "entrypoint"):
            words = service.get(key) or []
            words = words.split() if isinstance(words, str) else words
            for index, word in enumerate(words):
                flag = SECRET_FLAG.match(str(word))
                if not flag:
                    continue
                value = flag["value"]
                if value is None:
                    value = str(words[index + 1]) if index + 1 < len(words) else ""
                if not REFERENCE.match(value) and not value.startswith("/run/secrets/"):
                    problems.append(f"{name}: {key} passes a literal secret to {word}")
    for secret, spec in (doc.get("secrets") or {}).items():
        if set(spec) != {"file"}:
            problems.append(f"secret {secret}: only file secrets are allowed")
    return problems


def image_problems(doc: dict[str, Any]) -> list[str]:
    problems = []
    for name, service in services(doc).items():
        image = service.get("image")
        if not image:
            problems.append(f"{name}: no image")
            continue
        if OWN_IMAGE.match(image):
            continue
        repository, _, tag = image.rpartition(":")
        if "@sha256:" in image:
            continue
        if not repository or "/" in tag or not PINNED_TAG.match(tag):
            problems.append(f"{name}: image {image} is not pinned to a version")
    return problems


def scaling_problems(doc: dict[str, Any]) -> list[str]:
    problems = [
        f"{name}: container_name prevents scaling"
        for name, service in services(doc).items()
        if "container_name" in service
    ]
    bot = services(doc).get("bot") or {}
    if not (bot.get("deploy") or {}).get("replicas"):
        problems.append("bot: no deploy.replicas")
    return problems


RULES = {
    "healthcheck": healthcheck_problems,
    "depends_on": dependency_problems,
    "limits": limit_problems,
    "logging": logging_problems,
    "ports": port_problems,
    "secrets": secret_problems,
    "images": image_problems,
    "scaling": scaling_problems,
}


def all_problems(doc: dict[str, Any]) -> dict[str, list[str]]:
    return {rule: check(doc) for rule, check in RULES.items()}


def interpolated_names(doc: dict[str, Any]) -> set[str]:
    """Every variable the compose file interpolates: ${VAR}, ${VAR:-x}, ${VAR:?x} (comments aside)."""
    names: set[str] = set()
    for text in _strings(doc):
        names.update(re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)", text))
    return names


def passed_through_names(doc: dict[str, Any]) -> set[str]:
    """Environment keys without a value: Compose passes them from .env.prod when set there."""
    return {
        key
        for service in services(doc).values()
        for key, value in _environment(service).items()
        if value is None
    }


def environment_of(doc: dict[str, Any], service: str) -> dict[str, Any]:
    return _environment(services(doc)[service])
