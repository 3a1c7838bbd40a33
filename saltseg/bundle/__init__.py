"""Model bundles: the final blend's fold models with everything needed to predict new tiles."""
