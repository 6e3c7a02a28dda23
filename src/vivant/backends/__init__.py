"""Backends: the implementations of the roles that steps call (see :mod:`vivant.roles`)."""
