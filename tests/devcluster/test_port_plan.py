"""Port planning for `devcluster up`: free by default, fixed where asked, never twice."""

from __future__ import annotations

import pytest

from devcluster.topology import (
    COMPONENTS,
    PortPlanError,
    plan_ports,
    port_environment_variable,
    port_names,
    port_overrides_from_environment,
)


def test_every_port_gets_a_distinct_free_port() -> None:
    plan = plan_ports(COMPONENTS, {})
    assert list(plan) == port_names(COMPONENTS)
    assert len(set(plan.values())) == len(plan)


def test_overrides_win_and_the_rest_avoid_them() -> None:
    plan = plan_ports(COMPONENTS, {"haproxy-stats": 18404, "mongo": 17017})
    assert plan["haproxy-stats"] == 18404
    assert plan["mongo"] == 17017
    others = [port for name, port in plan.items() if name not in {"haproxy-stats", "mongo"}]
    assert not {18404, 17017} & set(others)


def test_base_port_numbers_in_topology_order_skipping_overrides() -> None:
    plan = plan_ports(COMPONENTS, {"redis-cluster-1": 20001}, base_port=20000)
    names = port_names(COMPONENTS)
    assert plan[names[0]] == 20000
    assert plan["redis-cluster-1"] == 20001
    assert plan[names[2]] == 20002
    assert sorted(plan.values()) == list(range(20000, 20000 + len(names)))


def test_unknown_port_name_is_refused_with_the_known_ones() -> None:
    with pytest.raises(PortPlanError, match=r"unknown port name.*haproxy-https"):
        plan_ports(COMPONENTS, {"haproxy-stat": 1234})


def test_the_same_port_twice_is_refused() -> None:
    with pytest.raises(PortPlanError, match="used twice"):
        plan_ports(COMPONENTS, {"mongo": 30000, "broker-redis": 30000})


def test_environment_overrides() -> None:
    assert port_environment_variable("haproxy-https") == "DEVCLUSTER_PORT_HAPROXY_HTTPS"
    environment = {"DEVCLUSTER_PORT_HAPROXY_HTTPS": "8443", "UNRELATED": "1"}
    assert port_overrides_from_environment(COMPONENTS, environment) == {"haproxy-https": 8443}
    with pytest.raises(PortPlanError, match="must be a port number"):
        port_overrides_from_environment(COMPONENTS, {"DEVCLUSTER_PORT_MONGO": "abc"})
