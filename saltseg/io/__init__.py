"""File formats: atomic writes, id lookups, probability maps, mask sets, submissions, figures."""
