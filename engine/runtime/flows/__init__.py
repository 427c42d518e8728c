"""Flow instances interpreted from flow definitions: pure state machines, no SQL.

:class:`FlowRun` takes an instance's state and live tasks, applies one command
(start, approve, reject, send back, withdraw, transfer, add signer, a timer...) and
collects what must be written: task changes, timeline entries, events, timers, the
record's status. The store writes them; the service decides who may act.
"""

from engine.runtime.flows.machine import FlowRun, RunContext
from engine.runtime.flows.refusals import FlowRefusal
from engine.runtime.flows.resolve import Assignment, Directory
from engine.runtime.flows.simulate import SimulatedNode, simulate
from engine.runtime.flows.state import (
    STATE_FORMAT_VERSION,
    InstanceState,
    Task,
    Timer,
)
from engine.runtime.flows.tree import FlowTree

__all__ = [
    "STATE_FORMAT_VERSION",
    "Assignment",
    "Directory",
    "FlowRefusal",
    "FlowRun",
    "FlowTree",
    "InstanceState",
    "RunContext",
    "SimulatedNode",
    "Task",
    "Timer",
    "simulate",
]
