"""Every command's ``--help`` ends with the documentation pages that say what the help is too
short to say, and every page it names exists in docs/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from podsleuth import __version__
from podsleuth.cli import DOCS, DOCS_URL, SUBCOMMANDS, cli

REPO = Path(__file__).resolve().parents[2]


def _pages(help_text: str) -> list[str]:
    return re.findall(re.escape(DOCS_URL) + r"(\S+)", help_text)


def test_every_command_has_pages_and_they_exist() -> None:
    assert set(DOCS) == set(SUBCOMMANDS)
    for pages in DOCS.values():
        for page in pages:
            assert (REPO / "docs" / page).is_file(), page
    assert DOCS_URL.endswith(f"/v{__version__}/docs/")


@pytest.mark.parametrize("command", sorted(SUBCOMMANDS))
def test_help_ends_with_its_docs(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert _pages(result.output) == list(DOCS[command])
    assert result.output.rstrip().splitlines()[-1].strip() == DOCS_URL + DOCS[command][-1]


def test_top_level_help_names_the_contract() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert "contract.md" in _pages(result.output)
