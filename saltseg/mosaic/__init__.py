"""Mosaics: tiles re-assembled into the seismic sections they were cut from, and their uses."""
