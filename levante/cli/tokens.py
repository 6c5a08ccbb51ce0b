"""token-* commands: Levante's own API tokens (server mode ``token``, admins only)."""

from __future__ import annotations

import re

from levante.cli.base import LIST, PLAIN, Arg, CLIError, Text, command, listing, seg

HEADINGS = ["ID", "Name", "Project ID", "Admin", "Created at", "Expires at"]

UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+)\s*([smhdw]?)")


def parse_duration(text: str) -> int:
    """Seconds in ``3600``, ``90m``, ``12h``, ``30d``, ``2w`` or ``1h30m``."""
    value = text.strip().lower()
    parts = _PART.findall(value)
    if not value or "".join(n + u for n, u in parts) != re.sub(r"\s+", "", value) or \
            any(u == "" for _, u in parts[:-1]):
        raise CLIError("Invalid duration %r: use seconds or a number with a unit s, m, h, d or w "
                       "(3600, 90m, 12h, 30d, 1h30m)." % text)
    return sum(int(n) * UNITS[u] for n, u in parts)


def _row(t: dict) -> tuple:
    return (t.get("id"), t.get("name"), t.get("project_id"), t.get("is_admin"), t.get("created_at"),
            t.get("expires_at") or "never")


@command("token-create", "Create an API token; prints it alone on the last line (shown only once).",
         PLAIN, [Arg("name", help="Token name (who or what uses it)."),
                 Arg("--project", default=None,
                     help="Project the token acts for (default: the caller's)."),
                 Arg("--admin", action="store_true", default=False,
                     help="Give the token the admin role."),
                 Arg("--expires-in", default=None, metavar="DURATION",
                     help="Make the token expire after DURATION (3600, 90m, 12h, 30d, 1h30m); "
                          "default: valid until revoked.")])
def token_create(ctx, args):
    body = {"name": args.name, "is_admin": args.admin}
    if args.project:
        body["project_id"] = args.project
    if args.expires_in is not None:
        body["expires_in"] = parse_duration(args.expires_in)
    t = ctx.client.post("/auth/tokens", json_body=body)
    until = ", expires at %s UTC" % t["expires_at"] if t.get("expires_at") else ""
    return Text("Created token %s (%s) for project %s%s%s.\n%s\n" % (
        t["name"], t["id"], t["project_id"], ", admin" if t["is_admin"] else "", until, t["token"]))


@command("token-list", "List API tokens (never their secrets).", LIST)
def token_list(ctx, args):
    return listing(HEADINGS, _row, ctx.client.get("/auth/tokens")["tokens"])


@command("token-revoke", "Revoke API tokens by id or name.", PLAIN,
         [Arg("token", nargs="+", help="Id or name of the token(s).")])
def token_revoke(ctx, args):
    out = []
    for t in args.token:
        ctx.client.delete("/auth/tokens/%s" % seg(t))
        out.append("Request to revoke token %s has been accepted.\n" % t)
    return Text("".join(out))
