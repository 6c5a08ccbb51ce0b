"""examples/README.md runs as written: each shell block, in order, against one
fresh server, prints exactly the output shown under it."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES

README = EXAMPLES / "README.md"
_BLOCK = re.compile(r"```sh\n(.*?)```\s*```text\n(.*?)```", re.S)


def blocks() -> list[tuple[str, str]]:
    found = _BLOCK.findall(README.read_text())
    assert len(found) >= 7, "examples/README.md lost its runnable blocks"
    return found


def test_every_example_file_is_in_the_readme():
    text = README.read_text()
    for f in sorted(EXAMPLES.glob("*.yaml")):
        assert f"`{f.name}`" in text, f"{f.name} is not described in examples/README.md"
        assert re.search(rf"levante \S+-create {re.escape(f.name)}", text), f"{f.name} is never run"


@pytest.fixture
def workdir(fresh_server, tmp_path) -> Path:
    fresh_server.start()
    work = tmp_path / "examples"
    shutil.copytree(EXAMPLES, work)
    return work


def test_readme_blocks_print_what_they_show(workdir, fresh_server):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["LEVANTE_URL"] = fresh_server.url
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for script, expected in blocks():
        proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=workdir, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"{script}\nfailed:\n{proc.stderr}"
        assert proc.stdout.strip() == expected.strip(), f"{script}\nprinted:\n{proc.stdout}"
