"""Shell completion and the version flag."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys


def podsleuth(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podsleuth", *args], capture_output=True, text=True,
                          timeout=30, env=env)  # fmt: skip


def test_completion_scripts_for_each_shell() -> None:
    markers = {"bash": "complete -o nosort -F", "zsh": "compdef", "fish": "complete --no-files"}
    for shell, marker in markers.items():
        out = podsleuth("completion", shell)
        assert out.returncode == 0 and marker in out.stdout and "_PODSLEUTH_COMPLETE" in out.stdout
    assert podsleuth("completion", "tcsh").returncode == 2


def test_the_script_completes_lazily_loaded_subcommands_and_options() -> None:
    exe = shutil.which("podsleuth")
    assert exe, "the console script is installed by pip install -e"
    env = dict(os.environ, COMP_WORDS="podsleuth incidents list --st", COMP_CWORD="3",
               _PODSLEUTH_COMPLETE="bash_complete")  # fmt: skip
    out = subprocess.run([exe], capture_output=True, text=True, timeout=30, env=env)
    assert "plain,--state" in out.stdout.splitlines()
    env.update(COMP_WORDS="podsleuth inc", COMP_CWORD="1")
    out = subprocess.run([exe], capture_output=True, text=True, timeout=30, env=env)
    assert "plain,incidents" in out.stdout.splitlines()


def test_short_version_flag() -> None:
    out = podsleuth("-V")
    assert out.returncode == 0 and out.stdout.startswith("podsleuth, version ")
