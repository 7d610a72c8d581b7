"""Service settings, read from the environment (prefix ``FITROOM_``) and an optional ``.env`` file."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, computed_field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every knob the service reads; the README lists them all with their defaults."""

    model_config = SettingsConfigDict(env_prefix="FITROOM_", env_file=".env", extra="ignore")

    state_dir: Path = Field(ROOT / "var", description="Local state: SQLite file, artifacts, caches.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default is SQLite in state_dir.")
    data_dir: Path = Field(ROOT / "data", description="Shipped datasets, each with its PROVENANCE.md.")
    models_dir: Path = Field(ROOT / "models", description="Trained artifacts and their model cards.")
    smplx_dir: Path | None = Field(None, description="Folder holding the licensed SMPLX_*.npz files.")
    avatar_cache_dir: Path | None = Field(None, description="Girth loops; default state_dir/avatar_cache.")
    anny_cache_dir: Path | None = Field(
        None, validation_alias="ANNY_CACHE_DIR", description="Anny's cache; default state_dir/anny_cache."
    )
    flag_threshold: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="Flag an order line when max(P(small), P(large)) reaches this; default: the threshold "
        "`fitroom analytics savings` wrote to models_dir/flag_threshold.json, else the model's own.",
    )
    redis_url: str | None = Field(
        None, description="Redis for rate-limit counters shared by every worker; default: in process."
    )
    rate_limit_per_minute: int = Field(600, ge=1, description="Requests per key and route per minute.")
    avatar_create_per_minute: int = Field(20, ge=1, description="Avatar creations per key per minute.")
    key_cache_seconds: float = Field(
        5.0, ge=0, description="How long a worker trusts a resolved key (another worker's revocation lag)."
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Request body limit for every route but the photo upload."
    )
    avatar_retention_days: int | None = Field(
        None, ge=1, description="Avatars older than this go in `fitroom avatar purge`; None keeps them."
    )
    log_format: str = Field("json", pattern="^(json|text)$", description="Service log lines: json or text.")
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sqlalchemy_url(self) -> str:
        """The database in use; PostgreSQL URLs are routed to the psycopg 3 driver."""
        url = self.database_url or f"sqlite:///{self.state_dir / 'fitroom.db'}"
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url

    @property
    def keys_dir(self) -> Path:
        """The local admin key and the demo pages' widget key (mode 0600)."""
        return self.state_dir / "keys"

    @property
    def artifact_dir(self) -> Path:
        """Per-avatar files and other generated artifacts."""
        return self.state_dir / "artifacts"

    def export_library_paths(self) -> None:
        """The avatar library reads its folders from the process environment (it must not import
        ``api``); copy the ones set here (and the flag threshold sizing.savings reads), e.g. from ``.env``,
        without overriding the real environment."""
        paths = {
            "FITROOM_SMPLX_DIR": self.smplx_dir,
            "FITROOM_MODELS_DIR": self.models_dir,
            "FITROOM_DATA_DIR": self.data_dir,
            "FITROOM_AVATAR_CACHE_DIR": self.avatar_cache_dir or self.state_dir / "avatar_cache",
            "ANNY_CACHE_DIR": self.anny_cache_dir or self.state_dir / "anny_cache",
            "FITROOM_FLAG_THRESHOLD": self.flag_threshold,
        }
        for name, value in paths.items():
            if value is not None:
                os.environ.setdefault(name, str(value))


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests override them through ``app.dependency_overrides``."""
    settings = Settings()
    settings.export_library_paths()
    return settings
