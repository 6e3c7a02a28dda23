"""Automatic QA of finished videos (issue 13): format, picture, sound, sync, speech and subtitle checks.

``run_qa`` measures one video; step 10 (``steps/qa.py``) runs it on every final video of a night and stores the
:class:`QAReport` as the ``qa`` artifact; ``vivant qa`` runs it on any MP4.
"""

from vivant.qa.model import CAUSE_STEP, Check, QAReport
from vivant.qa.runner import QAInputs, run_qa

__all__ = ["CAUSE_STEP", "Check", "QAInputs", "QAReport", "run_qa"]
