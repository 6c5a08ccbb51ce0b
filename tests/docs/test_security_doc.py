"""docs/security.md: its configuration example loads, and its defaults are the code's."""
from __future__ import annotations

import re
from pathlib import Path

from levante import memory
from levante.actions.std import javascript
from levante.config import Settings, load_settings
from levante.lang import yamlsource

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def test_the_configuration_examples_load(tmp_path):
    """Every configuration file the page shows is one the server accepts."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    # Policy files (rules named like 'workflows:create') are not configuration files.
    blocks = [b for b in blocks if not re.search(r"^[\"']?\w+:\w", b, re.M)]
    assert len(blocks) >= 2
    loaded = []
    for i, block in enumerate(blocks):
        path = tmp_path / f"levante-{i}.yaml"
        path.write_text(block)
        loaded.append(load_settings({"LEVANTE_CONFIG": str(path)}))
    egress = [s for s in loaded if "10.0.0.0/8" in s.http_denied_cidrs]
    assert len(egress) == 1, "the egress example adds the site's private networks"
    assert "0.0.0.0/8" in egress[0].http_denied_cidrs and egress[0].ssh_allow_proxy_command is False


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
    assert d.memory_limit_mb == 0
    assert "| `memory_limit_mb` (`LEVANTE_MEMORY_LIMIT_MB`) | `0`: none |" in text
    flat = " ".join(text.split())
    assert javascript.V8_PROCESS_RESERVE_MB == 512 and "512 MiB region" in flat
    assert javascript.DEFAULT_MAX_MEMORY_MB == 256 and "(`LEVANTE_JS_MAX_MEMORY_MB`, 256)" in flat
    assert memory.OTHER_THREADS + 16 + d.engine_workers == 90 and "90 with the defaults" in flat
    for heading in ("## Authentication", "## Budgets", "## Egress policy", "## Threat model"):
        assert heading in text
