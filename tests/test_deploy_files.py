"""The deployment files in deploy/ say what the service understands: the environment file example
names only real settings with values the service accepts, and the systemd unit is valid and runs
`spine-cds serve` with options it has. (nginx and PostgreSQL files run in scripts/cluster-demo.sh.)"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cds_service.settings import Settings
from tests.conftest import REPO
from tests.servers import SPINE_CDS

UNIT = REPO / "deploy" / "systemd" / "spine-cds.service"
ENV_EXAMPLE = REPO / "deploy" / "systemd" / "spine-cds.env.example"
INSTALLED = "/opt/spine-cds/.venv/bin/spine-cds"


def example_environment() -> dict[str, str]:
    """The variables the environment file example sets."""
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {name.strip(): value.strip() for name, value in pairs}


def exec_start() -> str:
    """The unit's ExecStart command line."""
    match = re.search(r"^ExecStart=(.+)$", UNIT.read_text(encoding="utf-8"), flags=re.MULTILINE)
    assert match is not None
    return match.group(1)


def test_the_environment_file_example_sets_only_real_settings_with_values_the_service_accepts() -> None:
    settings = {
        name.removeprefix("SPINE_CDS_").lower(): value
        for name, value in example_environment().items()
        if name.startswith("SPINE_CDS_")
    }
    unknown = sorted(set(settings) - set(Settings.model_fields))
    assert unknown == []
    parsed = Settings.model_validate(settings)
    assert parsed.auth == "on"
    assert parsed.database_url.startswith("postgresql+psycopg://")


def test_the_unit_runs_spine_cds_serve_with_options_it_has_and_variables_the_example_sets() -> None:
    command = exec_start()
    assert command.startswith(f"{INSTALLED} serve ")
    serve_help = subprocess.run(
        [str(SPINE_CDS), "serve", "--help"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    for option in re.findall(r"(--[a-z-]+)", command):
        assert option in serve_help, option
    for variable in re.findall(r"\$\{([A-Z_]+)\}", command):
        assert variable in example_environment(), variable


def test_systemd_finds_nothing_wrong_with_the_unit(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    unit = tmp_path / "spine-cds.service"
    text = UNIT.read_text(encoding="utf-8").replace(INSTALLED, str(SPINE_CDS))
    unit.write_text(text.replace("/etc/spine-cds/spine-cds.env", str(ENV_EXAMPLE)))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False, timeout=60
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
