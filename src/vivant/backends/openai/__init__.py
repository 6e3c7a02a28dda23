"""Backends on OpenAI-compatible servers: :mod:`.client` (a pool of servers, failover, timeouts), :mod:`.structured`
(JSON output checked and retried), :mod:`.prompts`, :mod:`.writer` (step 1, with :mod:`.facts` and
:mod:`.script_rules`), :mod:`.inspector` (step 0), :mod:`.speech` (step 2), :mod:`.transcriber` (step 7)."""
