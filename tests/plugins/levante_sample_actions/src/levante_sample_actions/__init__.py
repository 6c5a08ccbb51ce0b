"""Sample actions, written against mistral-lib only (nothing from Levante)."""
from mistral_lib import actions


class ConcatAction(actions.Action):
    """Joins ``left`` and ``right`` with ``sep``; ``upper`` upper-cases the result."""

    def __init__(self, left, right, sep=" ", upper=False):
        super().__init__()
        self.left = left
        self.right = right
        self.sep = sep
        self.upper = upper

    def run(self, context):
        text = f"{self.left}{self.sep}{self.right}"
        return text.upper() if self.upper else text


class AsyncJobAction(actions.Action):
    """Starts a job that finishes later: a client reports its result with
    PUT /v2/action_executions/{id} (the id is context.execution.action_execution_id)."""

    def __init__(self, job="job"):
        super().__init__()
        self.job = job

    def run(self, context):
        # A real plug-in would hand context.execution.callback_url to a worker here.
        return None

    def is_sync(self):
        return False


class IdsAction(actions.Action):
    """Returns the ids of the execution context the action runs in."""

    def run(self, context):
        ex = context.execution
        return {
            "workflow_execution_id": ex.workflow_execution_id,
            "task_execution_id": ex.task_execution_id,
            "action_execution_id": ex.action_execution_id,
            "workflow_name": ex.workflow_name,
            "callback_url": ex.callback_url,
        }
