"""The Themis orchestrator: routes work across domain shards (installed as ``observatory.orchestrator``)."""
