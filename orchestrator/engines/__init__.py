"""What is true of each serving engine, behind one typed seam (`orchestrator.engines.base.Engine`)."""
