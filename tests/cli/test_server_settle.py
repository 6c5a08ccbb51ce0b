"""What `levante server` does once built, before it serves (cli/server.py settle)."""
from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import gc, json
from levante.api.app import create_app
from levante.cli.server import build_runtime, settle
from levante.expr import yaql_eval
rt = build_runtime("sqlite:///" + {db!r})
create_app(rt)
before = len(gc.get_objects())
parser_before = yaql_eval._engine is not None
settle()
print(json.dumps({{"before": before, "after": len(gc.get_objects()), "frozen": gc.get_freeze_count(),
                   "parser_before": parser_before, "parser_after": yaql_eval._engine is not None}}))
"""


def test_settle_builds_the_parsers_and_takes_start_up_out_of_full_collections(tmp_path):
    out = subprocess.run([sys.executable, "-c", PROBE.format(db=str(tmp_path / "s.sqlite"))],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    got = json.loads(out.splitlines()[-1])
    # yaql's parser tables are built before the first request, not by it.
    assert not got["parser_before"] and got["parser_after"]
    # What start-up built is frozen: a full collection walks almost none of it.
    assert got["frozen"] > 50_000
    assert got["after"] < got["before"] // 20, got
