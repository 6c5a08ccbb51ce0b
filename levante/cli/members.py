"""member-* commands: sharing workflows with other projects (authenticated servers)."""

from __future__ import annotations

from levante.cli.base import LIST, PLAIN, SHOW, Arg, CLIError, Record, Text, command, listing, seg

COLUMNS = [("resource_id", "Resource ID"), ("resource_type", "Resource Type"),
           ("project_id", "Resource Owner"), ("member_id", "Member ID"), ("status", "Status"),
           ("created_at", "Created at"), ("updated_at", "Updated at")]
HEADINGS = [c[1] for c in COLUMNS]


def _row(m: dict) -> tuple:
    return tuple(m.get(k) if m.get(k) is not None or k != "updated_at" else "<none>" for k, _ in COLUMNS)


def _url(resource_id: str, resource_type: str, member_id: str | None = None) -> str:
    url = "/%ss/%s/members" % (seg(resource_type), seg(resource_id))
    return url + ("/%s" % seg(member_id) if member_id else "")


def _own_member_id(ctx, args) -> str:
    """Without -m: the caller's own membership (a member project sees only its own)."""
    if args.member_id:
        return args.member_id
    members = ctx.client.get(_url(args.resource_id, args.resource_type))["members"]
    if len(members) != 1:
        raise CLIError("Say which member with -m/--member-id")
    return members[0]["member_id"]


RESOURCE = [Arg("resource_id", help="Resource ID to be shared."),
            Arg("resource_type", help="Resource type (workflow).")]


@command("member-create", "Share a resource with another project.", SHOW,
         RESOURCE + [Arg("member_id", help="Project ID to which the resource is shared to.")])
def member_create(ctx, args):
    m = ctx.client.post(_url(args.resource_id, args.resource_type), json_body={"member_id": args.member_id})
    return Record(HEADINGS, _row(m))


@command("member-list", "List the members of a resource.", LIST, RESOURCE)
def member_list(ctx, args):
    return listing(HEADINGS, _row, ctx.client.get(_url(args.resource_id, args.resource_type))["members"])


@command("member-get", "Show a resource member.", SHOW,
         RESOURCE + [Arg("-m", "--member-id", default="", help="Project ID (default: the caller's).")])
def member_get(ctx, args):
    return Record(HEADINGS, _row(ctx.client.get(_url(args.resource_id, args.resource_type,
                                                     _own_member_id(ctx, args)))))


@command("member-update", "Accept or reject a resource shared with your project.", SHOW,
         RESOURCE + [Arg("-m", "--member-id", default="", help="Project ID (default: the caller's)."),
                     Arg("-s", "--status", default="accepted", choices=["pending", "accepted", "rejected"],
                         help="The new status (default accepted).")])
def member_update(ctx, args):
    m = ctx.client.put(_url(args.resource_id, args.resource_type, _own_member_id(ctx, args)),
                       json_body={"status": args.status})
    return Record(HEADINGS, _row(m))


@command("member-delete", "Stop sharing a resource with a project.", PLAIN,
         RESOURCE + [Arg("member_id", help="Project ID to stop sharing with.")])
def member_delete(ctx, args):
    ctx.client.delete(_url(args.resource_id, args.resource_type, args.member_id))
    return Text("Request to delete %s member %s has been accepted.\n" % (args.resource_type, args.member_id))
