"""Read views: what a screen or a CLI report shows, read in one go."""
