"""Helpers only the tests use (never shipped, not part of txpipe or txpipe_tools)."""
