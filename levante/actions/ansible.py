"""``ansible`` and ``ansible-playbook``: run Ansible from a workflow.

The names and parameters are those of the mistral-ansible-actions plug-in
(``hosts``, ``module``, ``module_args``, ``playbook``, ``remote_user``,
``become``, ``become_user``, ``limit_hosts``) and of TripleO's Ansible actions
that grew from it (``inventory``, ``extra_vars``, ``verbosity``, ``forks``,
``timeout``, ``ssh_private_key``, ``ssh_common_args``, ``ssh_extra_args``,
``connection``, ``tags``, ``skip_tags``, ``extra_env_variables``), plus
``limit`` and ``private_key_file`` (the names of Ansible's own options), so
workflows written for Mistral run unchanged.

Each run starts the real ``ansible`` or ``ansible-playbook`` command of
ansible-core (``pip install 'levante[ansible]'``) with the Python that runs
Levante, in a temporary directory that holds what the run needs as files
(an inventory or a playbook given as data, extra variables, a key given as
text) and is removed afterwards. The result is ``{"stdout": ..., "stderr":
...}``, the command's output as text (the plug-in returned them swapped); a
non-zero exit status fails the action with the status and both outputs.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from mistral_lib import actions
from mistral_lib.exceptions import ActionException

INSTALL_HINT = ("ansible-core is not installed where Levante runs this action: install it with "
                "pip install 'levante[ansible]' (or pip install ansible-core) in Levante's Python "
                "environment, on every machine that runs the executor")

# Start the CLI of the ansible-core installed beside Levante, whatever PATH holds.
_LAUNCH = "import sys; from ansible.cli.{0} import main; sys.argv[0] = {1!r}; sys.exit(main())"
_MAX_SHOWN = 4000     # characters of each output quoted in an error


def ansible_installed() -> bool:
    return importlib.util.find_spec("ansible") is not None


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _hosts_pattern(hosts: Any) -> str:
    if isinstance(hosts, (list, tuple)):
        return ":".join(str(h) for h in hosts)
    return str(hosts)


class _Run:
    """The files and arguments of one ansible run, in a temporary directory."""

    def __init__(self, workdir: Path):
        self.dir = workdir
        self.args: list[str] = []
        self.env: dict[str, str] = {}

    def file(self, name: str, text: str, mode: int = 0o600) -> str:
        path = self.dir / name
        path.write_text(text, encoding="utf-8")
        path.chmod(mode)
        return str(path)

    def inventory(self, inventory: Any) -> None:
        """A path, a host list ("a,b," or a list), or an inventory as data or text."""
        if inventory in (None, ""):
            return
        if isinstance(inventory, dict):
            self.args += ["--inventory", self.file("inventory.yaml", json.dumps(inventory))]
        elif isinstance(inventory, (list, tuple)):
            self.args += ["--inventory", ",".join(str(h) for h in inventory) + ","]
        elif "\n" in str(inventory):
            text = str(inventory)
            try:
                as_yaml = isinstance(yaml.safe_load(text), dict)
            except yaml.YAMLError:
                as_yaml = False
            name = "inventory.yaml" if as_yaml else "inventory.ini"
            self.args += ["--inventory", self.file(name, text)]
        else:
            self.args += ["--inventory", str(inventory)]

    def extra_vars(self, extra_vars: Any) -> None:
        if extra_vars in (None, "", {}):
            return
        for i, item in enumerate(extra_vars if isinstance(extra_vars, list) else [extra_vars]):
            if isinstance(item, dict):
                self.args += ["--extra-vars", "@" + self.file(f"extra_vars_{i}.json", json.dumps(item))]
            else:
                self.args += ["--extra-vars", str(item)]

    def common(self, a: "_AnsibleBase") -> None:
        self.inventory(a.inventory)
        limit = a.limit or a.limit_hosts
        if limit:
            self.args += ["--limit", _hosts_pattern(limit)]
        if a.remote_user:
            self.args += ["--user", str(a.remote_user)]
        if _as_bool(a.become):
            self.args.append("--become")
        if a.become_user:
            self.args += ["--become-user", str(a.become_user)]
        if a.become_method:
            self.args += ["--become-method", str(a.become_method)]
        if a.private_key_file:
            self.args += ["--private-key", os.path.expanduser(str(a.private_key_file))]
        elif a.ssh_private_key:
            text = str(a.ssh_private_key)
            self.args += ["--private-key", self.file("ssh_private_key", text if text.endswith("\n")
                                                     else text + "\n")]
        if a.connection:
            self.args += ["--connection", str(a.connection)]
        if a.forks:
            self.args += ["--forks", str(int(a.forks))]
        if a.timeout:
            self.args += ["--timeout", str(int(a.timeout))]
        if a.ssh_common_args:
            self.args += ["--ssh-common-args", str(a.ssh_common_args)]
        if a.ssh_extra_args:
            self.args += ["--ssh-extra-args", str(a.ssh_extra_args)]
        self.extra_vars(a.extra_vars)
        if a.verbosity:
            self.args.append("-" + "v" * min(int(a.verbosity), 6))
        # Plain text output, temporary files inside this run's directory.
        self.env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                        ANSIBLE_RETRY_FILES_ENABLED="0",
                        ANSIBLE_LOCAL_TEMP=str(self.dir / "local_tmp"))
        if "ANSIBLE_SSH_ARGS" not in os.environ:
            # No ssh master left behind in the background once the run is over.
            self.env["ANSIBLE_SSH_ARGS"] = "-o ControlMaster=no"
        if a.host_key_checking is not None:
            self.env["ANSIBLE_HOST_KEY_CHECKING"] = "True" if _as_bool(a.host_key_checking) else "False"
        for key, value in (a.extra_env_variables or {}).items():
            self.env[str(key)] = str(value)


class _AnsibleBase(actions.Action):
    command = ""
    cli_module = ""

    def _options(self, inventory=None, limit=None, limit_hosts=None, remote_user=None, become=None,
                 become_user=None, become_method=None, private_key_file=None, ssh_private_key=None,
                 extra_vars=None, connection=None, forks=None, timeout=None, verbosity=0,
                 ssh_common_args=None, ssh_extra_args=None, host_key_checking=None,
                 extra_env_variables=None, directory=None) -> None:
        self.inventory = inventory
        self.limit = limit
        self.limit_hosts = limit_hosts
        self.remote_user = remote_user
        self.become = become
        self.become_user = become_user
        self.become_method = become_method
        self.private_key_file = private_key_file
        self.ssh_private_key = ssh_private_key
        self.extra_vars = extra_vars
        self.connection = connection
        self.forks = forks
        self.timeout = timeout
        self.verbosity = verbosity
        self.ssh_common_args = ssh_common_args
        self.ssh_extra_args = ssh_extra_args
        self.host_key_checking = host_key_checking
        self.extra_env_variables = extra_env_variables
        self.directory = directory
        if extra_env_variables is not None and not isinstance(extra_env_variables, dict):
            raise ActionException("'extra_env_variables' must be a mapping of names to values")

    def build(self, run: _Run) -> None:
        """Fill ``run.args`` with this action's own arguments (after the common ones)."""
        raise NotImplementedError

    def run(self, context):
        if not ansible_installed():
            raise ActionException(f"The {self.command} action cannot run: {INSTALL_HINT}.")
        with tempfile.TemporaryDirectory(prefix="levante-ansible-") as tmp:
            run = _Run(Path(tmp))
            self.build(run)
            run.common(self)
            cwd = os.path.expanduser(str(self.directory)) if self.directory else tmp
            env = {**os.environ, **run.env}
            # Python's own deprecation warnings (cryptography, ...) are not Ansible's report.
            env.setdefault("PYTHONWARNINGS", "ignore")
            if "utf-8" not in (env.get("LC_ALL") or env.get("LANG") or "").lower().replace("utf8", "utf-8"):
                env["LC_ALL"] = "C.UTF-8"    # ansible-core refuses to start without a UTF-8 locale
            argv = [sys.executable, "-c", _LAUNCH.format(self.cli_module, self.command), *run.args]
            try:
                proc = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                      capture_output=True, text=True, errors="replace")
            except OSError as e:
                raise ActionException(f"Cannot start {self.command}: {e}") from e
        if proc.returncode != 0:
            raise ActionException(
                f"{self.command} failed with exit status {proc.returncode}. "
                f"stdout: {_tail(proc.stdout)} stderr: {_tail(proc.stderr)}")
        return {"stdout": proc.stdout, "stderr": proc.stderr}


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _MAX_SHOWN else "..." + text[-_MAX_SHOWN:]


