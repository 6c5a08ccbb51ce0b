"""The console against a real server in authentication mode ``token``: it asks
to sign in, then shows only the signed-in project's executions."""
from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests.auth.helpers import TokenServer


def test_sign_in_on_a_token_mode_server_shows_only_that_projects_executions(tmp_path, page):
    ts = TokenServer(tmp_path).start()
    try:
        alice, bob = ts.create_token("alice", "project-a"), ts.create_token("bob", "project-b")
        mine = {}
        for who, token in (("alice", alice), ("bob", bob)):
            name = f"console_{who}_{uuid.uuid4().hex[:6]}"
            with ts.http(token) as http:
                r = http.post("/workflows", content=f"version: '2.0'\n{name}:\n  tasks:\n    t:\n"
                                                    "      action: std.noop\n",
                              headers={"content-type": "text/plain"})
                assert r.status_code == 201, r.text
                r = http.post("/executions", json={"workflow_name": name})
                assert r.status_code == 201, r.text
                mine[who] = r.json()["id"]
        base = ts.url[: -len("/v2")]

        page.goto(base + "/ui/")
        expect(page.locator("h1")).to_have_text("Sign in")
        page.get_by_label("Access token").fill("lvt_not_a_token")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("form.signin")).to_contain_text("did not accept")

        page.get_by_label("Access token").fill(alice)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator(f"tr[data-id='{mine['alice']}']")).to_be_visible()
        expect(page.locator(f"tr[data-id='{mine['bob']}']")).to_have_count(0)
        page.get_by_role("link", name=re.compile("console_alice_")).first.click()
        expect(page.locator(".page-head .badge")).to_have_text(re.compile("SUCCESS"))

        # Another project's execution, opened by its address, is not found.
        page.goto(f"{base}/ui/executions/{mine['bob']}")
        expect(page.locator("main")).to_contain_text(re.compile("not found", re.I))
    finally:
        ts.stop()
        # Each refused call (401, 404) is reported by the browser as a failed load.
        page.problems[:] = [p for p in page.problems if "401" not in p and "404" not in p]


def test_keystone_mode_signs_in_with_a_password(tmp_path, page):
    """Mode keystone: the console asks for user name, password and project,
    gets a token from the server's Keystone, and shows only that project's
    executions (not another project's)."""
    import httpx

    from tests.auth.helpers import keystone_server

    srv = keystone_server(tmp_path)
    try:
        def token(user, password, project):
            r = httpx.post(srv.url + "/auth/keystone",
                           json={"username": user, "password": password, "project_name": project})
            assert r.status_code == 201, r.text
            return r.json()["token"]

        mine = {}
        for who, creds in (("alice", ("alice", "alice-pw", "demo")), ("bob", ("bob", "bob-pw", "other"))):
            name = f"console_{who}_{uuid.uuid4().hex[:6]}"
            headers = {"X-Auth-Token": token(*creds)}
            r = httpx.post(srv.url + "/workflows", headers={**headers, "content-type": "text/plain"},
                           content=f"version: '2.0'\n{name}:\n  tasks:\n    t:\n      action: std.noop\n")
            assert r.status_code == 201, r.text
            r = httpx.post(srv.url + "/executions", headers=headers, json={"workflow_name": name})
            assert r.status_code == 201, r.text
            mine[who] = r.json()["id"]
        base = srv.url[: -len("/v2")]

        page.goto(base + "/ui/")
        expect(page.locator("h1")).to_have_text("Sign in")
        page.get_by_label("User name").fill("alice")
        page.get_by_label("Password").fill("wrong-password")
        page.get_by_label("Project", exact=True).fill("demo")
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.locator("#signin-error")).to_contain_text("Keystone refused the sign-in")

        page.get_by_label("Password").fill("alice-pw")
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.locator(f"tr[data-id='{mine['alice']}']")).to_be_visible()
        expect(page.locator(f"tr[data-id='{mine['bob']}']")).to_have_count(0)
        stored = page.evaluate("sessionStorage.getItem('levante.token')")
        assert stored and stored != "alice-pw"
        assert "alice-pw" not in page.evaluate("JSON.stringify(sessionStorage)")

        # The token paste remains, folded away.
        page.get_by_role("button", name="Sign out").click()
        expect(page.locator("h1")).to_have_text("Sign in")
        page.get_by_text("Or paste an access token").click()
        page.get_by_label("Access token").fill(token("bob", "bob-pw", "other"))
        page.get_by_role("button", name="Sign in with the token").click()
        expect(page.locator(f"tr[data-id='{mine['bob']}']")).to_be_visible()
        expect(page.locator(f"tr[data-id='{mine['alice']}']")).to_have_count(0)
    finally:
        srv.stop()
        page.problems[:] = [p for p in page.problems if "401" not in p]
