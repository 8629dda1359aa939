"""The ``web`` command: serves the desk with uvicorn (imported only here, so other commands start fast)."""

from __future__ import annotations

from typing import Annotated

import typer

from extranet_intake.intake.commands.options import ConfigOpt, config_from

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add this area's command to the main application."""
    app.command("web")(web)


def web(
    config: ConfigOpt = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    forwarded_allow_ips: Annotated[
        str, typer.Option("--forwarded-allow-ips", help="Proxies whose X-Forwarded-For/-Proto are believed.")
    ] = "127.0.0.1",
) -> None:
    """Serve the desk (review desk, audit room, operations) over HTTP; put TLS in front of it."""
    import uvicorn

    from extranet_intake.desk.app import create_app
    from extranet_intake.intake.database import open_engine

    cfg = config_from(config)
    engine = open_engine(cfg.database_url)  # migrates to the latest schema, as every command does
    app = create_app(cfg, engine=engine)
    typer.echo(f"desk on http://{host}:{port}/", err=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        server_header=False,
        log_level="info",
    )
