"""HTTP: the only package that imports FastAPI. Thin routes, wire schemas, auth, problems."""
