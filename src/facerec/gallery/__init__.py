"""Galleries of people for 1:N identification (placeholder, filled below)."""
