"""``watch`` leader-election options: defaults, validation, the in-cluster default."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from podsleuth.cli import cli
from podsleuth.cli.election import default_identity, in_cluster


def test_bad_timings_and_demo_are_usage_errors() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["watch", "--leader-elect", "--renew-deadline", "20", "--kubeconfig", "/x"])
    assert result.exit_code == 2 and "--renew-deadline" in result.output
    result = runner.invoke(cli, ["watch", "--leader-elect", "--demo"])
    assert result.exit_code == 2 and "--demo" in result.output


def test_identity_and_in_cluster_defaults(tmp_path: Path) -> None:
    assert default_identity(env={"POD_NAME": "podsleuth-watcher-abc"}) == "podsleuth-watcher-abc"
    mine = default_identity(env={})
    assert mine.endswith(f"_{os.getpid()}")
    token = tmp_path / "token"
    pod_env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1"}
    assert not in_cluster(None, env=pod_env, token=token)  # no service account token
    token.write_text("t")
    assert in_cluster(None, env=pod_env, token=token)
    assert not in_cluster("/home/u/.kube/config", env=pod_env, token=token)
    assert not in_cluster(None, env={**pod_env, "KUBECONFIG": "/k"}, token=token)
    assert not in_cluster(None, env={}, token=token)


def test_help_lists_the_options() -> None:
    out = CliRunner().invoke(cli, ["watch", "--help"]).output
    for option in ("--leader-elect / --no-leader-elect", "--lease-namespace", "--lease-name", "--identity",
                   "--lease-duration", "--renew-deadline", "--retry-period"):  # fmt: skip
        assert option in out
