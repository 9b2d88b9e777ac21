"""txpipe: a transaction pipeline on Apache Kafka (Python producer side)."""

__version__ = "0.1.0"
