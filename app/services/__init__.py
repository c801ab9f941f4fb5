"""Use cases. Each takes an open transaction from its caller and never commits it."""
