"""bench: is a long-context classifier worth its cost on your documents?"""

from __future__ import annotations

__version__ = "0.1.0"
