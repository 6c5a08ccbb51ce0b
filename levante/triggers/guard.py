"""Keep triggers from pointing at nothing: a workflow they start cannot be deleted."""
from __future__ import annotations

import sqlalchemy as sa

from levante.errors import BadRequest
from levante.store import triggers as store


def check_workflow_deletable(conn: sa.Connection, workflow_id: str, identifier: str,
                             namespace: str = "") -> None:
    """Raise Mistral's 400 if cron or event triggers start workflow ``workflow_id``.

    For DELETE /v2/workflows/{identifier} (and a workbook's workflows), called
    in the deleting transaction before the row goes.
    """
    cron, event = store.workflow_trigger_ids(conn, workflow_id)
    if cron:
        raise BadRequest("Can't delete workflow that has cron triggers associated. "
                         f"[workflow_identifier={identifier}, namespace={namespace}], "
                         f"[cron_trigger_id(s)={', '.join(cron)}]")
    if event:
        raise BadRequest("Can't delete workflow that has event triggers associated. "
                         f"[workflow_identifier={identifier}], "
                         f"[event_trigger_id(s)={', '.join(event)}]")
