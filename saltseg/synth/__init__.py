"""The embedded synthetic dataset: seismic sections with salt bodies, cut into Kaggle tiles."""
