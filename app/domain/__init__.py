"""The pure core: event vocabulary, identifier checks, the join-up rules. Standard library only."""
