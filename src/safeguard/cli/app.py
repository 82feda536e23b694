"""The Typer application object every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="safeguard",
    help="Safeguard: grooming detection, known-abuse media matching and child-safety policy.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

bank_app = typer.Typer(help="Hash banks (media) and example banks (text detector).", no_args_is_help=True)
app.add_typer(bank_app, name="bank")
