"""Industry information (A6) and enterprises' training and publicity (A4)."""
