"""Every table, imported in one place so Alembic and ``create_all`` see the whole schema."""

from api.db.avatar_tables import Avatar
from api.db.base import Base
from api.db.key_tables import ApiKey
from api.db.revision_tables import DataRevision
from api.db.sizing_tables import Item, OrderLine, Return, Review, Shopper, SizeChart

__all__ = [
    "ApiKey",
    "Avatar",
    "Base",
    "DataRevision",
    "Item",
    "OrderLine",
    "Return",
    "Review",
    "Shopper",
    "SizeChart",
]
