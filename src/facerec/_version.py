"""The package version, written once: setuptools reads it for the metadata, :mod:`facerec` re-exports it."""

__version__ = "0.1.0"
