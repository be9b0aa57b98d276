"""The package version."""

__version__ = "0.1.0"
USER_AGENT = f"engineapi/{__version__}"
