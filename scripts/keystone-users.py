"""Create the projects, users and roles the keystone-mode tests use (idempotent).

Run by scripts/test-services.sh with Keystone's own venv python, against the
Keystone it started: ``keystone-users.py http://127.0.0.1:5000/v3 ADMIN_PASSWORD``.
"""
import json
import sys
import urllib.error
import urllib.request

URL, ADMIN_PASSWORD = sys.argv[1].rstrip("/"), sys.argv[2]

# name -> (password, project, role): Levante's service user, an admin, two project members.
USERS = {
    "levante": ("levante-service", "service", "admin"),
    "ks-admin": ("ks-admin-pw", "admin", "admin"),
    "alice": ("alice-pw", "demo", "member"),
    "bob": ("bob-pw", "other", "member"),
}


def call(method, path, body=None, token=None):
    req = urllib.request.Request(URL + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json", **({"X-Auth-Token": token} if token else {})})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.headers, (json.load(resp) if resp.status != 204 and resp.length != 0 else None)


def admin_token():
    headers, _ = call("POST", "/auth/tokens", {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": ADMIN_PASSWORD}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
    return headers["X-Subject-Token"]


def find_or_create(token, kind, name, body):
    _, found = call("GET", f"/{kind}s?name={name}", token=token)
    if found[f"{kind}s"]:
        return found[f"{kind}s"][0]["id"]
    _, made = call("POST", f"/{kind}s", {kind: body}, token=token)
    return made[kind]["id"]


def main():
    token = admin_token()
    roles = {r: find_or_create(token, "role", r, {"name": r}) for r in ("admin", "member")}
    for user, (password, project, role) in USERS.items():
        pid = find_or_create(token, "project", project, {"name": project, "domain_id": "default"})
        uid = find_or_create(token, "user", user, {"name": user, "password": password, "domain_id": "default"})
        call("PUT", f"/projects/{pid}/users/{uid}/roles/{roles[role]}", token=token)
    print("keystone users ready")


if __name__ == "__main__":
    main()
