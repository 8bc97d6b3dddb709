"""`make bench`: couchgate against the alternatives its users would pick, measured side by side."""
