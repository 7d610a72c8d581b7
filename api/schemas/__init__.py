"""Request and response bodies, one module per resource (pydantic; separate from the tables)."""
