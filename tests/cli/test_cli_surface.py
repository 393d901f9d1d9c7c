"""The command surface of CONTRACT.md: every subcommand loads and explains itself."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from podsleuth.cli import SUBCOMMANDS, cli


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_subcommand_has_help(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_contract_commands_exist() -> None:
    for words in (["watch"], ["diagnose", "pod"], ["diagnose", "messages"], ["node", "check"],
                  ["node", "serve"], ["lab", "seed-incident"]):  # fmt: skip
        result = CliRunner().invoke(cli, [*words, "--help"])
        assert result.exit_code == 0, (words, result.output)


def test_unknown_command_is_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "podsleuth", "wacth"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "No such command 'wacth'" in result.stderr
    assert "Traceback" not in result.stderr
