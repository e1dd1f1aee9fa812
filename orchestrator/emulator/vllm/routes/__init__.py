"""vLLM's route handlers, one module per group of routes; they never import one another."""
