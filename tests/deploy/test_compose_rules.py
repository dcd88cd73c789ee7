"""docker-compose.enterprise.yml keeps its rules, and each rule catches a broken copy.

The copies are edited as text, the way a careless change would be made, and then parsed; the
shipped file is never touched.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy import compose_rules as rules

SHIPPED_TEXT = rules.COMPOSE_FILE.read_text(encoding="utf-8")


def broken(old: str, new: str, count: int = 1) -> dict:
    assert SHIPPED_TEXT.count(old) >= count, f"{old!r} is not in the compose file any more"
    return rules.parse(SHIPPED_TEXT.replace(old, new, count))


@pytest.mark.parametrize("rule", sorted(rules.RULES))
def test_the_shipped_file_keeps_the_rule(rule: str) -> None:
    assert rules.RULES[rule](rules.load()) == []


def test_the_roles_it_must_have_are_there() -> None:
    services = rules.services(rules.load())
    expected = {
        "haproxy",
        "bot",
        *(f"mongo-{n}" for n in (1, 2, 3)),
        *(f"redis-{n}" for n in range(1, 7)),
        "redis-broker",
        *(f"worker-{queue}" for queue in ("notifications", "reminders", "reports", "backups")),
        "beat",
        "prometheus",
        "alertmanager",
        "grafana",
        "loki",
        "alloy",
        "node-exporter",
        "redis-exporter",
        "mongodb-exporter",
        "cadvisor",
    }
    assert expected <= set(services)
    assert services["bot"]["deploy"]["replicas"] == "${BOT_REPLICAS:-3}"
    assert services["beat"]["deploy"]["replicas"] == 2
    assert rules.jobs(rules.load()) == {"mongo-init", "redis-cluster-init", "migrate", "cli"}


def test_each_worker_takes_its_queue() -> None:
    services = rules.services(rules.load())
    for queue in ("notifications", "reminders", "reports", "backups"):
        command = services[f"worker-{queue}"]["command"]
        assert command[0] == "worker"
        assert queue in command[command.index("-Q") + 1].split(",")


def test_stores_live_on_the_internal_network_only() -> None:
    doc = rules.load()
    assert doc["networks"]["internal"]["internal"] is True
    for name in (
        "mongo-1",
        "mongo-2",
        "mongo-3",
        "redis-broker",
        *(f"redis-{n}" for n in range(1, 7)),
    ):
        assert set(rules.services(doc)[name]["networks"]) == {"internal"}, name


def test_removing_a_healthcheck_is_caught() -> None:
    doc = broken(
        """    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:3100/ready"]
      interval: 15s
      timeout: 5s
      retries: 4
      start_period: 30s
