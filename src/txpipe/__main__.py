"""`python -m txpipe` runs the producer."""

from txpipe.producer import cli

cli()
