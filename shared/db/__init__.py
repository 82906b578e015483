"""Database access: engine, unit of work, organization scoping."""

from shared.db.engine import make_engine
from shared.db.uow import UnitOfWork, UnitOfWorkFactory

__all__ = ["UnitOfWork", "UnitOfWorkFactory", "make_engine"]