""",
        "",
    )
    assert rules.healthcheck_problems(doc) == ["loki: no healthcheck"]


def test_disabling_a_healthcheck_is_caught() -> None:
    doc = rules.load()
    rules.services(doc)["grafana"]["healthcheck"] = {"disable": True}
    assert rules.healthcheck_problems(doc) == ["grafana: no healthcheck"]


def test_waiting_for_a_started_container_is_caught() -> None:
    doc = broken(
        """    depends_on:
      bot:
        condition: service_healthy""",
        """    depends_on:
      bot:
        condition: service_started""",
    )
    assert rules.dependency_problems(doc) == ["haproxy: waits for bot with service_started"]
    doc = broken(
        """    depends_on:
      bot:
        condition: service_healthy""",
        """    depends_on:
      - bot""",
    )
    assert rules.dependency_problems(doc) == ["haproxy: depends_on without conditions"]


def test_publishing_the_mongodb_port_is_caught() -> None:
    doc = broken(
        """  entrypoint: ["/bin/sh", "/opt/fok/mongo/mongod-entrypoint.sh"]""",
        """  ports:
    - "${MGMT_BIND_ADDR:-127.0.0.1}:27017:27017"
  entrypoint: ["/bin/sh", "/opt/fok/mongo/mongod-entrypoint.sh"]""",
    )
    problems = rules.port_problems(doc)
    assert any("publishes a database/Redis/broker port" in p for p in problems), problems
    assert any("only on internal networks" in p for p in problems), problems


@pytest.mark.parametrize(
    ("port", "message"),
    [
        ('"9090:9090"', "is public but not 80 or 443"),
        ('"0.0.0.0:3000:3000"', "is public but not 80 or 443"),
        ('"10.1.2.3:3000:3000"', "not ${MGMT_BIND_ADDR}"),
        ('"6379:6379"', "publishes a database/Redis/broker port"),
    ],
)
def test_publishing_anything_else_publicly_is_caught(port: str, message: str) -> None:
    doc = broken('      - "${MGMT_BIND_ADDR:-127.0.0.1}:9090:9090"', f"      - {port}")
    problems = rules.port_problems(doc)
    assert len(problems) == 1
    assert message in problems[0]


def test_a_literal_password_is_caught() -> None:
    doc = broken(
        "GF_SECURITY_ADMIN_PASSWORD: ${GRAFANA_ADMIN_PASSWORD:?set GRAFANA_ADMIN_PASSWORD in .env.prod}",
        "GF_SECURITY_ADMIN_PASSWORD: admin123",
    )
    assert rules.secret_problems(doc) == [
        "grafana: GF_SECURITY_ADMIN_PASSWORD is not a ${VAR} reference"
    ]


def test_a_default_for_a_secret_is_caught() -> None:
    doc = broken(
        "STATS_PASSWORD: ${STATS_PASSWORD:?set STATS_PASSWORD in .env.prod}",
        "STATS_PASSWORD: ${STATS_PASSWORD:-changeme}",
    )
    assert rules.secret_problems(doc) == ["haproxy: STATS_PASSWORD is not a ${VAR} reference"]


def test_a_password_inside_a_url_is_caught() -> None:
    doc = broken(
        "MONGODB_URI: mongodb://fok_exporter:${MONGO_EXPORTER_PASSWORD:?set MONGO_EXPORTER_PASSWORD in .env.prod}@",
        "MONGODB_URI: mongodb://fok_exporter:hunter2@",
    )
    assert rules.secret_problems(doc) == ["mongodb-exporter: a URL carries a literal password"]


def test_a_password_on_a_command_line_is_caught() -> None:
    doc = broken(
        'command: ["--collect-all", "--compatible-mode", "--web.listen-address=:9216"]',
        'command: ["--collect-all", "--password", "hunter2"]',
    )
    assert rules.secret_problems(doc) == [
        "mongodb-exporter: command passes a literal secret to --password"
    ]


def test_an_unpinned_image_is_caught() -> None:
    for image in ("grafana/loki:latest", "grafana/loki", "grafana/loki:3"):
        doc = broken("image: grafana/loki:3.4.2", f"image: {image}")
        assert rules.image_problems(doc) == [f"loki: image {image} is not pinned to a version"]


def test_missing_limits_or_log_rotation_are_caught() -> None:
    doc = broken(
        """          cpus: "0.5"
          memory: 512m

  loki:""",
        """          cpus: "0.5"

  loki:""",
    )
    assert rules.limit_problems(doc) == ["grafana: no memory limit"]
    doc = rules.load()
    del rules.services(doc)["alloy"]["logging"]
    assert rules.logging_problems(doc) == [
        "alloy: no log rotation (logging.options max-size, max-file)"
    ]


def test_a_fixed_container_name_is_caught() -> None:
    doc = broken("  bot:\n    <<: *app\n", "  bot:\n    <<: *app\n    container_name: fok-bot\n")
    assert rules.scaling_problems(doc) == ["bot: container_name prevents scaling"]


# --- docker-compose itself ------------------------------------------------------------------


def compose_config(compose_file: Path, env_file: Path) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("docker-compose")
    assert executable, "docker-compose is missing: run scripts/install.sh"
    return subprocess.run(
        [
            executable,
            "-p",
            "fok",
            "--env-file",
            str(env_file),
            "-f",
            str(compose_file),
            "config",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=compose_file.parent,
    )


def test_docker_compose_accepts_the_file_with_a_complete_environment(
    complete_env_file: Path,
) -> None:
    result = compose_config(rules.COMPOSE_FILE, complete_env_file)
    assert result.returncode == 0, result.stderr


def test_docker_compose_refuses_to_start_without_a_secret(
    complete_env_file: Path, tmp_path: Path
) -> None:
    lines = complete_env_file.read_text().splitlines()
    env_file = tmp_path / "incomplete.env"
    env_file.write_text(
        "\n".join(line for line in lines if not line.startswith("MONGO_ROOT_PASSWORD="))
    )
    result = compose_config(rules.COMPOSE_FILE, env_file)
    assert result.returncode != 0
    assert "set MONGO_ROOT_PASSWORD in .env.prod" in result.stderr


def test_docker_compose_refuses_a_broken_copy(complete_env_file: Path, tmp_path: Path) -> None:
    copy = tmp_path / "docker-compose.enterprise.yml"
    copy.write_text(
        SHIPPED_TEXT.replace(
            "      redis-broker:\n        condition: service_healthy\n",
            "      redis-brokr:\n        condition: service_healthy\n",
            1,
        )
    )
    result = compose_config(copy, complete_env_file)
    assert result.returncode != 0
    assert "redis-brokr" in result.stderr
