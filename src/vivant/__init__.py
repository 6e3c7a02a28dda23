"""Tableau Vivant: portrait paintings become talking vertical short videos, every night, on your machines."""

__version__ = "0.1.0"
