"""``ansible`` and ``ansible-playbook``: the real ansible-core against a real
OpenSSH server on loopback, through a real Levante server and the real
python-mistralclient; the crash course's Ansible examples (examples/ansible)
run as their README says."""
from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from levante.actions.ansible import AnsibleAction, AnsiblePlaybookAction, _Run
from levante.actions.base import ActionDef
from tests.actions.sshd import SSHD, unavailable_reason
from tests.conftest import wait_for_state

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "ansible"


@pytest.fixture(scope="module")
def sshd():
    reason = unavailable_reason()
    assert reason is None, reason
    srv = SSHD()
    try:
        yield srv.start()
    finally:
        srv.stop()


def inventory(sshd: SSHD) -> dict:
    return {"all": {"hosts": {"target": {"ansible_host": "127.0.0.1", "ansible_port": sshd.port}}}}


def connect(sshd: SSHD) -> dict:
    """How the examples reach the test sshd: its port, account and key."""
    return {"inventory": inventory(sshd), "remote_user": sshd.user,
            "private_key_file": str(sshd.ed25519_key), "host_key_checking": False}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_example(mistral, file: str, name: str) -> str:
    """Create an example under a fresh name (the suite shares one server); returns it."""
    text = (EXAMPLES / file).read_text()
    fresh = unique(name)
    assert f"\n{name}:\n" in text
    mistral.workflows.create(text.replace(f"\n{name}:\n", f"\n{fresh}:\n", 1))
    return fresh


# ---------------------------------------------------------------- the command line built

def argv(action) -> list[str]:
    run = _Run(Path("/nonexistent"))
    run.file = lambda name, text, mode=0o600: f"<{name}>"     # no files: only the arguments
    action.build(run)
    run.common(action)
    return run.args


def test_plugin_parameter_names_map_to_ansible_options():
    assert argv(AnsibleAction(hosts="web", module="copy", module_args="src=a dest=b",
                              remote_user="stack", become=True, become_user="root",
                              limit_hosts="web1", inventory="hosts.ini", forks=3, verbosity=2,
                              private_key_file="/k", extra_vars="x=1")) == [
        "web", "--module-name", "copy", "--args", "src=a dest=b", "--inventory", "hosts.ini",
        "--limit", "web1", "--user", "stack", "--become", "--become-user", "root",
        "--private-key", "/k", "--forks", "3", "--extra-vars", "x=1", "-vv"]
    # become false, module arguments as a mapping, a host list, extra vars as data
    assert argv(AnsibleAction(hosts=["a", "b"], module="ping", module_args={"data": "x"},
                              become="false", inventory=["h1", "h2"], extra_vars={"v": 1})) == [
        "a:b", "--module-name", "ping", "--args", '{"data": "x"}', "--inventory", "h1,h2,",
        "--extra-vars", "@<extra_vars_0.json>"]


def test_playbook_options(tmp_path):
    book = tmp_path / "site.yaml"
    book.write_text("- hosts: all\n  tasks: []\n")
    assert argv(AnsiblePlaybookAction(playbook="site.yaml", directory=str(tmp_path), limit="db",
                                      tags=["a", "b"], skip_tags="c", check=True,
                                      ssh_private_key="KEY", inventory="a:\n  hosts: {}\n")) == [
        str(book), "--tags", "a,b", "--skip-tags", "c", "--check", "--inventory",
        "<inventory.yaml>", "--limit", "db", "--private-key", "<ssh_private_key>"]
    assert argv(AnsiblePlaybookAction(playbook=[{"hosts": "all", "tasks": []}]))[0] == "<playbook.yaml>"


def test_signatures_use_the_plugin_names():
    shown = ActionDef.from_class("ansible", AnsibleAction).input_display()
    assert shown.startswith("hosts, module=null, module_args=null, inventory=null, limit=null")
    for name in ("remote_user", "become", "become_user", "extra_vars", "private_key_file"):
        assert f"{name}=null" in shown
    shown = ActionDef.from_class("ansible-playbook", AnsiblePlaybookAction).input_display()
    assert shown.startswith("playbook, inventory=null")
    assert "tags=null, skip_tags=null" in shown


