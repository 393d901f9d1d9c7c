"""`silence add --console URL --token-file F`: a silence made on a laptop reaches the store of a
watcher elsewhere (the in-cluster one, through kubectl port-forward) by the console's API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.console.conftest import TOKEN, Console
from tests.fakes.net import free_port


def podsleuth(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "podsleuth", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_a_laptop_silence_lands_in_the_consoles_store(console: Console, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text(TOKEN)
    made = podsleuth("silence", "add", "--console", console.url, "--token-file", str(token),
                     "--match", "namespace=from-laptop", "--for", "2h", "--comment", "laptop")  # fmt: skip
    assert made.returncode == 0, made.stderr
    listed = podsleuth("silence", "list", "--store", f"sqlite:///{console.store}")
    assert "namespace=from-laptop" in listed.stdout and "laptop" in listed.stdout

    wrong = tmp_path / "wrong"
    wrong.write_text("x" * 32)
    refused = podsleuth("silence", "add", "--console", console.url, "--token-file", str(wrong),
                        "--match", "namespace=a", "--for", "1h")  # fmt: skip
    assert refused.returncode == 2 and "HTTP 401" in refused.stderr and len(refused.stderr.splitlines()) == 1
    nobody = podsleuth("silence", "add", "--console", f"http://127.0.0.1:{free_port()}", "--token-file",
                       str(token), "--match", "namespace=a", "--for", "1h")  # fmt: skip
    assert nobody.returncode == 2 and "unreachable" in nobody.stderr and "Traceback" not in nobody.stderr
