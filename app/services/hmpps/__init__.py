"""HMPPS domain events: SNS, CVL and HMPPS Auth, and the intake that maps and stores them."""
