"""The package's version, as a constant: the Lambda zip has no distribution metadata to read it from.

A test keeps it equal to the version in pyproject.toml.
"""

__version__ = "0.1.0"
