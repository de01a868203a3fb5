"""Tools around the library: the speed and memory benchmark, data-set checks."""
