"""Model files: where they live, how they are fetched, and the errors when they are missing."""
