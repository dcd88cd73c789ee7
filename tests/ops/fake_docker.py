"""A stand-in `docker` for the compose side of monitor-enterprise.sh, answering from the running
local cluster: `compose ps` lists the containers of docker-compose.enterprise.yml, `compose exec`
runs what the monitor asked for against the local process that plays that container (the bot's
probe script against a local bot instance, the Redis shell line with a redis-cli pointed at a
local node, replSetGetStatus on the local SecantusDB), and `logs` prints a few lines.

Every call is appended to FAKE_DOCKER_LOG (argv and whether the Mongo password came through the
environment) so a test can check what was asked, and how.
Configured by FAKE_DOCKER_CONFIG, a JSON file: {"ps": [...], "bots": [url, ...],
"redis": {"redis-1": port, ..., "redis-broker": port}, "mongo_url": url, "mongo_password": pw}.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bson import json_util
from pymongo import MongoClient

PASSWORD_VARIABLE = "FOK_MONITOR_MONGO_PASSWORD"


def _record(argv: list[str]) -> None:
    with Path(os.environ["FAKE_DOCKER_LOG"]).open("a", encoding="utf-8") as log:
        log.write(
            json.dumps({"argv": argv, "mongo_password_env": os.environ.get(PASSWORD_VARIABLE)})
            + "\n"
        )


def _compose_subcommand(argv: list[str]) -> list[str]:
    """`compose -p P --env-file F -f C SUB ...` -> [SUB, ...]."""
    rest = argv[1:]
    while rest and rest[0] in {"-p", "--env-file", "-f"}:
        rest = rest[2:]
    return rest


def _exec(config: dict[str, Any], args: list[str]) -> int:
    index = 1
    passed: list[str] = []
    while args and args[0].startswith("-"):
        flag = args.pop(0)
        if flag == "--index":
            index = int(args.pop(0))
        elif flag == "-e":
            passed.append(args.pop(0))
    service, command = args[0], args[1:]
    if service == "bot":
        # the probe script, against the local instance playing replica `index`
        url = config["bots"][index - 1]
        script = command[2].replace("http://127.0.0.1:8000", url)
        return subprocess.run([sys.executable, "-c", script], check=False).returncode
    if service.startswith("mongo-"):
        if (
            PASSWORD_VARIABLE not in passed
            or os.environ.get(PASSWORD_VARIABLE) != config["mongo_password"]
        ):
            print("MongoServerError: Authentication failed.", file=sys.stderr)
            return 1
        client: MongoClient[dict[str, Any]] = MongoClient(config["mongo_url"])
        status = client.admin.command("replSetGetStatus")
        print(json_util.dumps(status, json_options=json_util.RELAXED_JSON_OPTIONS))
        return 0
    if service in config["redis"]:
        # the monitor's own shell line, with redis-cli aimed at the local node
        with tempfile.TemporaryDirectory() as shim:
            cli = Path(shim) / "redis-cli"
            cli.write_text(
                f'#!/bin/sh\nexec /usr/bin/redis-cli -p {config["redis"][service]} "$@"\n'
            )
            cli.chmod(0o755)
            env = {**os.environ, "PATH": f"{shim}:{os.environ['PATH']}", "REDIS_PASSWORD": ""}
            return subprocess.run(command, env=env, check=False).returncode
    print(f"service {service!r} is not running", file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    _record(argv)
    config = json.loads(Path(os.environ["FAKE_DOCKER_CONFIG"]).read_text())
    if argv[:1] == ["logs"]:
        print(f"log line of {argv[-1]}")
        return 0
    if argv[:1] != ["compose"]:
        print(f"docker: unknown command: docker {argv[0] if argv else ''}", file=sys.stderr)
        return 125
    sub = _compose_subcommand(argv)
    if sub[:1] == ["ps"]:
        for container in config["ps"]:
            print(json.dumps(container))
        return 0
    if sub[:1] == ["exec"]:
        return _exec(config, sub[1:])
    if sub[:1] == ["logs"]:
        print("compose log line")
        return 0
    print(f"unknown compose command {sub[:1]}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
