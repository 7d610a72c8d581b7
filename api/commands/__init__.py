"""Typer sub-commands, one module per resource; each calls the same library code as the routers."""
