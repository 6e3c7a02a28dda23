"""Publishing: the pool of approved videos (:mod:`.pool`), the scheduler (:mod:`.scheduler`), and one adapter per
platform (:mod:`.folder`, :mod:`.youtube`, :mod:`.tiktok`, :mod:`.instagram`) speaking the official APIs over httpx.

Tokens live in their own file (:mod:`.credentials`) and never reach logs, exceptions, reports or the database.
"""
