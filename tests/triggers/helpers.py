"""Helpers for the trigger tests."""
from __future__ import annotations

import time


def bring_forward(server, name: str, seconds: float = 1.0) -> str:
    """Move a stored trigger's next time to ``seconds`` from now (a first time
    must be a minute ahead: this spares the tests the wait); returns it as shown."""
    import sqlalchemy as sa

    due = time.time() + seconds
    engine = sa.create_engine(server.db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE cron_triggers SET next_execution_time = :t, "
                                 "first_execution_time = :t WHERE name = :n"), {"t": due, "n": name})
    finally:
        engine.dispose()
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(due))