class AnsibleAction(_AnsibleBase):
    """Runs an Ansible module on hosts (the ``ansible`` command).

    ``hosts``: a host pattern (or a list of them); ``module``: the module to
    run (Ansible's default, ``command``, if not given); ``module_args``: its
    arguments, as Ansible's ``key=value`` text or a mapping; ``inventory``: a
    file path, a host list (``"a,b,"`` or a list), or an inventory as data or
    text. See docs/actions.md for every parameter.
    """

    command = "ansible"
    cli_module = "adhoc"

    def __init__(self, hosts, module=None, module_args=None, inventory=None, limit=None,
                 limit_hosts=None, remote_user=None, become=None, become_user=None,
                 become_method=None, private_key_file=None, ssh_private_key=None, extra_vars=None,
                 connection=None, forks=None, timeout=None, verbosity=0, ssh_common_args=None,
                 ssh_extra_args=None, host_key_checking=None, extra_env_variables=None,
                 directory=None):
        self.hosts = hosts
        self.module = module
        self.module_args = module_args
        self._options(inventory, limit, limit_hosts, remote_user, become, become_user, become_method,
                      private_key_file, ssh_private_key, extra_vars, connection, forks, timeout,
                      verbosity, ssh_common_args, ssh_extra_args, host_key_checking,
                      extra_env_variables, directory)

    def build(self, run: _Run) -> None:
        if not self.hosts:
            raise ActionException("The ansible action needs 'hosts' (a host pattern such as all)")
        run.args.append(_hosts_pattern(self.hosts))
        if self.module:
            run.args += ["--module-name", str(self.module)]
        if self.module_args not in (None, ""):
            args = self.module_args
            run.args += ["--args", json.dumps(args) if isinstance(args, (dict, list)) else str(args)]


