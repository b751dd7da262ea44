"""mailport's command-line client: ``mailport upload --folder Inbox ~/export/*.eml``."""

__version__ = "0.1.0"
