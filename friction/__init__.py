"""friction: find friction between teams in a company's own communications."""

__version__ = "0.1.0"
