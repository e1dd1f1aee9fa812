"""Hugging Face TGI: versions, launcher flags, log lines, failure causes."""
