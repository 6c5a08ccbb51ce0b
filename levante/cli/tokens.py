"""token-* commands: Levante's own API tokens (server mode ``token``, admins only)."""

from __future__ import annotations

from levante.cli.base import LIST, PLAIN, Arg, Text, command, listing, seg

HEADINGS = ["ID", "Name", "Project ID", "Admin", "Created at"]


def _row(t: dict) -> tuple:
    return (t.get("id"), t.get("name"), t.get("project_id"), t.get("is_admin"), t.get("created_at"))


@command("token-create", "Create an API token; prints it alone on the last line (shown only once).",
         PLAIN, [Arg("name", help="Token name (who or what uses it)."),
                 Arg("--project", default=None,
                     help="Project the token acts for (default: the caller's)."),
                 Arg("--admin", action="store_true", default=False,
                     help="Give the token the admin role.")])
def token_create(ctx, args):
    body = {"name": args.name, "is_admin": args.admin}
    if args.project:
        body["project_id"] = args.project
    t = ctx.client.post("/auth/tokens", json_body=body)
    return Text("Created token %s (%s) for project %s%s.\n%s\n" % (
        t["name"], t["id"], t["project_id"], ", admin" if t["is_admin"] else "", t["token"]))


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
