"""ferbench: reproducible, fast benchmarking for facial expression recognition."""

__version__ = "0.1.0"
