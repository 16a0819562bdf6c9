"""One canonical writer per document kind."""
