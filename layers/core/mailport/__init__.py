"""mailport core: domain logic behind small ports, and the adapters that implement them."""

__version__ = "0.1.0"
