"""The instrumented reference shard runtime (FastAPI, llama.cpp, FAISS)."""
