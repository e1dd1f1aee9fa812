"""`orchestrator k8s render`: Kubernetes manifests from the settings (parse, call `orchestrator.k8s`, print)."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from orchestrator.cli.options import exit_on_errors, settings_command

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings

# No `from __future__ import annotations` here: typer must see real `Annotated` types through `settings_command`.

k8s_app = typer.Typer(
    name="k8s",
    help=(
        "Kubernetes manifests from the same settings as `orchestrator up`: Deployment (one GPU per pod), Service, "
        "PodDisruptionBudget, a PVC for the model cache and an optional autoscaler on the queue length."
    ),
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the `k8s` group to `app`."""
    app.add_typer(k8s_app)


@k8s_app.command("render")
@settings_command
def render_command(
    settings: "Settings",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Directory for one file per object + kustomization.yaml; default: stdout."
        ),
    ] = None,
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", help="Namespace of every object.")
    ] = None,
    autoscaler: Annotated[
        str,
        typer.Option("--autoscaler", help="none, hpa (custom metric via an adapter) or keda (ScaledObject)."),
    ] = "none",
    max_replicas: Annotated[int, typer.Option("--max-replicas", help="Autoscaler ceiling.")] = 4,
    queue_target: Annotated[
        int, typer.Option("--queue-target", help="Waiting requests per pod above which a pod is added.")
    ] = 10,
    prometheus_url: Annotated[
        str, typer.Option("--prometheus-url", help="Where KEDA queries the queue metric.")
    ] = "http://prometheus-operated.monitoring.svc:9090",
    secret_name: Annotated[
        str | None,
        typer.Option(
            "--secret-name", help="Secret with keys HF_TOKEN (and API_KEY); default <name>-secrets."
        ),
    ] = None,
    cache_size: Annotated[str, typer.Option("--cache-size", help="Size of the model-cache PVC.")] = "20Gi",
    storage_class: Annotated[str | None, typer.Option("--storage-class", help="PVC storage class.")] = None,
) -> None:
    """Render the manifests. Secret values are never written: the pods read them from a Secret you create."""
    from orchestrator.errors import ConfigError, ConfigProblem
    from orchestrator.k8s import AUTOSCALERS, KubeOptions, manifests_text, render_manifests, write_manifests

    with exit_on_errors():
        if autoscaler not in AUTOSCALERS:
            raise ConfigError(
                [
                    ConfigProblem(
                        "--autoscaler",
                        "flag --autoscaler",
                        autoscaler,
                        "unknown autoscaler",
                        f"pass one of {', '.join(AUTOSCALERS)}",
                    )
                ]
            )
        options = KubeOptions(
            namespace=namespace,
            autoscaler=autoscaler,
            max_replicas=max_replicas,
            queue_target=queue_target,
            prometheus_url=prometheus_url,
            secret_name=secret_name,
            cache_size=cache_size,
            storage_class=storage_class,
        )
        manifests = render_manifests(settings, options)
        if output is None:
            typer.echo(manifests_text(manifests), nl=False)
            return
        try:
            written = write_manifests(manifests, output)
        except OSError as exc:
            raise ConfigError(
                [
                    ConfigProblem(
                        "--output",
                        "flag --output",
                        str(output),
                        f"cannot be written ({exc.strerror or exc})",
                        "pass a writable directory with -o",
                    )
                ]
            ) from None
    for path in written:
        typer.echo(f"wrote {path}")
    typer.echo(f"apply with: kubectl apply -k {output}")
