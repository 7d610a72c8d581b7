"""Where the built web assets live, and the one error when they have not been built."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from api.errors import ApiError

DIST: Final = Path(__file__).resolve().parents[2] / "web" / "dist"
STATIC_PREFIX: Final = "/static"


def asset(name: str) -> Path:
    """A built file, or a 503 naming the command that builds it (never a blank page)."""
    path = DIST / name
    if not path.is_file():
        raise ApiError(
            503,
            "web_assets_missing",
            f"web asset {name!r} is not built; run `cd web && npm ci && npm run build` "
            "(scripts/setup.sh does it)",
            {"asset": name},
        )
    return path


def page(name: str, **values: str) -> str:
    """An HTML shell from the build, with ``{{key}}`` placeholders replaced by already-escaped values."""
    html = asset(name).read_text(encoding="utf-8")
    for key, value in values.items():
        html = html.replace("{{" + key + "}}", value)
    return html
