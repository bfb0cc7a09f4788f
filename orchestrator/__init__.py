"""The orchestrator over several shards: routing, federated RAG, reasoning, consensus and durable tasks."""
