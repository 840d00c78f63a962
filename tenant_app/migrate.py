"""Running the Alembic migrations from code (the CLI and the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)
    if revision == "head" and url.startswith("postgresql"):
        distribute_on_citus(url)


def distribute_on_citus(url: str) -> list[str]:
    """On a Citus coordinator, distribute what the migrations made and is not distributed yet
    (hierarchy.citus_schema); nothing on a single server. The statements run."""
    from sqlalchemy import create_engine

    from hierarchy import citus_schema

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            return citus_schema.distribute(connection)
    finally:
        engine.dispose()


def heads(url: str = "sqlite://") -> list[str]:
    return list(ScriptDirectory.from_config(alembic_config(url)).get_heads())
