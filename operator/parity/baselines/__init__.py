"""ParityBaselines made from running environments (capture) and compared with each other (compare)."""
