"""Model Registry."""