def test_without_ansible_core_the_action_says_what_to_install():
    # A Python where ansible-core cannot be imported (what sys.modules[name] = None means).
    code = ("import sys; sys.modules['ansible'] = None\n"
            "from levante.actions.base import ActionDef\n"
            "from levante.actions.ansible import AnsibleAction\n"
            "out = ActionDef.from_class('ansible', AnsibleAction).run({'hosts': 'all'}, None)\n"
            "print(out.kind); print(out.value)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          check=True)
    kind, message = proc.stdout.split("\n", 1)
    assert kind == "error"
    assert "ansible-core is not installed" in message
    assert "pip install 'levante[ansible]'" in message


# ---------------------------------------------------------------- against the real sshd

def test_run_action_ping(mistral, sshd):
    ae = mistral.action_executions.create(
        "ansible", {"hosts": "all", "module": "ping", **connect(sshd)})
    assert ae.state == "SUCCESS", ae.output
    result = json.loads(ae.output)["result"]
    assert "target | SUCCESS" in result["stdout"]
    assert '"ping": "pong"' in result["stdout"]


def test_failing_module_fails_the_task(mistral, sshd):
    name = unique("ansible-fails")
    mistral.workflows.create(f"""
version: '2.0'
{name}:
  input: [connect]
  tasks:
    broken:
      action: ansible
      input:
        hosts: all
        module: shell
        module_args: echo about to fail; exit 3
        inventory: <% $.connect.inventory %>
        remote_user: <% $.connect.remote_user %>
        private_key_file: <% $.connect.private_key_file %>
        host_key_checking: false
""")
    ex = mistral.executions.create(name, workflow_input={"connect": connect(sshd)})
    ex = wait_for_state(lambda: mistral.executions.get(ex.id), timeout=120)
    assert ex.state == "ERROR"
    info = mistral.tasks.list(workflow_execution_id=ex.id)[0].state_info
    assert "ansible failed with exit status 2" in info, info
    assert "about to fail" in info and "rc=3" in info


def test_missing_playbook_is_a_clear_error(mistral):
    ae = mistral.action_executions.create("ansible-playbook", {"playbook": "/no/such/book.yaml"})
    assert ae.state == "ERROR"
    assert "Playbook not found: /no/such/book.yaml" in ae.output


def test_crash_course_ansible_test_example(mistral, sshd, tmp_path):
    """examples/ansible/ansible-test.yaml, as its README runs it."""
    local = tmp_path / "file.txt"
    local.write_text("a file for every host\n")
    name = create_example(mistral, "ansible-test.yaml", "ansible-test")
    ex = mistral.executions.create(name, workflow_input={
        **connect(sshd), "file": str(local), "dest_dir": str(sshd.home),
        "playbook": str(EXAMPLES / "hello_playbook.yaml")})
    ex = wait_for_state(lambda: mistral.executions.get(ex.id), timeout=240)
    assert ex.state == "SUCCESS", ex.state_info
    out = json.loads(ex.output)
    assert '"ping": "pong"' in out["ping"]["stdout"]
    assert "target | CHANGED" in out["copy"]["stdout"]
    shell = out["shell"]["stdout"]
    assert "a file for every host" in shell and "removed" in shell and "Linux" in shell
    assert not (sshd.home / "file.txt").exists()
    assert "PLAY RECAP" in out["playbook"]["stdout"]
    assert "failed=0" in out["playbook"]["stdout"]
    assert (sshd.home / "testfile.txt").read_text() == "hello world\n"


def test_crash_course_multiple_playbooks_example(mistral, sshd):
    """examples/ansible/multiple-playbooks.yaml: one playbook or a list, run with with-items."""
    name = create_example(mistral, "multiple-playbooks.yaml", "ansible-multiple-playbooks")
    books = [str(EXAMPLES / "hello_playbook.yaml"), str(EXAMPLES / "hello_playbook2.yaml")]
    dest = sshd.home / "multi"
    dest.mkdir()
    dest.chmod(0o777)
    ex = mistral.executions.create(name, workflow_input={
        **connect(sshd), "playbooks": books, "dest_dir": str(dest)})
    ex = wait_for_state(lambda: mistral.executions.get(ex.id), timeout=240)
    assert ex.state == "SUCCESS", ex.state_info
    recaps = json.loads(ex.output)["recaps"]
    assert len(recaps) == 2 and all("failed=0" in r for r in recaps)
    assert (dest / "testfile.txt").read_text() == "hello world\n"
    assert (dest / "testfile2.txt").read_text() == "hello again\n"
    # a single path instead of a list
    ex = mistral.executions.create(name, workflow_input={
        **connect(sshd), "playbooks": books[1], "dest_dir": str(dest)})
    ex = wait_for_state(lambda: mistral.executions.get(ex.id), timeout=240)
    assert ex.state == "SUCCESS", ex.state_info
    assert len(json.loads(ex.output)["recaps"]) == 1


def test_example_files_are_valid():
    for path in EXAMPLES.glob("hello_playbook*.yaml"):
        plays = yaml.safe_load(path.read_text())
        assert isinstance(plays, list) and plays[0]["hosts"] == "all"
