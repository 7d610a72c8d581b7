"""``fitroom --help`` and every sub-command's help read as text: no reStructuredText shows through."""

from __future__ import annotations

import re

import typer
from typer.testing import CliRunner

from api.cli import app

RST = re.compile(r"``|:(class|func|mod|meth|data|attr):`")


def _paths(command: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command's path in the tree (groups have ``commands``)."""
    found = [path]
    for name, sub in getattr(command, "commands", {}).items():
        found += _paths(sub, (*path, name))
    return found


def test_every_help_page_is_free_of_rst_markup() -> None:
    runner = CliRunner()
    paths = _paths(typer.main.get_command(app))
    assert len(paths) > 10
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
        assert result.exit_code == 0, (path, result.output)
        assert not RST.search(result.output), (path, result.output)
    top = runner.invoke(app, ["--help"], env={"COLUMNS": "120"}).output
    assert "fitroom setup" in top and "/studio" in top
