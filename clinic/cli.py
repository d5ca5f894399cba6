"""Flask commands: catalogue, users, demo, messages, logins, occupancy."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click
from flask import Flask
from sqlalchemy.exc import DBAPIError

from clinic import demo
from clinic.errors import database_unavailable
from clinic.models import ROLES, utcnow
from clinic.scheduling.wording import moment_text
from clinic.services import catalogue
from clinic.services.core import clinic_setup
from clinic.services.core.errors import InvalidData, ServiceError
from clinic.services.lifetime import attention
from clinic.services.people import accounts, logins
from clinic.services.staffing import catalogue_file
from clinic.services.world import day_memory

users_cli = click.Group("users", help="User accounts.")
catalogue_cli = click.Group("catalogue", help="Import or export the clinic's catalogue file.")


def _fail(exc: ServiceError) -> click.ClickException:
    """Every error of a refused call, each with its path, as one non-zero exit."""
    if isinstance(exc, InvalidData):
        lines = [f"{len(exc.errors)} error(s); nothing was written:"]
        lines += [f"  {e.get('field', '$')}: {e['message']} [{e['code']}]" for e in exc.errors]
        return click.ClickException("\n".join(lines))
    return click.ClickException(exc.message)


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password", required=True)
@click.option("--name", default=None)
def users_create(email: str, role: str, password: str, name: str | None) -> None:
    """Create a user account."""
    try:
        user = accounts.create_user(email=email, role=role, password=password, name=name)
    except ServiceError as exc:
        raise _fail(exc) from exc
    click.echo(f"Created {user.role} {user.email} (id {user.id}).")


@catalogue_cli.command("import")
@click.argument("file", type=click.File("rb"))
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check the file and print what it would import and which booked sessions it would "
    "break; write nothing.",
)
def catalogue_import(file: Any, dry_run: bool) -> None:
    """Import a catalogue file (JSON): everything is checked first; on any error nothing is
    written. The booked sessions the import breaks are printed and flagged for the attention
    list."""
    try:
        data = catalogue.read_file(file.read(catalogue.MAX_FILE_BYTES + 1))
        report, change = catalogue_file.import_catalogue_file(data, dry_run=dry_run)
    except ServiceError as exc:
        raise _fail(exc) from exc
    for line in report.summary():
        click.echo(line)
    for warning in report.warnings:
        click.echo(f"warning: {warning['field']}: {warning['message']}", err=True)
    _echo_broken(change.broken, dry_run=dry_run)
    if dry_run:
        click.echo("Dry run: nothing was written.")
    else:
        click.echo("Imported." if report.changed else "Nothing to change.")


def _echo_broken(broken: Sequence[attention.Broken], *, dry_run: bool) -> None:
    """Each booked session the import breaks: client, course, session, time, rules."""
    if not broken:
        click.echo("No booked session breaks.")
        return
    tz = clinic_setup.clinic_tz()
    verb = "would break" if dry_run else "breaks"
    click.echo(f"The import {verb} {attention.describe(broken)}:")
    for b in broken:
        when = moment_text(b.start.astimezone(tz))
        click.echo(
            f"  {b.client_name}: {b.course_name}, session {b.session}, {when} "
            f"with {b.practitioner_name} (appointment {b.appointment_id})"
        )
        for v in b.violations:
            click.echo(f"    {v.code}: {v.message}")
    if dry_run:
        click.echo("They would be flagged for the attention list.")
    else:
        click.echo("They are flagged for the attention list.")


@catalogue_cli.command("export")
@click.argument("file", type=click.File("w", encoding="utf-8"), default="-")
def catalogue_export(file: Any) -> None:
    """Export the catalogue as JSON to FILE, or to standard output."""
    file.write(json.dumps(catalogue.export_catalogue(), indent=2, ensure_ascii=False) + "\n")


@click.command("demo")
@click.option(
    "--force", is_flag=True, help="Load even if the database holds another clinic's set-up."
)
def demo_command(force: bool) -> None:
    """Load the demo clinic (safe to run again) and print its logins."""
    try:
        result = demo.load_demo(utcnow(), force=force)
    except ServiceError as exc:
        raise _fail(exc) from exc
    click.echo(
        f"Demo clinic loaded: {result.accounts_created} accounts and "
        f"{result.appointments_created} appointments created."
    )
    click.echo("Logins (demo passwords, for this demo only):")
    for login in result.logins:
        note = f"  ({login.note})" if login.note else ""
        click.echo(f"  {login.role:<13} {login.email} / {login.password}{note}")
    click.echo("Open http://127.0.0.1:5000")


messages_cli = click.Group("messages", help="The outbox of emails and texts to clients.")


@messages_cli.command("send")
@click.option("--limit", default=100, show_default=True, help="At most this many per run.")
def messages_send(limit: int) -> None:
    """Send the queued messages that are due through SMTP_HOST:SMTP_PORT, and texts through
    SMS_GATEWAY_URL (safe from cron)."""
    from flask import current_app

    from clinic.auth.message_routes import choices_link, unsubscribe_link
    from clinic.services.messages import sending
    from clinic.services.messages.texts import HttpGateway

    config = current_app.config
    host, port = config["SMTP_HOST"], config["SMTP_PORT"]
    if not host:
        click.echo("SMTP_HOST is not set: messages stay queued; see /dev/outbox.")
        return
    texts = None
    if config["SMS_GATEWAY_URL"]:
        texts = HttpGateway(
            config["SMS_GATEWAY_URL"], config["SMS_GATEWAY_TOKEN"], config["SMS_SENDER"]
        )
    else:
        click.echo("SMS_GATEWAY_URL is not set: text messages stay queued.")
    try:
        # Links in the emails: the clinic's public address, as no request tells it here.
        with current_app.test_request_context(base_url=config["PUBLIC_URL"]):
            report = sending.send_due(
                utcnow(),
                host,
                port,
                sender=config["MAIL_SENDER"],
                limit=limit,
                texts=texts,
                links=sending.Links(choices_link, unsubscribe_link),
            )
    except DBAPIError as exc:
        if not database_unavailable(exc):
            raise
        # From cron: one line, not a traceback; nothing is lost, the next run sends.
        raise click.ClickException(
            f"The database is unavailable ({exc.orig}); messages stay queued for the next run."
        ) from exc
    click.echo(
        f"Sent {report.sent}, failed {report.failed} ({report.given_up} marked failed, the "
        f"others kept for retry), skipped {report.skipped}."
    )


@contextmanager
def _deleting() -> Iterator[None]:
    """A pruning command's deletion: the database being away is said in one line, not a trace."""
    try:
        yield
    except DBAPIError as exc:
        if not database_unavailable(exc):
            raise
        raise click.ClickException(
            f"The database is unavailable ({exc.orig}); nothing was deleted, try again later."
        ) from exc


logins_cli = click.Group("logins", help="Browser logins and API tokens.")


@logins_cli.command("prune")
def logins_prune() -> None:
    """Delete ended, idle and too old logins and expired or revoked API tokens (run daily from
    cron; they open nothing any more, the rows only pile up)."""
    from flask import current_app

    with _deleting():
        deleted, tokens = logins.prune(ages=logins.ages_from(current_app.config))
    click.echo(
        f"Deleted {deleted} ended or expired logins and {tokens} expired or revoked API tokens."
    )


occupancy_cli = click.Group("occupancy", help="The log of changes to booked time.")


@occupancy_cli.command("prune")
def occupancy_prune() -> None:
    """Delete the occupancy change log's rows older than a day (run daily from cron; workers
    read only the newest rows)."""
    with _deleting():
        deleted = day_memory.prune_log()
    click.echo(f"Deleted {deleted} occupancy changes older than a day.")


def register(app: Flask) -> None:
    app.cli.add_command(logins_cli)
    app.cli.add_command(occupancy_cli)
    app.cli.add_command(messages_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(catalogue_cli)
    app.cli.add_command(demo_command)
