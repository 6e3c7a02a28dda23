"""``python -m vivant``: the same as the ``vivant`` command."""

from vivant.cli import app

app()
