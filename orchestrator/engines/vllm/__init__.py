"""vLLM 0.33 (the OpenAI-compatible server of `vllm/vllm-openai`) behind the engine seam [vllm-server.md]."""
