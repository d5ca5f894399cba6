"""Flask commands: catalogue, users, demo, messages."""

from __future__ import annotations

import click
from flask import Flask

from clinic.services import accounts
from clinic.services.errors import ServiceError

users_cli = click.Group("users", help="User accounts.")


@users_cli.command("create")
@click.argument("email")
@click.option(
    "--role", type=click.Choice(["admin", "receptionist", "practitioner", "client"]), required=True
)
@click.option("--password", required=True)
@click.option("--name", default=None)
def users_create(email: str, role: str, password: str, name: str | None) -> None:
    """Create a user account."""
    try:
        user = accounts.create_user(email=email, role=role, password=password, name=name)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Created {user.role} {user.email} (id {user.id}).")


def register(app: Flask) -> None:
    app.cli.add_command(users_cli)
