"""docs/security.md: its configuration example loads, and its defaults are the code's."""
from __future__ import annotations

import re
from pathlib import Path

from levante.config import Settings, load_settings
from levante.lang import yamlsource

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def test_the_configuration_example_loads(tmp_path):
    (block,) = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    path = tmp_path / "levante.yaml"
    path.write_text(block)
    s = load_settings({"LEVANTE_CONFIG": str(path)})
    assert "10.0.0.0/8" in s.http_denied_cidrs and "0.0.0.0/8" in s.http_denied_cidrs
    assert s.ssh_allow_proxy_command is False


def test_the_documented_defaults_are_the_code_defaults():
    text = DOC.read_text()
    d = Settings()
    assert d.max_request_body_size == 10485760 and "10 MB (10485760)" in text
    assert d.max_json_depth == 100 and "| 100 |" in text
    assert d.execution_field_size_limit_kb == 1024 and "| 1024 (as Mistral) |" in text
    assert d.ssh_allow_proxy_command is False
    for cidr in d.http_denied_cidrs:
        assert f"`{cidr}`" in text
    assert yamlsource.MAX_ALIAS_NODES == 10_000 and "10,000 nodes" in text
    for heading in ("## Authentication", "## Budgets", "## Egress policy", "## Threat model"):
        assert heading in text
