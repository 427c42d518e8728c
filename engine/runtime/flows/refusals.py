"""Why a flow command is refused: a code and its parameters (the service words them)."""

from __future__ import annotations

from typing import Any


class FlowRefusal(Exception):
    """A command that is not allowed in the instance's or task's current state.

    ``code`` names the case (``task_handled``, ``not_running``, ``comment_required``...);
    ``params`` fill the message the service shows in the actor's language.
    """

    def __init__(self, code: str, **params: Any):
        super().__init__(f"{code}: {params}")
        self.code = code
        self.params = params
