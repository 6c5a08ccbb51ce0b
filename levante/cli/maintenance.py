"""maintenance-get / maintenance-set: Mistral's maintenance mode (the mistral
CLI has no command for it; the API is ``GET/PUT /maintenance``)."""

from __future__ import annotations

from levante.cli.base import SHOW, Arg, Record, command


@command("maintenance-get", "Show the maintenance status: RUNNING, PAUSING or PAUSED.", SHOW)
def maintenance_get(ctx, args):
    return Record(["Status"], (ctx.client.get("/maintenance").get("status"),))


@command("maintenance-set", "Pause every running execution and refuse changes (PAUSED), "
                            "or end maintenance and resume them (RUNNING).", SHOW, args=[
    Arg("status", choices=["PAUSED", "RUNNING"], help="The new status")])
def maintenance_set(ctx, args):
    body = ctx.client.put("/maintenance", json_body={"status": args.status})
    return Record(["Status"], (body.get("status"),))
