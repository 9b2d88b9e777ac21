"""The local stack's three-node cluster and the compose cluster (docker/docker-compose.yml) agree on every
broker setting that decides durability: replication, min ISR, unclean election, the transaction log,
the listeners' security protocols.

The two are written in two places (Python that renders server.properties, and the apache/kafka
image's KAFKA_* variables); this test is what keeps them one fact. The single-node local stack is
the same cluster with every replication factor and min ISR at 1.
"""

from __future__ import annotations

import pytest

from tests.support.compose import CLUSTER_FILE, KAFKA_SERVICES, environment, load_compose, server_properties
from txpipe_tools import local_stack

SETTINGS_THAT_MATTER = (
    "process.roles",
    "default.replication.factor",
    "min.insync.replicas",
    "unclean.leader.election.enable",
    "offsets.topic.replication.factor",
    "transaction.state.log.replication.factor",
    "transaction.state.log.min.isr",
    "share.coordinator.state.topic.replication.factor",
    "share.coordinator.state.topic.min.isr",
    "controller.listener.names",
    "inter.broker.listener.name",
)


def protocol_map(props: dict[str, str]) -> dict[str, str]:
    return dict(pair.split(":", 1) for pair in props["listener.security.protocol.map"].split(","))


def listener_names(value: str) -> set[str]:
    return {listener.split("://", 1)[0] for listener in value.split(",")}


@pytest.fixture(scope="module")
def clusters(tmp_path_factory):
    """(local stack properties, compose properties) per node, nodes in id order."""
    services = load_compose(CLUSTER_FILE)["services"]
    nodes = local_stack.kafka_nodes(3, 9092, 9093, tmp_path_factory.mktemp("kraft"))
    compose = sorted((server_properties(environment(services[name])) for name in KAFKA_SERVICES), key=lambda p: int(p["node.id"]))
    return [(local_stack.server_properties(node, nodes), theirs) for node, theirs in zip(nodes, compose, strict=True)]


@pytest.mark.parametrize("setting", SETTINGS_THAT_MATTER)
def test_both_clusters_set_it_alike(clusters, setting):
    for ours, theirs in clusters:
        assert setting in ours and setting in theirs, f"{setting} is not written in both (node {ours['node.id']})"
        assert ours[setting] == theirs[setting], (
            f"node {ours['node.id']}: {setting} is {ours[setting]} in the local stack "
            f"(txpipe_tools/local_stack/kraft.py) but {theirs[setting]} in {CLUSTER_FILE.name}"
        )


def test_the_listeners_speak_the_same_protocols(clusters):
    for ours, theirs in clusters:
        our_map, their_map = protocol_map(ours), protocol_map(theirs)
        shared = set(our_map) & set(their_map)
        assert shared >= {"PLAINTEXT", "CONTROLLER"}
        assert {name: our_map[name] for name in shared} == {name: their_map[name] for name in shared}
        for props, mapping in ((ours, our_map), (theirs, their_map)):
            assert listener_names(props["listeners"]) <= set(mapping), "a listener without a security protocol"


def test_both_have_three_voters_one_per_node(clusters):
    for ours, theirs in clusters:
        for props in (ours, theirs):
            voters = props["controller.quorum.voters"].split(",")
            assert sorted(v.split("@", 1)[0] for v in voters) == ["1", "2", "3"]
    assert sorted(ours["node.id"] for ours, _ in clusters) == ["1", "2", "3"]


def test_a_single_node_local_stack_replicates_once():
    (node,) = local_stack.kafka_nodes(1, 9092, 9093, local_stack.STACK_DIR / "unused")
    props = local_stack.server_properties(node, [node])
    for setting in SETTINGS_THAT_MATTER:
        if setting.endswith(("replication.factor", "min.isr", "min.insync.replicas")):
            assert props[setting] == "1", setting
    assert props["unclean.leader.election.enable"] == "false"
