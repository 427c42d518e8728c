"""Where each node of a flow sits: its sequence, its gateway and branch, its order."""

from __future__ import annotations

from dataclasses import dataclass

from engine.definitions.flows import FlowDefinition, FlowNode


@dataclass(frozen=True)
class Place:
    """One node's position: the sequence it is in, and the gateway branch holding it."""

    node: FlowNode
    sequence: tuple[str, ...]
    index: int
    #: the gateway whose branch holds this sequence (None: the top level) and the branch
    gateway: str | None
    branch: int | None
    #: pre-order position in the document (earlier nodes have smaller numbers)
    order: int


class FlowTree:
    """An index over a flow's nodes, built once per flow version."""

    def __init__(self, flow: FlowDefinition):
        self.flow = flow
        self.places: dict[str, Place] = {}
        self._counter = 0
        self._index(flow.nodes, None, None)
        #: whether any node has a timeout (otherwise there are never timers to cancel)
        self.has_timers = any(p.node.timeout is not None for p in self.places.values())

    def _index(self, nodes: tuple[FlowNode, ...], gateway: str | None, branch: int | None) -> None:
        keys = tuple(n.key for n in nodes)
        for i, node in enumerate(nodes):
            self.places[node.key] = Place(node, keys, i, gateway, branch, self._counter)
            self._counter += 1
            for b, nested in enumerate(node.branches):
                self._index(nested.nodes, node.key, b)

    def node(self, key: str) -> FlowNode:
        return self.places[key].node

    def first(self) -> str | None:
        """The first node of the flow (None for a flow without nodes)."""
        return self.flow.nodes[0].key if self.flow.nodes else None

    def ancestors(self, key: str) -> list[tuple[str, int]]:
        """(gateway, branch) pairs holding ``key``, outermost first."""
        chain: list[tuple[str, int]] = []
        place = self.places[key]
        while place.gateway is not None and place.branch is not None:
            chain.append((place.gateway, place.branch))
            place = self.places[place.gateway]
        return list(reversed(chain))

    def before(self, earlier: str, later: str) -> bool:
        """Whether ``earlier`` comes before ``later`` in the document."""
        return self.places[earlier].order < self.places[later].order

    def on_path(self, earlier: str, later: str) -> bool:
        """Whether ``earlier`` may lie on the way to ``later``: no gateway holds the two
        in different branches (a node of a sibling branch is never on the way)."""
        theirs = dict(self.ancestors(later))
        return all(
            theirs.get(gateway, branch) == branch for gateway, branch in self.ancestors(earlier)
        )

    def shared_branch(self, one: str, other: str) -> list[tuple[str, int]]:
        """The (gateway, branch) chain holding both nodes, outermost first (empty: only the
        top level holds both)."""
        shared: list[tuple[str, int]] = []
        for mine, theirs in zip(self.ancestors(one), self.ancestors(other), strict=False):
            if mine != theirs:
                break
            shared.append(mine)
        return shared
