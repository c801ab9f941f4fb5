"""Wire formats (Pydantic): what clients send and receive. Shared by the API and the CLI."""
