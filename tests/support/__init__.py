"""Test helpers shared by every suite: hand-built histories and hypothesis strategies."""
