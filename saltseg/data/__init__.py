"""Tiles: the Kaggle layout reader, the prepared tile set every rule shares, and the folds."""
