"""The package's version, in a module of its own: the commands read it without importing the package root, and
setup.cfg reads it without importing anything."""

__version__ = "0.1.0"
