"""levante.config: environment variables, then the YAML file, then defaults."""
from __future__ import annotations

import subprocess
import sys

import pytest

from levante import config
from levante.config import Settings, SettingsError, load_settings


def test_defaults_match_mistral_plus_this_network():
    s = load_settings({})
    assert s == Settings()
    # Mistral's ranges, plus 0.0.0.0/8 and :: (both reach the local host).
    assert s.http_denied_cidrs == ("127.0.0.0/8", "::1/128", "169.254.0.0/16", "fe80::/10",
                                   "0.0.0.0/8", "::/128")
    assert s.http_allowed_hosts == ()
    assert s.http_default_timeout == 60.0
    assert s.http_max_response_size == 5 * 1024 * 1024


def test_environment():
    s = load_settings({"LEVANTE_HTTP_DENIED_CIDRS": "10.0.0.0/8, 192.168.0.0/16",
                       "LEVANTE_HTTP_ALLOWED_HOSTS": "a.example,b.example",
                       "LEVANTE_HTTP_DEFAULT_TIMEOUT": "2.5",
                       "LEVANTE_HTTP_MAX_RESPONSE_SIZE": "0"})
    assert s.http_denied_cidrs == ("10.0.0.0/8", "192.168.0.0/16")
    assert s.http_allowed_hosts == ("a.example", "b.example")
    assert s.http_default_timeout == 2.5
    assert s.http_max_response_size == 0


def test_empty_list_allows_all():
    s = load_settings({"LEVANTE_HTTP_DENIED_CIDRS": ""})
    assert s.http_denied_cidrs == () and s.http_denied_networks() == ()
    # An empty number is "not set".
    assert load_settings({"LEVANTE_HTTP_DEFAULT_TIMEOUT": ""}).http_default_timeout == 60.0


def test_file_then_environment(tmp_path):
    f = tmp_path / "levante.yaml"
    f.write_text("http_denied_cidrs: [169.254.0.0/16]\nhttp_default_timeout: 5\n"
                 "http_allowed_hosts: api.example\n")
    s = load_settings({"LEVANTE_CONFIG": str(f)})
    assert s.http_denied_cidrs == ("169.254.0.0/16",)
    assert s.http_default_timeout == 5.0
    assert s.http_allowed_hosts == ("api.example",)
    s = load_settings({"LEVANTE_CONFIG": str(f), "LEVANTE_HTTP_DENIED_CIDRS": ""})
    assert s.http_denied_cidrs == () and s.http_default_timeout == 5.0
    f.write_text("http_denied_cidrs: []\n")
    assert load_settings({"LEVANTE_CONFIG": str(f)}).http_denied_cidrs == ()
    f.write_text("")
    assert load_settings({"LEVANTE_CONFIG": str(f)}) == Settings()


@pytest.mark.parametrize("content, message", [
    ("http_denied_cidr: []\n", "unknown setting(s) http_denied_cidr"),
    ("- a\n- b\n", "must hold a mapping"),
    ("http_denied_cidrs: [not-a-range]\n", "'not-a-range' is not an address range"),
    ("http_default_timeout: soon\n", "must be a number"),
    ("http_max_response_size: -1\n", "must not be negative"),
    ("a: [\n", "not valid YAML"),
])
def test_bad_file(tmp_path, content, message):
    f = tmp_path / "levante.yaml"
    f.write_text(content)
    with pytest.raises(SettingsError) as e:
        load_settings({"LEVANTE_CONFIG": str(f)})
    assert message in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(SettingsError, match="cannot read the config file"):
        load_settings({"LEVANTE_CONFIG": str(tmp_path / "nope.yaml")})


def test_bad_environment_value():
    with pytest.raises(SettingsError, match="http_denied_cidrs"):
        load_settings({"LEVANTE_HTTP_DENIED_CIDRS": "10.0.0.0/33"})


def test_cached_until_reloaded(monkeypatch):
    monkeypatch.setenv("LEVANTE_HTTP_DENIED_CIDRS", "10.0.0.0/8")
    monkeypatch.delenv("LEVANTE_CONFIG", raising=False)
    first = config.reload_settings()
    monkeypatch.setenv("LEVANTE_HTTP_DENIED_CIDRS", "")
    assert config.get_settings() is first
    assert config.reload_settings().http_denied_cidrs == ()
    monkeypatch.undo()
    config.reload_settings()


def test_server_refuses_to_start_with_a_bad_config(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("http_denied_cidrs: [nonsense]\n")
    proc = subprocess.run([sys.executable, "-m", "levante", "server", "--config", str(f),
                           "--db", f"sqlite:///{tmp_path / 'x.sqlite'}", "--port", "1"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2
    assert "'nonsense' is not an address range" in proc.stderr


def test_allow_action_execution_deletion_setting(tmp_path):
    assert load_settings({}).allow_action_execution_deletion is False      # Mistral's default
    assert load_settings({"LEVANTE_ALLOW_ACTION_EXECUTION_DELETION": "true"}).allow_action_execution_deletion
    assert not load_settings({"LEVANTE_ALLOW_ACTION_EXECUTION_DELETION": "no"}).allow_action_execution_deletion
    path = tmp_path / "levante.yaml"
    path.write_text("allow_action_execution_deletion: true\n")
    assert load_settings({"LEVANTE_CONFIG": str(path)}).allow_action_execution_deletion
    with pytest.raises(SettingsError, match="must be true or false"):
        load_settings({"LEVANTE_ALLOW_ACTION_EXECUTION_DELETION": "sometimes"})
