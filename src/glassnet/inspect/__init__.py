"""Looking inside models: gradient checks, summaries (shapes, parameters, MACs, receptive fields)."""
