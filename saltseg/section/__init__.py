"""Whole seismic sections: SEG-Y lines, amplitudes to grey, and sliding-window prediction."""