class AnsiblePlaybookAction(_AnsibleBase):
    """Runs an Ansible playbook (the ``ansible-playbook`` command).

    ``playbook``: the playbook file's path (relative to ``directory`` if
    given), or the playbook itself as data (a list of plays). ``tags`` and
    ``skip_tags``: a string or a list. See docs/actions.md for every parameter.
    """

    command = "ansible-playbook"
    cli_module = "playbook"

    def __init__(self, playbook, inventory=None, limit=None, limit_hosts=None, remote_user=None,
                 become=None, become_user=None, become_method=None, private_key_file=None,
                 ssh_private_key=None, extra_vars=None, connection=None, forks=None, timeout=None,
                 verbosity=0, ssh_common_args=None, ssh_extra_args=None, host_key_checking=None,
                 extra_env_variables=None, directory=None, tags=None, skip_tags=None,
                 check=False, diff=False):
        self.playbook = playbook
        self.tags = tags
        self.skip_tags = skip_tags
        self.check = check
        self.diff = diff
        self._options(inventory, limit, limit_hosts, remote_user, become, become_user, become_method,
                      private_key_file, ssh_private_key, extra_vars, connection, forks, timeout,
                      verbosity, ssh_common_args, ssh_extra_args, host_key_checking,
                      extra_env_variables, directory)

    def build(self, run: _Run) -> None:
        if isinstance(self.playbook, (list, dict)):
            plays = self.playbook if isinstance(self.playbook, list) else [self.playbook]
            run.args.append(run.file("playbook.yaml", json.dumps(plays)))
        elif self.playbook:
            path = os.path.expanduser(str(self.playbook))
            if self.directory and not os.path.isabs(path):
                path = os.path.join(os.path.expanduser(str(self.directory)), path)
            if not os.path.isfile(path):
                raise ActionException(f"Playbook not found: {path}")
            run.args.append(path)
        else:
            raise ActionException("The ansible-playbook action needs 'playbook' (a path or the plays)")
        for flag, value in (("--tags", self.tags), ("--skip-tags", self.skip_tags)):
            if value:
                run.args += [flag, ",".join(value) if isinstance(value, (list, tuple)) else str(value)]
        if _as_bool(self.check):
            run.args.append("--check")
        if _as_bool(self.diff):
            run.args.append("--diff")


# name -> (class, safe_rerun): a playbook may change hosts, so neither is rerun blindly.
ACTIONS: dict[str, tuple[type, bool]] = {
    "ansible": (AnsibleAction, False),
    "ansible-playbook": (AnsiblePlaybookAction, False),
}
