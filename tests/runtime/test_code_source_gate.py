"""The allow_code_sources setting decides whether code sources are accepted."""
from __future__ import annotations

import pytest

from levante.api.code_sources import _loopback
from levante.config import SettingsError, load_settings, reload_settings
from levante.errors import Forbidden
from levante.runtime import dynamic_actions as dyn


@pytest.fixture
def setting(monkeypatch):
    def set_to(value):
        monkeypatch.setenv("LEVANTE_ALLOW_CODE_SOURCES", value)
        reload_settings()
    yield set_to
    monkeypatch.delenv("LEVANTE_ALLOW_CODE_SOURCES", raising=False)
    reload_settings()


def test_auto_accepts_uploads_on_loopback_only(setting):
    setting("auto")
    dyn.check_allowed(_loopback("127.0.0.1"))
    dyn.check_allowed(_loopback("::1"))
    with pytest.raises(Forbidden, match="allow_code_sources"):
        dyn.check_allowed(_loopback("0.0.0.0"))
    with pytest.raises(Forbidden):
        dyn.check_allowed(_loopback("192.0.2.10"))
    assert dyn.runs_allowed()


def test_true_and_false(setting):
    setting("true")
    dyn.check_allowed(_loopback("0.0.0.0"))
    setting("FALSE")
    with pytest.raises(Forbidden):
        dyn.check_allowed(_loopback("127.0.0.1"))
    assert not dyn.runs_allowed()


def test_yaml_booleans_and_bad_values(tmp_path):
    cfg = tmp_path / "levante.yaml"
    cfg.write_text("allow_code_sources: false\n")
    assert load_settings({"LEVANTE_CONFIG": str(cfg)}).allow_code_sources == "false"
    assert load_settings({}).allow_code_sources == "auto"
    with pytest.raises(SettingsError, match="auto, true or false"):
        load_settings({"LEVANTE_ALLOW_CODE_SOURCES": "sometimes"})
