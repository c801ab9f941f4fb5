"""joinup: the shared join-up record for people leaving prison with a treatment need."""
