"""Storage: the only package that imports SQLAlchemy. Tables, engine, repository functions."""
