"""scripts/bench: joinup's figures, and this machine's limits measured in the same run."""
