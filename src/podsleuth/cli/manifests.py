"""``podsleuth manifests``: print the YAML that installs podsleuth in a cluster.

A command rather than only a static file because the things that differ between clusters (the
kubelet dir, the namespace, an HA store, Prometheus Operator or not, the user's config) would
otherwise be hand edits of a long YAML file, which drift from the code that reads them. The
config file is validated here, so a typo fails on the laptop, not in a crash-looping pod.
"""

from __future__ import annotations

import click

from podsleuth.cli.options import config_option
from podsleuth.deploy import common, render
from podsleuth.errors import UsageError


@click.command(name="manifests")
@click.option(
    "-n",
    "--namespace",
    default=common.DEFAULT_NAMESPACE,
    show_default=True,
    help="Namespace to install into (created by the manifests).",
)
@click.option(
    "--replicas",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Watcher replicas; more than 1 needs --store postgresql://... (HA, leader election).",
)
@click.option(
    "--node-agent/--no-node-agent",
    default=None,
    help="Also deploy the node agent DaemonSet (privileged, hostPID) for node-side evidence "
    "[default: on, off with --namespace-scoped].",
)
@click.option(
    "--namespace-scoped",
    is_flag=True,
    help="For an installer without cluster rights: Roles in the watched namespaces instead of "
    "ClusterRoles, no Namespace object, no node agent; no node detection (docs/watching.md).",
)
@click.option(
    "--watch-namespace",
    "watch_namespaces",
    multiple=True,
    help="Namespace the watcher watches; repeat for several. Default: all, or with "
    "--namespace-scoped the install namespace.",
)
@click.option(
    "--store",
    "store_url",
    default=None,
    help="Incident store URL. postgresql://... goes into a Secret, never the Deployment. "
    f"Default: {common.DEFAULT_STORE} on an emptyDir volume.",
)
@config_option
@click.option(
    "--image",
    default=common.DEFAULT_IMAGE,
    show_default=True,
    help="Container image of podsleuth (see Dockerfile and docs/deploy.md).",
)
@click.option(
    "--kubelet-dir",
    "kubelet_dirs",
    multiple=True,
    default=(common.DEFAULT_KUBELET_DIR,),
    show_default=True,
    help="The nodes' kubelet root dir; repeat for several.",
)
@click.option(
    "--agent-shared-token/--no-agent-shared-token",
    default=False,
    show_default=True,
    help="Also let node-agent calls in with a shared token from the Secret podsleuth-node-token "
    "(created by hand; for clients outside the cluster). Default: the watcher's ServiceAccount "
    "token, checked by a TokenReview: nothing to create.",
)
@click.option(
    "--console-writes/--no-console-writes",
    default=True,
    show_default=True,
    help="Mount the optional Secret podsleuth-ui-token as the console's write token: silences from "
    "laptops (silence add --context) work once it exists. Off: a read-only console.",
)
@click.option("--service-monitor", is_flag=True, help="Add Prometheus Operator ServiceMonitors.")
@click.option(
    "--prometheus-rule",
    is_flag=True,
    help="Add a Prometheus Operator PrometheusRule with alerts on podsleuth's own health.",
)
@click.pass_context
def command(
    ctx: click.Context,
    namespace: str,
    replicas: int,
    node_agent: bool | None,
    namespace_scoped: bool,
    watch_namespaces: tuple[str, ...],
    store_url: str | None,
    config_path: str | None,
    image: str,
    kubelet_dirs: tuple[str, ...],
    service_monitor: bool,
    prometheus_rule: bool,
    console_writes: bool,
    agent_shared_token: bool,
) -> None:
    """Print ready-to-apply Kubernetes YAML: podsleuth manifests | kubectl apply -f -"""
    try:
        opts = render.options_from(
            namespace=namespace,
            replicas=replicas,
            node_agent=node_agent,
            store_url=store_url,
            config_path=config_path,
            image=image,
            kubelet_dirs=kubelet_dirs,
            service_monitor=service_monitor,
            prometheus_rule=prometheus_rule,
            namespace_scoped=namespace_scoped,
            watch_namespaces=watch_namespaces,
            console_writes=console_writes,
            agent_shared_token=agent_shared_token,
        )
    except UsageError as e:
        # Handled here too so the command keeps its one-line contract when used on its own.
        click.echo(f"podsleuth: error: {e}", err=True)
        ctx.exit(e.exit_code)
    click.echo(render.render(opts), nl=False)
