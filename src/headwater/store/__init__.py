"""Persistence: SQLAlchemy Core tables, Alembic migrations and verb-noun data functions."""
