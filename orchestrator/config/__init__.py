"""Settings: the model, their sources, loading and validation, and the small value languages they use."""
