"""Planning: which cells (implementation x dtype x device) a run covers, and how they are split."""
