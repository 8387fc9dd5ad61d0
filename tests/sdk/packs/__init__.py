"""Domain packs for the SDK tests: one that works, and one per way a pack can fail to load."""
