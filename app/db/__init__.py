"""Storage: the only package that imports SQLAlchemy. Tables, engine, repository functions."""

from sqlalchemy.ext.asyncio import AsyncConnection as Connection

__all__ = ["Connection"]
